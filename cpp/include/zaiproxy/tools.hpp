// What the client offered as tools and how this response may use them
// (toolcall-and-think.md A1.4 and A3.4). Shared by the request side (tool prompt) and the
// response side (ToolDetector).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zaiproxy {

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters = "{}";  // compact JSON Schema of the arguments object
};

enum class ToolChoice : uint8_t { Auto, None, Required, Named };

struct ToolOptions {
  std::vector<ToolSpec> tools;  // empty: no tools offered, detection is off (A3.4 R0)
  ToolChoice choice = ToolChoice::Auto;
  std::string choice_name;           // the one allowed tool when choice == Named
  std::string trigger;               // `<Function_XXXX_Start/>`, see process_trigger()
  bool parallel_tool_calls = true;   // false: only the first parsed call is kept
  size_t max_preamble_bytes = 4096;  // T must be followed by <function_calls> within this
  size_t max_call_bytes = 1u << 20;  // a call block longer than this fails (R3)

  bool detection_enabled() const { return !tools.empty() && choice != ToolChoice::None; }
  // The offered tool of that exact (case-sensitive) name, or nullptr.
  const ToolSpec* find(std::string_view name) const;
};

// `<Function_` + `length` characters of [A-Za-z0-9] + `_Start/>`: the same for the same seed,
// random without one.
std::string make_trigger(std::optional<uint64_t> seed = std::nullopt, int length = 4);

// True for `<Function_[A-Za-z0-9]+_Start/>`, the only form the tool layer works with.
bool is_valid_trigger(std::string_view trigger);

// The trigger of this process, made on first use. One per process rather than per request, so the
// system prompt stays identical and the upstream's prefix caching keeps working (A1.4 step 3).
const std::string& process_trigger();
// Pins the process trigger (e.g. from a configured seed); throws std::invalid_argument unless it
// has the form `<Function_[A-Za-z0-9]+_Start/>`.
void set_process_trigger(std::string trigger);

}  // namespace zaiproxy
