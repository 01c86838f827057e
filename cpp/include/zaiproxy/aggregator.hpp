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
  // A run of consecutive events of one kind. Anthropic writes each run as a content block, as
  // its stream encoder does; OpenAI joins the runs of each kind.
  struct Part {
    ResponseEvent::Kind kind;
    std::string text;
  };

  void collect(ResponseEvent::Kind kind, std::string_view text);
  std::string joined(ResponseEvent::Kind kind) const;
  void write_openai(std::string& out) const;
  void write_anthropic(std::string& out) const;

  ResponseTracker tracker_;
  Dialect dialect_;
  std::vector<Part> parts_;
  FinishReason finish_reason_ = FinishReason::Stop;
  std::optional<StreamError> error_;
  bool written_ = false;
};

}  // namespace zaiproxy
