#include "zaiproxy/sse_framer.hpp"

#include <cstring>

#include "ascii.hpp"

namespace zaiproxy {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// A `data:` value that is a whole JSON object or the `[DONE]` marker on its own.
bool is_complete_json_line(std::string_view value) {
  const std::string_view content = ascii::trim_space(value);
  if (content == "[DONE]") return true;
  return content.size() >= 2 && content.front() == '{' && content.back() == '}';
}

// The first CR in [from, end), or end.
const char* find_cr(const char* from, const char* end) {
  const auto* cr = static_cast<const char*>(std::memchr(from, '\r', end - from));
  return cr ? cr : end;
}

// The first CR or LF in [from, end), or nullptr; `cr` is the first CR at or after `from` (or
// end). Knowing it, one search for the LF is enough.
const char* find_line_end(const char* from, const char* cr, const char* end) {
  if (from < cr && *from == '\n') return from;  // the blank line that ends every event
  const auto* lf = static_cast<const char*>(std::memchr(from, '\n', cr - from));
  if (lf) return lf;
  return cr != end ? cr : nullptr;
}

// The value of a field, without the one space that may follow the colon.
std::string_view field_value(std::string_view line, size_t colon) {
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

}  // namespace

SseFramer::SseFramer(SseFramerOptions options) : options_(options) {}

void SseFramer::feed(std::string_view bytes, SseSink& sink) {
  if (failed_) return;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  // The BOM may arrive a byte at a time; line_ holds the part seen so far.
  while (at_stream_start_ && p < end) {
    if (*p != kBom[line_.size()]) {
      at_stream_start_ = false;  // not a BOM: the bytes held so far start the first line
      break;
    }
    line_ += *p++;
    if (line_.size() == kBom.size()) {
      line_.clear();
      at_stream_start_ = false;
    }
  }
  // CRs are rare in practice: find the next one once, not once per line.
  const char* cr = find_cr(p, end);
  while (p < end) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (*p == '\n') {
        ++p;
        continue;
      }
    }
    if (cr < p) cr = find_cr(p, end);
    const char* line_end = find_line_end(p, cr, end);
    const size_t length = (line_end ? line_end : end) - p;
    if (line_.size() + length > options_.max_line_bytes) return fail(sink);
    if (!line_end) {
      line_.append(p, length);
      return;
    }
    const char* next = line_end + 1;
    if (*line_end == '\r') {
      if (next == end) {
        skip_lf_ = true;  // the LF of a CRLF may start the next chunk
      } else if (*next == '\n') {
        ++next;
      }
    }
    if (line_.empty()) {
      process_line(std::string_view(p, length), sink);  // the common case: no copy
    } else {
      line_.append(p, length);
      process_line(line_, sink);
      line_.clear();
    }
    if (failed_) return;
    p = next;
  }
}

void SseFramer::finish(SseSink& sink) {
  if (failed_) return;
  line_.clear();  // an unterminated last line is dropped
  at_stream_start_ = false;
  dispatch(sink);
}

void SseFramer::process_line(std::string_view line, SseSink& sink) {
  if (line.empty()) return dispatch(sink);
  // Nearly every line is a `data:` line: recognize it without searching for the colon.
  constexpr std::string_view kDataField = "data:";
  if (line.substr(0, kDataField.size()) == kDataField)
    return process_data(field_value(line, kDataField.size() - 1), sink);
  if (line.front() == ':') return;  // comment
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  const std::string_view value =
      colon != std::string_view::npos ? field_value(line, colon) : std::string_view();
  if (field == "data") {
    process_data(value, sink);
  } else if (field == "event") {
    event_name_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // `retry:` and unknown fields are ignored.
}

void SseFramer::process_data(std::string_view value, SseSink& sink) {
  if (options_.dispatch_json_lines && !has_data_ && is_complete_json_line(value)) {
    sink.on_event(SseEvent{event_name_, value, last_id_});
    event_name_.clear();
    return;
  }
  if (data_.size() + value.size() + has_data_ > options_.max_line_bytes) return fail(sink);
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

void SseFramer::dispatch(SseSink& sink) {
  if (has_data_) sink.on_event(SseEvent{event_name_, data_, last_id_});
  data_.clear();
  event_name_.clear();
  has_data_ = false;
}

void SseFramer::fail(SseSink& sink) {
  failed_ = true;
  // Release what the stream made us hold; nothing is read any more.
  std::string().swap(line_);
  std::string().swap(data_);
  StreamError error;
  error.origin = StreamError::Origin::Protocol;
  error.code = "sse_line_too_long";
  error.message = "upstream SSE line or event longer than the " +
                  std::to_string(options_.max_line_bytes) + "-byte limit (max_line_bytes)";
  sink.on_error(error);
}

}  // namespace zaiproxy
