// L4, non-streaming responses: collects the events and writes one JSON document at finish().
// The document is what a client gets by folding the matching stream encoder's output
// (toolcall-and-think.md A4.3/A4.4 invariant), which the tests check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"
#include "zaiproxy/response_tracker.hpp"

namespace zaiproxy {

class Aggregator final : public ResponseEncoder {
 public:
  Aggregator(ResponseInfo info, Dialect dialect);

  // Collects `event`; appends nothing.
  void feed(const ResponseEvent& event, std::string& out) override;
  // Appends the whole document, once.
  void finish(std::string& out) override;
  const ResponseInfo& info() const override { return tracker_.info(); }

 private:
  // A run of consecutive Reasoning or Text events, or one ToolCall. Anthropic writes each part as
  // a content block, as its stream encoder does; OpenAI joins the text runs of each kind and
  // lists the tool calls.
  struct Part {
    ResponseEvent::Kind kind;
    std::string text;       // Reasoning, Text: the run's text; ToolCall: the arguments
    std::string tool_name;  // ToolCall
    std::string tool_id;    // ToolCall: "call_…" or "toolu_…" by dialect
  };

  void collect(ResponseEvent::Kind kind, std::string_view text);
  void collect_tool_call(std::string_view name, std::string_view arguments);
  std::string joined(ResponseEvent::Kind kind) const;
  bool has_tool_calls() const;
  void write_openai(std::string& out) const;
  // `,"tool_calls":[…]` of the OpenAI message; nothing without tool calls.
  void write_openai_tool_calls(std::string& out) const;
  void write_anthropic(std::string& out) const;
  static void append_anthropic_block(std::string& out, const Part& part);

  ResponseTracker tracker_;
  Dialect dialect_;
  std::vector<Part> parts_;
  FinishReason finish_reason_ = FinishReason::Stop;
  std::optional<StreamError> error_;
  bool written_ = false;
};

}  // namespace zaiproxy
