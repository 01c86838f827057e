#include "think_adapters.hpp"

#include <algorithm>
#include <cstring>

#include "ascii.hpp"

namespace zaiproxy::think {
namespace {

constexpr std::string_view kDetailsOpen = "<details";
constexpr std::string_view kDetailsClose = "</details>";
constexpr std::string_view kSummaryOpen = "<summary";
constexpr std::string_view kSummaryClose = "</summary>";
constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

// A `<summary>` longer than this is not the upstream's one-line summary: it is content.
constexpr size_t kMaxSummaryBytes = 1024;
// A run of trailing whitespace longer than this is released rather than held, to keep the
// held state bounded (only a pathological upstream gets there).
constexpr size_t kMaxHeldSpaceBytes = 64 * 1024;
// Leading whitespace before a possible `<think>`, held before deciding; past this it is answer.
constexpr size_t kMaxInlineStartBytes = 4096;
// When the snapshot is not reconciled, only its beginning is read, for the summary's duration.
constexpr size_t kSummaryScanBytes = 4096;

// Reads `\d+(\.\d+)?` at the start of `text`.
std::optional<double> parse_seconds(std::string_view text, size_t* length) {
  size_t i = 0;
  double value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    value = value * 10 + (text[i++] - '0');
  if (i == 0) return std::nullopt;
  if (i + 1 < text.size() && text[i] == '.' && text[i + 1] >= '0' && text[i + 1] <= '9') {
    double scale = 0.1;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10)
      value += (text[i] - '0') * scale;
  }
  *length = i;
  return value;
}

}  // namespace

std::optional<double> parse_duration_attribute(std::string_view attributes) {
  constexpr std::string_view kKey = "duration=\"";
  size_t at = attributes.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = attributes.substr(at + kKey.size());
  size_t length = 0;
  std::optional<double> seconds = parse_seconds(rest, &length);
  if (!seconds || length >= rest.size() || rest[length] != '"') return std::nullopt;
  return seconds;
}

