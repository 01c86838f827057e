// The source adapters of the think layer (toolcall-and-think.md B2.1). Each one turns a source's
// own notion of reasoning into the normalised ReasoningText / ReasoningEnd / AnswerText of
// ThinkOutput. Internal to the core.
//
// All of them are single pass: every input byte is looked at a bounded number of times, text is
// cut only at ASCII bytes (C.3), and what is held back between events is a few bytes (a partial
// tag, a run of trailing whitespace) plus, for z.ai, the emitted reasoning kept for the
// reconciliation with the closing snapshot (capped).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "think_renderer.hpp"
#include "zaiproxy/events.hpp"

namespace zaiproxy::think {

// Cleans reasoning body text on its way to ReasoningText (B2.1 a steps 2–4; b uses 3–4):
//   de-quote   (z.ai) at the start and after every "\n", drop one `>` and then one space after it;
//   leading    drop leading whitespace and, for z.ai, a leading `<summary…>…</summary>`, while
//              nothing has been emitted;
//   trailing   hold a trailing run of whitespace until non-whitespace follows; finish() drops it.
// Output is appended to a caller's string, so one event's output becomes one piece.
class ReasoningTextFilter {
 public:
  enum class Markup : uint8_t { ZaiQuoted, Plain };
  explicit ReasoningTextFilter(Markup markup) : markup_(markup) {}

  void reset();
  void feed(std::string_view text, std::string& out);
  // End of the block: text still pending as a possible summary is content after all; held
  // trailing whitespace is dropped.
  void finish(std::string& out);
  // The text of the last `<summary>` dropped by the leading stage (z.ai states durations there).
  std::string_view dropped_summary() const { return summary_; }

 private:
  enum class LinePosition : uint8_t { Start, AfterMarker, Inside };
  enum class Leading : uint8_t { SkipSpace, SummaryTag, InSummary, Done };

  void dequote(std::string_view text, std::string& out);
  void leading(std::string_view text, std::string& out);
  void trailing(std::string_view text, std::string& out);

  Markup markup_;
  LinePosition line_ = LinePosition::Start;
  Leading leading_ = Leading::SkipSpace;
  size_t summary_tag_matched_ = 0;  // bytes of "<summary" seen while in SummaryTag
  std::string summary_;             // bytes after "<summary" (then the summary text once closed)
  std::string held_space_;
};

class SourceAdapter {
 public:
  virtual ~SourceAdapter() = default;
  // Text events of the source (Thinking, Answer, Snapshot, Reasoning, ToolBlock).
  virtual void feed(const SourceEvent& event, ThinkOutput& out) = 0;
  // The response ends (End, Error or finish()): release what is held, close open reasoning.
  virtual void end(ThinkOutput& out) = 0;
  // True when feeding an Answer event now would only pass its text on as answer text, unchanged
  // and without changing the adapter: no reasoning to close, nothing held, no space to strip.
  // The layer then skips the adapter for Answer events, the bulk of every response.
  virtual bool answers_verbatim() const = 0;
};

// B2.1 (a): chat.z.ai `<details type="reasoning">` blocks, driven by the phase.
class ZaiAdapter final : public SourceAdapter {
 public:
  // Past this many bytes of emitted reasoning, the closing snapshot is not reconciled.
  static constexpr size_t kReconcileCap = 4u << 20;

  ZaiAdapter() = default;
  void feed(const SourceEvent& event, ThinkOutput& out) override;
  void end(ThinkOutput& out) override;
  bool answers_verbatim() const override {
    return state_ == State::Outside && !strip_next_answer_space_;
  }

 private:
  enum class State : uint8_t { Outside, Opener, Body };

  void on_thinking(std::string_view text, ThinkOutput& out);
  void on_answer_side(std::string_view text, bool is_snapshot, ThinkOutput& out);
  std::string_view consume_opener(std::string_view text);
  void close_with_snapshot(std::string_view snapshot, size_t details_close, ThinkOutput& out);
  void close_without_snapshot(ThinkOutput& out);
  void reconcile(std::string_view body_snapshot, ThinkOutput& out);
  void emit_piece(ThinkOutput& out);
  void emit_answer(std::string_view text, ThinkOutput& out);

  State state_ = State::Outside;
  size_t opener_matched_ = 0;  // bytes of "<details" matched; 8 = looking for its `>`
  ReasoningTextFilter stream_filter_{ReasoningTextFilter::Markup::ZaiQuoted};
  ReasoningTextFilter snapshot_filter_{ReasoningTextFilter::Markup::ZaiQuoted};
  std::string piece_;    // the ReasoningText being assembled for the current event
  std::string emitted_;  // the block's reasoning emitted so far, for reconciliation
  bool emitted_over_cap_ = false;
  std::string snapshot_text_;             // the snapshot's body through fresh filters (F of B2.1 a)
  bool strip_next_answer_space_ = false;  // B09: the answer start was empty
};

// B2.1 (b): `<think>…</think>` at the start of a generic upstream's content.
class InlineThinkAdapter {
 public:
  void content(std::string_view text, ThinkOutput& out);
  void end(ThinkOutput& out);
  bool answers_verbatim() const { return state_ == State::Answer && !strip_next_answer_space_; }

 private:
  enum class State : uint8_t { Start, Think, Answer };

  void think(std::string_view text, ThinkOutput& out);
  void close_think(std::string_view rest, ThinkOutput& out);
  void emit_piece(ThinkOutput& out);
  void emit_answer(std::string_view text, ThinkOutput& out);

  State state_ = State::Start;
  std::string start_pending_;  // leading whitespace and a partial `<think>`, before deciding
  size_t open_matched_ = 0;    // bytes of "<think>" matched
  size_t close_matched_ = 0;   // bytes of "</think>" held at the end of the previous event
  ReasoningTextFilter filter_{ReasoningTextFilter::Markup::Plain};
  std::string piece_;
  bool strip_next_answer_space_ = false;
};

// B2.1 (c): `reasoning_content` / `reasoning` fields of a generic upstream.
class ReasoningFieldAdapter {
 public:
  void reasoning(std::string_view text, ThinkOutput& out);
  void content(std::string_view text, ThinkOutput& out);
  void end(ThinkOutput& out);
  bool answers_verbatim() const { return !reasoning_open_; }

 private:
  bool reasoning_open_ = false;
};

// Generic (OpenAI-compatible) upstreams: reasoning fields, and inline `<think>` in the content
// as long as no reasoning field was seen.
class GenericAdapter final : public SourceAdapter {
 public:
  explicit GenericAdapter(bool inline_think) : inline_active_(inline_think) {}
  void feed(const SourceEvent& event, ThinkOutput& out) override;
  void end(ThinkOutput& out) override;
  bool answers_verbatim() const override {
    return inline_active_ ? inline_.answers_verbatim() : fields_.answers_verbatim();
  }

 private:
  bool inline_active_;
  InlineThinkAdapter inline_;
  ReasoningFieldAdapter fields_;
};

// Duration helpers of B2.1 (a), exposed for tests: `duration="N"` (N may be fractional) in the
// attribute tail, and "Thought for N second(s)" in a summary.
std::optional<double> parse_duration_attribute(std::string_view attributes);
std::optional<double> parse_thought_for(std::string_view summary);

}  // namespace zaiproxy::think
