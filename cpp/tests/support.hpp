// Helpers shared by the C++ tests: golden files and sinks that keep what they are given.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zaiproxy/events.hpp"

namespace zaiproxy::testing {

// Contents of tests/golden/<name>.
std::string read_golden(std::string_view name);

// Contents of python/zaiproxy/data/profile.json, the profile the wheel ships.
std::string read_packaged_profile();

struct OwnedSseEvent {
  std::string event, data, id;
};

struct SseCollector : SseSink {
  std::vector<OwnedSseEvent> events;
  std::vector<StreamError> errors;
  void on_event(const SseEvent& e) override;
  void on_error(const StreamError& e) override;
};

struct OwnedSourceEvent {
  SourceEvent::Kind kind;
  Phase phase;
  std::string text;
  Usage usage;
  std::optional<StreamError> error;
  std::string finish_reason;
  std::string tool_name, tool_arguments;
};

struct SourceCollector : SourceSink {
  std::vector<OwnedSourceEvent> events;
  void on_event(const SourceEvent& e) override;
  // Concatenated text of every event of `kind`.
  std::string text_of(SourceEvent::Kind kind) const;
  size_t count(SourceEvent::Kind kind) const;
};

struct OwnedResponseEvent {
  ResponseEvent::Kind kind;
  std::string text;
  bool rendered_reasoning = false;
  Usage usage;
  std::optional<StreamError> error;
  FinishReason finish = FinishReason::Stop;
  std::string tool_name, tool_arguments;
};

struct ResponseCollector : ResponseSink {
  std::vector<OwnedResponseEvent> events;
  void on_event(const ResponseEvent& e) override;
  std::string reasoning() const;  // all Reasoning text
  std::string text() const;       // all Text
  size_t count(ResponseEvent::Kind kind) const;
};

}  // namespace zaiproxy::testing
