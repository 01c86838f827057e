// L4, Anthropic Messages streaming (toolcall-and-think.md A4.4): message_start and ping, the
// content blocks streamed live, message_delta and message_stop; `event: error` on failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"
#include "zaiproxy/response_tracker.hpp"

namespace zaiproxy {

// Content blocks follow the events: consecutive Reasoning (thinking block) or Text (text block)
// events share a block; an event of another kind closes it and opens the next index. Each
// ToolCall is a tool_use block of its own, written whole. A response without content gets one
// empty text block, as the non-streaming message does. An error before any output is the only
// event written.
class AnthropicEncoder final : public ResponseEncoder {
 public:
  explicit AnthropicEncoder(ResponseInfo info);

  void feed(const ResponseEvent& event, std::string& out) override;
  void finish(std::string& out) override;
  const ResponseInfo& info() const override { return tracker_.info(); }

 private:
  // message_start then ping, before the first other frame.
  void write_message_start_once(std::string& out);
  // A content_block_delta in the block of `kind`, opening that block first if needed.
  void write_block_delta(ResponseEvent::Kind kind, std::string_view text, std::string& out);
  // Opens the text or thinking block of `kind`; it stays open for the next deltas of that kind.
  void open_block(ResponseEvent::Kind kind, std::string& out);
  // A whole tool_use block: start, one input_json_delta with the arguments, stop.
  void write_tool_use_block(std::string_view name, std::string_view arguments, std::string& out);
  // Closes the open block, takes the next index and writes content_block_start up to its
  // content_block object, which the caller appends, closing with `}\n\n`.
  void write_block_start_head(std::string& out);
  // content_block_delta of the block at block_index_ up to its delta object.
  void append_block_delta_head(std::string& out) const;
  void close_open_block(std::string& out);
  void write_block_stop(std::string& out) const;
  void write_finish(FinishReason reason, std::string& out);
  void write_error(const StreamError& error, std::string& out);

  ResponseTracker tracker_;
  bool block_open_ = false;  // a text or thinking block; a tool_use block never stays open
  ResponseEvent::Kind block_kind_ = ResponseEvent::Kind::Text;  // of the open block
  int64_t block_index_ = -1;  // index of the open or last closed block; -1 before the first
  // `event: content_block_delta\ndata: {…,"index":I,"delta":{"type":…,"text":"` of the open
  // block, built when it opens, so a delta is three appends: it, the escaped text, `"}}\n\n`.
  std::string delta_prefix_;
  bool message_started_ = false;
};

}  // namespace zaiproxy
