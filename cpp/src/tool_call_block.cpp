#include "tool_call_block.hpp"

#include <algorithm>

#include "function_calls_parser.hpp"

namespace zaiproxy::tool {
namespace {

constexpr size_t npos = std::string_view::npos;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_proper_prefix(std::string_view tail, std::string_view tag) {
  return tail.size() < tag.size() && tag.substr(0, tail.size()) == tail;
}

// The tags the completion scan reacts to; a `<` this close to the end is left for the next piece
// when the text after it may still grow into one of them.
bool may_grow_into_tag(std::string_view tail) {
  for (std::string_view tag :
       {kCdataOpen, kArgsJsonOpen, kArgsJsonClose, kCallOpen, kCallClose, kCallsClose}) {
    if (is_proper_prefix(tail, tag)) return true;
  }
  return false;
}

// Where `text` ends with a proper prefix of `tag` (which starts with '<'), searching from `from`;
// text.size() when it does not.
size_t trailing_prefix_start(std::string_view text, size_t from, std::string_view tag) {
  if (text.size() >= tag.size()) from = std::max(from, text.size() - tag.size() + 1);
  for (size_t i = text.find('<', from); i != npos; i = text.find('<', i + 1)) {
    if (is_proper_prefix(text.substr(i), tag)) return i;
  }
  return text.size();
}

}  // namespace

CallBlock::Status CallBlock::start(std::string_view text) {
  *this = CallBlock(limits_);
  scan_pos_ = limits_.trigger_size;
  buffer_.assign(text);
  return scan();
}

CallBlock::Status CallBlock::append(std::string_view piece) {
  buffer_.append(piece);
  return scan();
}

std::string_view CallBlock::preamble() const {
  return text().substr(limits_.trigger_size, calls_open_ - limits_.trigger_size);
}

std::string_view CallBlock::body() const {
  return text().substr(body_begin_, body_end_ - body_begin_);
}

std::optional<std::string_view> CallBlock::leniently_closed_body() const {
  if (body_begin_ == 0 || open_calls_ != 0 || last_call_close_ == 0) return std::nullopt;
  if (!is_all_ascii_space(text().substr(last_call_close_))) return std::nullopt;
  return text().substr(body_begin_, last_call_close_ - body_begin_);
}

CallBlock::Status CallBlock::scan() {
  if (body_begin_ == 0) {
    size_t open = buffer_.find(kCallsOpen, scan_pos_);
    if (open == npos) {
      scan_pos_ = trailing_prefix_start(buffer_, scan_pos_, kCallsOpen);
      if (scan_pos_ - limits_.trigger_size > limits_.max_preamble_bytes) return fail(scan_pos_);
      return Status::Incomplete;
    }
    if (open - limits_.trigger_size > limits_.max_preamble_bytes) return fail(open);
    calls_open_ = open;
    body_begin_ = scan_pos_ = open + kCallsOpen.size();
  }
  if (scan_body()) return end_ > limits_.max_call_bytes ? fail(end_) : Status::Complete;
  return buffer_.size() > limits_.max_call_bytes ? fail(scan_pos_) : Status::Incomplete;
}

bool CallBlock::scan_body() {
  std::string_view text = buffer_;
  size_t i = scan_pos_;
  while (i < text.size()) {
    if (in_cdata_) {
      size_t close = text.find(kCdataClose, i);
      if (close == npos) {
        // Keep a trailing "]" or "]]" for the next piece; both are ASCII, so i stays on a
        // character boundary.
        size_t kept = ends_with(text, "]]") ? 2 : ends_with(text, "]") ? 1 : 0;
        i = std::max(i, text.size() - kept);
        break;
      }
      in_cdata_ = false;
      i = close + kCdataClose.size();
      continue;
    }
    char c = text[i];
    if (in_string_) {
      if (c == '\\') {
        if (i + 1 == text.size()) break;  // the escaped byte comes with the next piece
        i += 2;
        continue;
      }
      in_string_ = c != '"';
      ++i;
      continue;
    }
    if (c == '"' && in_args_json_) {
      in_string_ = true;
      ++i;
      continue;
    }
    if (c != '<') {
      ++i;
      continue;
    }
    std::string_view rest = text.substr(i);
    if (may_grow_into_tag(rest)) break;
    if (starts_with(rest, kCdataOpen)) {
      in_cdata_ = true;
      i += kCdataOpen.size();
    } else if (starts_with(rest, kArgsJsonOpen)) {
      in_args_json_ = true;
      i += kArgsJsonOpen.size();
    } else if (starts_with(rest, kArgsJsonClose)) {
      in_args_json_ = false;
      i += kArgsJsonClose.size();
    } else if (starts_with(rest, kCallOpen)) {
      ++open_calls_;
      i += kCallOpen.size();
    } else if (starts_with(rest, kCallClose)) {
      --open_calls_;
      i += kCallClose.size();
      last_call_close_ = i;
    } else if (starts_with(rest, kCallsClose)) {
      body_end_ = i;
      end_ = scan_pos_ = i + kCallsClose.size();
      return true;
    } else {
      ++i;
    }
  }
  scan_pos_ = i;
  return false;
}

}  // namespace zaiproxy::tool
