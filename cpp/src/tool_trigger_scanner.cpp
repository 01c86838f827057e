#include "tool_trigger_scanner.hpp"

namespace zaiproxy::tool {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr size_t npos = std::string_view::npos;

// At most this much whitespace before the trigger is held and dropped (R1.1); any more goes out as
// text. The model writes a newline or two there, and a model stuck emitting blank lines one token
// at a time must not make every piece copy an ever longer held run.
constexpr size_t kMaxDroppedWhitespace = 256;

// Where the run of ASCII whitespace that ends at `end` starts, looking back at most
// kMaxDroppedWhitespace bytes.
size_t whitespace_run_start(std::string_view text, size_t end) {
  size_t limit = end > kMaxDroppedWhitespace ? end - kMaxDroppedWhitespace : 0;
  size_t start = end;
  while (start > limit && ascii::is_space(text[start - 1])) --start;
  return start;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// `tail` is shorter than `tag` and may still grow into it.
bool is_proper_prefix(std::string_view tail, std::string_view tag) {
  return tail.size() < tag.size() && tag.substr(0, tail.size()) == tail;
}

}  // namespace

TriggerScanner::Result TriggerScanner::scan(std::string_view piece) {
  std::string_view text = piece;
  if (!held_.empty()) {  // the only copy on this path, and a rare one: most pieces leave none
    joined_.assign(held_);
    joined_.append(piece);
    held_.clear();
    text = joined_;
  }
  size_t tag_start = npos;
  // Every tag that matters starts with '<', an ASCII byte, so this finds them all (C.3 rule 7).
  for (size_t pos = text.find('<'); pos != npos; pos = text.find('<', pos)) {
    std::string_view rest = text.substr(pos);
    if (think_depth_ == 0 && starts_with(rest, trigger_)) {
      size_t ws_start = whitespace_run_start(text, pos);
      return {text.substr(0, ws_start), text.substr(ws_start, pos - ws_start), rest};
    }
    if (starts_with(rest, kThinkOpen)) {
      ++think_depth_;
      pos += kThinkOpen.size();
    } else if (starts_with(rest, kThinkClose)) {
      if (think_depth_ > 0) --think_depth_;
      pos += kThinkClose.size();
    } else if (is_proper_prefix(rest, kThinkOpen) || is_proper_prefix(rest, kThinkClose) ||
               (think_depth_ == 0 && is_proper_prefix(rest, trigger_))) {
      tag_start = pos;  // the text ends inside what may become a tag
      break;
    } else {
      ++pos;
    }
  }
  size_t hold = hold_start(text, tag_start);
  if (hold < text.size()) held_.assign(text.substr(hold));  // held_ is empty here
  return {text.substr(0, hold), {}, {}};
}

size_t TriggerScanner::hold_start(std::string_view text, size_t tag_start) const {
  size_t start = tag_start == npos ? text.size() : tag_start;
  // Whitespace waits only where the trigger may follow, since then it is dropped (R1.1, R2); the
  // empty tail counts, as the trigger may start in the next piece.
  if (think_depth_ != 0 || !is_proper_prefix(text.substr(start), trigger_)) return start;
  return whitespace_run_start(text, start);
}

}  // namespace zaiproxy::tool
