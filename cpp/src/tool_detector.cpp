// ToolDetector: the TEXT state's TriggerScanner and the IN_CALL state's CallBlock, with the parse,
// validation (R4), fallback (R5) and end-of-stream (R7) decisions between them
// (toolcall-and-think.md A3.4).
#include "zaiproxy/tool_detector.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ascii.hpp"
#include "function_calls_parser.hpp"
#include "tool_call_block.hpp"
#include "tool_trigger_scanner.hpp"

namespace zaiproxy {
namespace {

void emit_text(std::string_view text, ResponseSink& sink) {
  if (text.empty()) return;
  ResponseEvent event;
  event.kind = ResponseEvent::Kind::Text;
  event.text = text;
  sink.on_event(event);
}

// Options whose trigger is set: the request's, or the process trigger its prompt was built with.
ToolOptions with_trigger(ToolOptions options) {
  if (options.trigger.empty()) options.trigger = process_trigger();
  return options;
}

}  // namespace

class ToolDetector::Impl {
 public:
  explicit Impl(ToolOptions options)
      : options_(with_trigger(std::move(options))),
        state_(options_.detection_enabled() ? State::Text : State::Disabled),
        scanner_(options_.trigger),
        block_({options_.trigger.size(), options_.max_preamble_bytes, options_.max_call_bytes}) {}

  void feed(const ResponseEvent& event, ResponseSink& sink) {
    if (ended_) return;
    if (event.kind == ResponseEvent::Kind::Text && state_ == State::Text && calls_emitted_ == 0 &&
        !event.rendered_reasoning && scanner_.passes_through(event.text)) {
      sink.on_event(event);  // the common case, first and without a copy or a new event
      return;
    }
    switch (event.kind) {
      case ResponseEvent::Kind::Text:
        if (event.rendered_reasoning) {
          if (state_ == State::Text) flush_held(sink);  // keeps the content in order
          sink.on_event(event);
        } else {
          answer_text(event.text, sink);
        }
        return;
      case ResponseEvent::Kind::UpstreamTool:
        upstream_tool(event, sink);
        return;
      case ResponseEvent::Kind::ToolCall:  // already a client call
        ++calls_emitted_;
        sink.on_event(event);
        return;
      case ResponseEvent::Kind::Error:
        if (state_ == State::Text) flush_held(sink);
        if (state_ == State::InCall) give_back_raw(block_.text().size(), sink);
        ended_ = true;
        sink.on_event(event);
        return;
      case ResponseEvent::Kind::Finish:
        end(event.finish, sink);
        return;
      case ResponseEvent::Kind::Reasoning:  // R8: never scanned, never held, even IN_CALL
      case ResponseEvent::Kind::Usage:
        sink.on_event(event);
        return;
    }
  }

  void finish(ResponseSink& sink) {
    if (!ended_) end(FinishReason::Stop, sink);
  }

 private:
  // CALLS_DONE of the spec is Text with calls_emitted_ > 0: the text is scanned for further blocks
  // (R6) but not emitted.
  enum class State : uint8_t { Text, InCall, Disabled };

  void answer_text(std::string_view piece, ResponseSink& sink) {
    if (state_ == State::Disabled) return emit_text(piece, sink);
    if (state_ == State::InCall) {
      if (!settle(block_.append(piece), sink)) return;
      piece = after_block_;
    }
    for (;;) {
      tool::TriggerScanner::Result found = scanner_.scan(piece);
      emit_answer(found.text, sink);
      if (found.call.empty()) return;
      dropped_ws_.assign(found.dropped_ws);
      state_ = State::InCall;
      if (!settle(block_.start(found.call), sink)) return;
      piece = after_block_;
    }
  }

  // Acts on a finished call block: its calls, or its raw text (R5). Then the text after the block
  // is answer text again and waits in after_block_. False while the block is incomplete.
  bool settle(tool::CallBlock::Status status, ResponseSink& sink) {
    if (status == tool::CallBlock::Status::Incomplete) return false;
    if (status == tool::CallBlock::Status::Failed ||
        !accept_calls(block_.preamble(), block_.body(), sink)) {
      give_back_raw(block_.end(), sink);
    }
    after_block_.assign(block_.text().substr(block_.end()));
    state_ = State::Text;
    return true;
  }

