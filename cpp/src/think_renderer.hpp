// The renderer half of the think layer (toolcall-and-think.md B2.2): it turns the normalised
// ReasoningText / ReasoningEnd / AnswerText of a source adapter into ResponseEvents, according to
// the think mode. Internal to the core.
#pragma once

#include <cassert>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "zaiproxy/events.hpp"
#include "zaiproxy/think_layer.hpp"

namespace zaiproxy::think {

// Whitespace in the sense of C.3 rule 4: exactly the four ASCII bytes, never U+3000 or NBSP.

// `text` without its leading ASCII whitespace.
std::string_view trim_leading_space(std::string_view text);

// Seconds as shown to the client: rounded half up, at least 1 (also guards NaN and huge values).
int rounded_seconds(double seconds);

class Renderer {
 public:
  // `clock` returns seconds on a monotonic clock; it is read only when the mode shows a duration.
  Renderer(ThinkMode mode, std::function<double()> clock);

  // z.ai thinking deltas exactly as received; only `raw` mode renders them.
  void raw_thinking(std::string_view text, ResponseSink& sink);
  // A piece of the reasoning R (already cleaned by the adapter). The first one of a block carries
  // the mode's opening piece.
  void reasoning_text(std::string_view text, ResponseSink& sink);
  // The reasoning block ended: emits the closing piece if the block was opened. `upstream_seconds`
  // is the duration the upstream stated, if any; otherwise the clock decides.
  void reasoning_end(std::optional<double> upstream_seconds, ResponseSink& sink);
  // A piece of the answer A, verbatim, in every mode. Inline: for most events it is all the think
  // layer does.
  void answer_text(std::string_view text, ResponseSink& sink) { emit_text(text, false, sink); }

 private:
  static void emit_text(std::string_view text, bool rendered_reasoning, ResponseSink& sink) {
    if (text.empty()) return;
    // C.3: pieces are cut at ASCII bytes only, so none starts inside a code point.
    assert((static_cast<unsigned char>(text.front()) & 0xC0) != 0x80);
    ResponseEvent event;
    event.kind = ResponseEvent::Kind::Text;
    event.text = text;
    event.rendered_reasoning = rendered_reasoning;
    sink.on_event(event);
  }
  void append_quoted(std::string_view text);

  ThinkMode mode_;
  std::function<double()> clock_;
  // Set once the opening piece of the current block went out; its closing piece is then owed.
  bool block_open_ = false;
  double block_started_at_ = 0;
  // `raw` mode: a block of verbatim thinking deltas is open, and the last byte written for it
  // (the closing `</details>` goes on a line of its own).
  bool raw_block_open_ = false;
  char raw_last_byte_ = '\n';
  // Reused for pieces that need assembling (opening piece + text, quoted lines, details close),
  // so the steady state does not allocate.
  std::string scratch_;
};

// The B2 events of one adapter call, bound to the sink of the current feed().
class ThinkOutput {
 public:
  ThinkOutput(Renderer& renderer, ResponseSink& sink) : renderer_(renderer), sink_(sink) {}

  void raw_thinking(std::string_view text) {
    if (!text.empty()) renderer_.raw_thinking(text, sink_);
  }
  void reasoning_text(std::string_view text) {
    if (!text.empty()) renderer_.reasoning_text(text, sink_);
  }
  void reasoning_end(std::optional<double> upstream_seconds = std::nullopt) {
    renderer_.reasoning_end(upstream_seconds, sink_);
  }
  void answer_text(std::string_view text) {
    if (!text.empty()) renderer_.answer_text(text, sink_);
  }

 private:
  Renderer& renderer_;
  ResponseSink& sink_;
};

}  // namespace zaiproxy::think
