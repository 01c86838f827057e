#include "support.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace zaiproxy::testing {

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}
}  // namespace

std::string read_golden(std::string_view name) {
  return read_file(std::string(ZAIPROXY_GOLDEN_DIR) + "/" + std::string(name));
}

std::string read_packaged_profile() { return read_file(ZAIPROXY_PROFILE_JSON); }

void SseCollector::on_event(const SseEvent& e) {
  events.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
}

void SseCollector::on_error(const StreamError& e) { errors.push_back(e); }

void SourceCollector::on_event(const SourceEvent& e) {
  OwnedSourceEvent owned{e.kind,
                         e.phase,
                         std::string(e.text),
                         e.usage,
                         std::nullopt,
                         std::string(e.finish_reason),
                         std::string(e.tool_name),
                         std::string(e.tool_arguments)};
  if (e.error) owned.error = *e.error;
  events.push_back(std::move(owned));
}

std::string SourceCollector::text_of(SourceEvent::Kind kind) const {
  std::string out;
  for (const auto& e : events)
    if (e.kind == kind) out += e.text;
  return out;
}

size_t SourceCollector::count(SourceEvent::Kind kind) const {
  size_t n = 0;
  for (const auto& e : events) n += e.kind == kind;
  return n;
}

void ResponseCollector::on_event(const ResponseEvent& e) {
  OwnedResponseEvent owned{
      e.kind,   std::string(e.text),      e.rendered_reasoning,         e.usage, std::nullopt,
      e.finish, std::string(e.tool_name), std::string(e.tool_arguments)};
  if (e.error) owned.error = *e.error;
  events.push_back(std::move(owned));
}

std::string ResponseCollector::reasoning() const {
  std::string out;
  for (const auto& e : events)
    if (e.kind == ResponseEvent::Kind::Reasoning) out += e.text;
  return out;
}

std::string ResponseCollector::text() const {
  std::string out;
  for (const auto& e : events)
    if (e.kind == ResponseEvent::Kind::Text) out += e.text;
  return out;
}

size_t ResponseCollector::count(ResponseEvent::Kind kind) const {
  size_t n = 0;
  for (const auto& e : events) n += e.kind == kind;
  return n;
}

}  // namespace zaiproxy::testing