std::optional<double> parse_thought_for(std::string_view summary) {
  constexpr std::string_view kPrefix = "Thought for ";
  constexpr std::string_view kUnit = " second";  // "second" or "seconds"
  size_t at = summary.find(kPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = summary.substr(at + kPrefix.size());
  size_t length = 0;
  std::optional<double> seconds = parse_seconds(rest, &length);
  if (!seconds || rest.substr(length, kUnit.size()) != kUnit) return std::nullopt;
  return seconds;
}

// ───── ReasoningTextFilter ─────

void ReasoningTextFilter::reset() {
  line_ = LinePosition::Start;
  leading_ = Leading::SkipSpace;
  summary_tag_matched_ = 0;
  summary_.clear();
  held_space_.clear();
}

void ReasoningTextFilter::feed(std::string_view text, std::string& out) {
  if (markup_ == Markup::ZaiQuoted) {
    dequote(text, out);
  } else {
    leading(text, out);
  }
}

// z.ai quotes every line of the reasoning with `> `; the markers can be split between deltas,
// hence the line position survives across calls. Whole lines pass as one span.
void ReasoningTextFilter::dequote(std::string_view text, std::string& out) {
  while (!text.empty()) {
    if (line_ == LinePosition::Start) {
      line_ = LinePosition::AfterMarker;
      if (text.front() == '>') {
        text.remove_prefix(1);
        continue;
      }
      line_ = LinePosition::Inside;
    } else if (line_ == LinePosition::AfterMarker) {
      line_ = LinePosition::Inside;
      if (text.front() == ' ') text.remove_prefix(1);
      continue;
    }
    const void* newline = std::memchr(text.data(), '\n', text.size());
    size_t span = newline == nullptr
                      ? text.size()
                      : static_cast<size_t>(static_cast<const char*>(newline) - text.data()) + 1;
    leading(text.substr(0, span), out);
    text.remove_prefix(span);
    if (newline != nullptr) line_ = LinePosition::Start;
  }
}

void ReasoningTextFilter::leading(std::string_view text, std::string& out) {
  while (!text.empty()) {
    switch (leading_) {
      case Leading::Done:
        trailing(text, out);
        return;
      case Leading::SkipSpace:
        text = trim_leading_space(text);
        if (text.empty()) return;
        if (markup_ == Markup::ZaiQuoted && text.front() == '<') {
          leading_ = Leading::SummaryTag;
          summary_tag_matched_ = 0;
        } else {
          leading_ = Leading::Done;
        }
        break;
      case Leading::SummaryTag:
        while (summary_tag_matched_ < kSummaryOpen.size() && !text.empty() &&
               text.front() == kSummaryOpen[summary_tag_matched_]) {
          ++summary_tag_matched_;
          text.remove_prefix(1);
        }
        if (summary_tag_matched_ == kSummaryOpen.size()) {
          leading_ = Leading::InSummary;
          summary_.clear();
        } else if (text.empty()) {
          return;  // still a prefix of "<summary"
        } else {
          leading_ = Leading::Done;  // not a summary: what matched is content
          trailing(kSummaryOpen.substr(0, summary_tag_matched_), out);
        }
        break;
      case Leading::InSummary: {
        size_t old_size = summary_.size();
        summary_.append(text);
        // "</summary>" may have started in an earlier call: search from the last 9 old bytes.
        size_t from = old_size >= kSummaryClose.size() ? old_size - kSummaryClose.size() + 1 : 0;
        size_t close = summary_.find(kSummaryClose, from);
        if (close == std::string::npos) {
          if (summary_.size() > kMaxSummaryBytes) {
            leading_ = Leading::Done;
            trailing(kSummaryOpen, out);
            trailing(summary_, out);
            summary_.clear();
          }
          return;
        }
        text.remove_prefix(close + kSummaryClose.size() - old_size);
        summary_.resize(close);
        leading_ = Leading::SkipSpace;  // whitespace after the summary is leading too
        break;
      }
    }
  }
}

void ReasoningTextFilter::trailing(std::string_view text, std::string& out) {
  size_t end = text.size();
  while (end > 0 && ascii::is_space(text[end - 1])) --end;
  if (end == 0) {
    held_space_.append(text);
    if (held_space_.size() > kMaxHeldSpaceBytes) {
      out.append(held_space_);
      held_space_.clear();
    }
    return;
  }
  if (!held_space_.empty()) {
    out.append(held_space_);
    held_space_.clear();
  }
  out.append(text.data(), end);
  if (end < text.size()) held_space_.assign(text.data() + end, text.size() - end);
}

void ReasoningTextFilter::finish(std::string& out) {
  if (leading_ == Leading::SummaryTag) {
    trailing(kSummaryOpen.substr(0, summary_tag_matched_), out);
  } else if (leading_ == Leading::InSummary) {
    trailing(kSummaryOpen, out);
    trailing(summary_, out);
    summary_.clear();
  }
  leading_ = Leading::Done;
  held_space_.clear();
}

// ───── ZaiAdapter ─────

void ZaiAdapter::feed(const SourceEvent& event, ThinkOutput& out) {
  if (event.text.empty() && event.kind != SourceEvent::Kind::ToolBlock) return;
  switch (event.kind) {
    case SourceEvent::Kind::Thinking:
      on_thinking(event.text, out);
      return;
    case SourceEvent::Kind::Answer:
      on_answer_side(event.text, false, out);
      return;
    case SourceEvent::Kind::Snapshot:
      // An edit during the thinking phase itself cannot be shown: the reasoning is out already.
      if (event.phase != Phase::Thinking) on_answer_side(event.text, true, out);
      return;
    case SourceEvent::Kind::ToolBlock:
      // The model's own tool use: nothing is shown for it, but reasoning stops there.
      if (state_ != State::Outside) close_without_snapshot(out);
      return;
    default:
      return;
  }
}

void ZaiAdapter::end(ThinkOutput& out) {
  if (state_ != State::Outside) close_without_snapshot(out);
}

void ZaiAdapter::on_thinking(std::string_view text, ThinkOutput& out) {
  out.raw_thinking(text);
  if (state_ == State::Outside) {  // a new reasoning block, also after an answer
    state_ = State::Opener;
    opener_matched_ = 0;
    stream_filter_.reset();
    emitted_.clear();
    emitted_over_cap_ = false;
  }
  if (state_ == State::Opener) {
    text = consume_opener(text);
    if (state_ == State::Opener) return;
  }
  stream_filter_.feed(text, piece_);
  emit_piece(out);
}

// Discards `<details …>` up to its first `>` and returns the body that follows. Text that does
// not start with "<details" is body from its first byte.
std::string_view ZaiAdapter::consume_opener(std::string_view text) {
  size_t i = 0;
  while (opener_matched_ < kDetailsOpen.size() && i < text.size()) {
    if (text[i] != kDetailsOpen[opener_matched_]) {
      state_ = State::Body;
      stream_filter_.feed(kDetailsOpen.substr(0, opener_matched_), piece_);
      return text.substr(i);
    }
    ++opener_matched_;
    ++i;
  }
  if (opener_matched_ < kDetailsOpen.size()) return {};
  const void* end = std::memchr(text.data() + i, '>', text.size() - i);
  if (end == nullptr) return {};
  state_ = State::Body;
  return text.substr(static_cast<size_t>(static_cast<const char*>(end) - text.data()) + 1);
}

// The first non-thinking text while reasoning is the transition (B2.1 a).
void ZaiAdapter::on_answer_side(std::string_view text, bool is_snapshot, ThinkOutput& out) {
  if (state_ != State::Outside) {
    // The last `</details>`: the reasoning itself may mention the tag (B07).
    size_t details_close = text.rfind(kDetailsClose);
    if (details_close != std::string_view::npos) {
      close_with_snapshot(text, details_close, out);
    } else {
      close_without_snapshot(out);
      strip_next_answer_space_ = false;
      emit_answer(text, out);
    }
    return;
  }
  if (is_snapshot) return;  // a rewrite of text already sent cannot be retracted
  emit_answer(text, out);
}

void ZaiAdapter::close_with_snapshot(std::string_view snapshot, size_t details_close,
                                     ThinkOutput& out) {
  // The snapshot rewrites the opener from inside its attributes: `true" duration="3" …>` + body.
  std::string_view attributes;
  std::string_view body = snapshot.substr(0, details_close);
  size_t attributes_end = snapshot.find('>');
  if (attributes_end < details_close) {
    attributes = snapshot.substr(0, attributes_end + 1);
    body = snapshot.substr(attributes_end + 1, details_close - attributes_end - 1);
  }
  std::optional<double> seconds = parse_duration_attribute(attributes);
  reconcile(body, out);
  if (!seconds) seconds = parse_thought_for(snapshot_filter_.dropped_summary());
  state_ = State::Outside;
  out.reasoning_end(seconds);

  std::string_view answer =
      trim_leading_space(snapshot.substr(details_close + kDetailsClose.size()));
  strip_next_answer_space_ = answer.empty();  // B09: the answer comes later
  out.answer_text(answer);
}

// Runs the body snapshot through fresh filters (F) and, when F extends what was streamed,
// releases the extension (B05). A snapshot that disagrees (B06) changes nothing: the reasoning
// already sent cannot be retracted.
void ZaiAdapter::reconcile(std::string_view body_snapshot, ThinkOutput& out) {
  snapshot_filter_.reset();
  snapshot_text_.clear();
  if (emitted_over_cap_ || body_snapshot.size() > kReconcileCap) {
    // Too large to keep: release what the stream still holds, read the summary only.
    stream_filter_.finish(piece_);
    emit_piece(out);
    snapshot_filter_.feed(body_snapshot.substr(0, kSummaryScanBytes), snapshot_text_);
    return;
  }
  snapshot_filter_.feed(body_snapshot, snapshot_text_);
  snapshot_filter_.finish(snapshot_text_);
  std::string_view reconciled = snapshot_text_;
  if (reconciled.size() >= emitted_.size() &&
      reconciled.compare(0, emitted_.size(), emitted_) == 0) {
    out.reasoning_text(reconciled.substr(emitted_.size()));
  }
  // Nothing of the stream filter's held state is released: F covers it, or F disagrees.
}

void ZaiAdapter::close_without_snapshot(ThinkOutput& out) {
  if (state_ == State::Opener && opener_matched_ < kDetailsOpen.size()) {
    // Too short to tell: a prefix of "<details" that never completed is text.
    stream_filter_.feed(kDetailsOpen.substr(0, opener_matched_), piece_);
  }
  stream_filter_.finish(piece_);
  emit_piece(out);
  state_ = State::Outside;
  out.reasoning_end();
}

void ZaiAdapter::emit_piece(ThinkOutput& out) {
  if (piece_.empty()) return;
  if (!emitted_over_cap_) {
    if (emitted_.size() + piece_.size() > kReconcileCap) {
      emitted_over_cap_ = true;
      std::string().swap(emitted_);
    } else {
      emitted_.append(piece_);
    }
  }
  out.reasoning_text(piece_);
  piece_.clear();
}

void ZaiAdapter::emit_answer(std::string_view text, ThinkOutput& out) {
  if (strip_next_answer_space_) {
    text = trim_leading_space(text);
    if (text.empty()) return;
    strip_next_answer_space_ = false;
  }
  out.answer_text(text);
}

// ───── InlineThinkAdapter ─────

void InlineThinkAdapter::content(std::string_view text, ThinkOutput& out) {
  switch (state_) {
    case State::Answer:
      emit_answer(text, out);
      return;
    case State::Think:
      think(text, out);
      return;
    case State::Start:
      break;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (open_matched_ == 0 && ascii::is_space(c)) continue;
    if (c != kThinkOpen[open_matched_]) {
      // No think block: the content is the answer, verbatim, held bytes included (B14).
      state_ = State::Answer;
      if (start_pending_.empty()) {
        out.answer_text(text);
      } else {
        start_pending_.append(text);
        out.answer_text(start_pending_);
        start_pending_.clear();
      }
      return;
    }
    if (++open_matched_ == kThinkOpen.size()) {
      state_ = State::Think;
      start_pending_.clear();  // whitespace before `<think>` goes with the tag
      think(text.substr(i + 1), out);
      return;
    }
  }
  start_pending_.append(text);
  if (start_pending_.size() > kMaxInlineStartBytes) {
    state_ = State::Answer;
    out.answer_text(start_pending_);
    start_pending_.clear();
  }
}

// Inside the think block: everything up to `</think>` is reasoning. A trailing proper prefix of
// `</think>` is held; since '<' occurs once in the tag, the match needs no backtracking.
void InlineThinkAdapter::think(std::string_view text, ThinkOutput& out) {
  if (close_matched_ > 0) {
    size_t missing = kThinkClose.size() - close_matched_;
    size_t available = std::min(missing, text.size());
    if (text.compare(0, available, kThinkClose.substr(close_matched_, available)) == 0) {
      if (available < missing) {
        close_matched_ += available;
        return;
      }
      close_matched_ = 0;
      close_think(text.substr(available), out);
      return;
    }
    filter_.feed(kThinkClose.substr(0, close_matched_), piece_);  // it was text after all
    close_matched_ = 0;
  }
  size_t search_from = 0;
  while (true) {
    const void* found = std::memchr(text.data() + search_from, '<', text.size() - search_from);
    if (found == nullptr) {
      filter_.feed(text, piece_);
      break;
    }
    size_t at = static_cast<size_t>(static_cast<const char*>(found) - text.data());
    size_t available = std::min(text.size() - at, kThinkClose.size());
    if (text.compare(at, available, kThinkClose.substr(0, available)) == 0) {
      filter_.feed(text.substr(0, at), piece_);
      if (available == kThinkClose.size()) {
        close_think(text.substr(at + available), out);
        return;
      }
      close_matched_ = available;  // the event ends inside what may be `</think>`
      break;
    }
    search_from = at + 1;
  }
  emit_piece(out);
}

void InlineThinkAdapter::close_think(std::string_view rest, ThinkOutput& out) {
  filter_.finish(piece_);
  emit_piece(out);
  state_ = State::Answer;
  out.reasoning_end();
  rest = trim_leading_space(rest);
  strip_next_answer_space_ = rest.empty();
  out.answer_text(rest);
}

void InlineThinkAdapter::end(ThinkOutput& out) {
  if (state_ == State::Start) {
    out.answer_text(start_pending_);  // only whitespace or a partial `<think>`: answer text
    start_pending_.clear();
  } else if (state_ == State::Think) {
    filter_.feed(kThinkClose.substr(0, close_matched_), piece_);  // an unfinished `</think>`
    close_matched_ = 0;
    filter_.finish(piece_);
    emit_piece(out);
    out.reasoning_end();
  }
  state_ = State::Answer;
}

void InlineThinkAdapter::emit_piece(ThinkOutput& out) {
  out.reasoning_text(piece_);
  piece_.clear();
}

void InlineThinkAdapter::emit_answer(std::string_view text, ThinkOutput& out) {
  if (strip_next_answer_space_) {
    text = trim_leading_space(text);
    if (text.empty()) return;
    strip_next_answer_space_ = false;
  }
  out.answer_text(text);
}

// ───── ReasoningFieldAdapter ─────

void ReasoningFieldAdapter::reasoning(std::string_view text, ThinkOutput& out) {
  if (text.empty()) return;
  reasoning_open_ = true;
  out.reasoning_text(text);
}

void ReasoningFieldAdapter::content(std::string_view text, ThinkOutput& out) {
  if (text.empty()) return;
  if (reasoning_open_) {
    reasoning_open_ = false;
    out.reasoning_end();
  }
  out.answer_text(text);
}

void ReasoningFieldAdapter::end(ThinkOutput& out) {
  if (!reasoning_open_) return;
  reasoning_open_ = false;
  out.reasoning_end();
}

// ───── GenericAdapter ─────

void GenericAdapter::feed(const SourceEvent& event, ThinkOutput& out) {
  if (event.text.empty()) return;
  if (event.kind == SourceEvent::Kind::Reasoning) {
    if (inline_active_) {
      // A reasoning field wins over inline tags: settle what the content parser holds first.
      inline_.end(out);
      inline_active_ = false;
    }
    fields_.reasoning(event.text, out);
  } else if (event.kind == SourceEvent::Kind::Answer) {
    if (inline_active_) {
      inline_.content(event.text, out);
    } else {
      fields_.content(event.text, out);
    }
  }
}

void GenericAdapter::end(ThinkOutput& out) {
  if (inline_active_) inline_.end(out);
  fields_.end(out);
}

}  // namespace zaiproxy::think
