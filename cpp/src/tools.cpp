#include "zaiproxy/tools.hpp"

#include <mutex>
#include <random>
#include <stdexcept>
#include <utility>

namespace zaiproxy {
namespace {

constexpr std::string_view kTriggerHead = "<Function_";
constexpr std::string_view kTriggerTail = "_Start/>";
constexpr std::string_view kTriggerAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool is_ascii_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_valid_trigger(std::string_view text) {
  if (text.size() <= kTriggerHead.size() + kTriggerTail.size()) return false;
  if (text.substr(0, kTriggerHead.size()) != kTriggerHead) return false;
  if (text.substr(text.size() - kTriggerTail.size()) != kTriggerTail) return false;
  std::string_view middle =
      text.substr(kTriggerHead.size(), text.size() - kTriggerHead.size() - kTriggerTail.size());
  for (char c : middle) {
    if (!is_ascii_alnum(c)) return false;
  }
  return true;
}

namespace {

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

struct ProcessTrigger {
  std::mutex mutex;
  std::optional<std::string> value;
};

ProcessTrigger& process_trigger_state() {
  static ProcessTrigger state;
  return state;
}

}  // namespace

const ToolSpec* ToolOptions::find(std::string_view name) const {
  for (const ToolSpec& tool : tools) {
    if (tool.name == name) return &tool;
  }
  return nullptr;
}

std::string make_trigger(std::optional<uint64_t> seed, int length) {
  if (length < 1) throw std::invalid_argument("trigger length must be at least 1");
  // mt19937_64 is specified bit for bit and `%` is too (unlike the standard distributions), so a
  // seed gives the same trigger with every standard library; the bias of `%` over 2^64 is nil.
  std::mt19937_64 engine(seed ? *seed : random_seed());
  std::string trigger(kTriggerHead);
  for (int i = 0; i < length; ++i)
    trigger.push_back(kTriggerAlphabet[engine() % kTriggerAlphabet.size()]);
  trigger.append(kTriggerTail);
  return trigger;
}

const std::string& process_trigger() {
  ProcessTrigger& state = process_trigger_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.value) state.value = make_trigger();
  return *state.value;
}

void set_process_trigger(std::string trigger) {
  if (!is_valid_trigger(trigger)) {
    throw std::invalid_argument("a trigger has the form <Function_[A-Za-z0-9]+_Start/>, not " +
                                trigger);
  }
  ProcessTrigger& state = process_trigger_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  // Meant for start-up: a reference handed out earlier sees the new value.
  state.value = std::move(trigger);
}

}  // namespace zaiproxy
