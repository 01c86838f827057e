// L0: turns a byte stream into Server-Sent Events, incrementally.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "zaiproxy/events.hpp"

namespace zaiproxy {

struct SseFramerOptions {
  // A line longer than this fails the stream with a Protocol error (never unbounded growth).
  size_t max_line_bytes = 8u << 20;
  // chat.z.ai sends one JSON object per `data:` line: dispatch such a line (and `[DONE]`) as soon
  // as it is complete instead of waiting for the blank line, so no event waits on the next read.
  bool dispatch_json_lines = true;
};

// Accepts any split of the input: LF, CRLF and CR line ends (also when a CRLF is split between
// two feeds), `data:` with or without the space, multi-line data, comments, `event:`/`id:`/`retry:`
// fields and a leading UTF-8 BOM. After an error, further input is ignored.
class SseFramer {
 public:
  explicit SseFramer(SseFramerOptions options = {});

  void feed(std::string_view bytes, SseSink& sink);
  // End of input: a pending event whose blank line never came is dispatched if its data is a
  // complete line; an unterminated last line is discarded (as the SSE standard says).
  void finish(SseSink& sink);

  bool failed() const { return failed_; }

 private:
  void process_line(std::string_view line, SseSink& sink);
  void process_data(std::string_view value, SseSink& sink);
  void dispatch(SseSink& sink);
  void fail(SseSink& sink);

  SseFramerOptions options_;
  std::string line_;  // bytes of the current, not yet terminated line
  std::string data_;  // `data:` lines of the current event, joined with '\n'
  std::string event_name_;
  std::string last_id_;
  bool has_data_ = false;
  bool at_stream_start_ = true;  // a BOM may still follow
  bool skip_lf_ = false;         // the previous chunk ended with CR
  bool failed_ = false;
};

}  // namespace zaiproxy