  // R4: emits the calls of a complete block if the block is valid as a whole.
  bool accept_calls(std::string_view preamble, std::string_view body, ResponseSink& sink) {
    if (!tool::is_all_ascii_space(preamble)) return false;
    std::optional<std::vector<tool::ParsedCall>> calls = tool::parse_function_calls(body);
    if (!calls) return false;
    if (!options_.parallel_tool_calls) calls->resize(1);
    for (const tool::ParsedCall& call : *calls) {
      if (!allows(call.name) || !call.arguments.is_object()) return false;
    }
    for (const tool::ParsedCall& call : *calls) {
      emit_call(call.name, tool::to_compact_json(call.arguments), sink);
    }
    return true;
  }

  // R5: the text of a failed block, from the trigger to `end`, goes out as content with the
  // whitespace dropped before the trigger, so nothing is lost; after calls it is discarded (R6).
  void give_back_raw(size_t end, ResponseSink& sink) {
    emit_answer(dropped_ws_, sink);
    emit_answer(block_.text().substr(0, end), sink);
  }

  // R7: a block still open at the end is accepted if only its closing tag is missing.
  void end(FinishReason upstream, ResponseSink& sink) {
    if (state_ == State::Text) flush_held(sink);
    if (state_ == State::InCall) {
      std::optional<std::string_view> body = block_.leniently_closed_body();
      if (upstream == FinishReason::Length || !body ||
          !accept_calls(block_.preamble(), *body, sink)) {
        give_back_raw(block_.text().size(), sink);
      }
    }
    ended_ = true;
    ResponseEvent finish;
    finish.kind = ResponseEvent::Kind::Finish;
    // An upstream `tool_calls` whose calls were all dropped (its own tools) is a plain stop here.
    if (calls_emitted_ > 0) {
      finish.finish = FinishReason::ToolCalls;
    } else {
      finish.finish = upstream == FinishReason::ToolCalls ? FinishReason::Stop : upstream;
    }
    sink.on_event(finish);
  }

  // The upstream's native tool use: a call for the client only if the client offered that tool.
  void upstream_tool(const ResponseEvent& event, ResponseSink& sink) {
    if (state_ == State::Disabled || !allows(event.tool_name)) return;
    std::string_view text = ascii::trim_space(event.tool_arguments);
    std::optional<nlohmann::ordered_json> arguments =
        text.empty() ? nlohmann::ordered_json::object() : tool::parse_json(text);
    if (!arguments || !arguments->is_object()) return;
    if (state_ == State::Text) flush_held(sink);
    emit_call(event.tool_name, tool::to_compact_json(*arguments), sink);
  }

  bool allows(std::string_view name) const {
    return options_.find(name) != nullptr &&
           (options_.choice != ToolChoice::Named || name == options_.choice_name);
  }

  void emit_call(std::string_view name, const std::string& arguments, ResponseSink& sink) {
    if (!options_.parallel_tool_calls && calls_emitted_ > 0) return;
    ResponseEvent event;
    event.kind = ResponseEvent::Kind::ToolCall;
    event.tool_name = name;
    event.tool_arguments = arguments;
    sink.on_event(event);
    ++calls_emitted_;
  }

  // Answer text, unless calls were emitted: the prompt forbids text after them (R6).
  void emit_answer(std::string_view text, ResponseSink& sink) const {
    if (calls_emitted_ == 0) emit_text(text, sink);
  }

  void flush_held(ResponseSink& sink) {
    emit_answer(scanner_.held(), sink);
    scanner_.clear_held();
  }

  ToolOptions options_;
  State state_;
  tool::TriggerScanner scanner_;
  tool::CallBlock block_;
  std::string dropped_ws_;   // R1.1: restored if the block fails
  std::string after_block_;  // the text after the last settled block, scanned next
  size_t calls_emitted_ = 0;
  bool ended_ = false;  // after Error or Finish nothing more is emitted
};

ToolDetector::ToolDetector(ToolOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ToolDetector::~ToolDetector() = default;
ToolDetector::ToolDetector(ToolDetector&&) noexcept = default;
ToolDetector& ToolDetector::operator=(ToolDetector&&) noexcept = default;

void ToolDetector::feed(const ResponseEvent& event, ResponseSink& sink) {
  impl_->feed(event, sink);
}
void ToolDetector::finish(ResponseSink& sink) { impl_->finish(sink); }

}  // namespace zaiproxy
