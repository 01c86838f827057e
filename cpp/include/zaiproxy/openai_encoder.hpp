// L4, OpenAI chat completions streaming (toolcall-and-think.md A4.3): one `data:` chunk per
// event (a tool call is one chunk with the whole call), the finish chunk, the optional usage
// chunk, then `data: [DONE]`. The role chunk goes out lazily before the first other chunk; an
// error is one `{"error":…}` frame then `data: [DONE]`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"
#include "zaiproxy/response_tracker.hpp"

namespace zaiproxy {

class OpenAiEncoder final : public ResponseEncoder {
 public:
  explicit OpenAiEncoder(ResponseInfo info);

  void feed(const ResponseEvent& event, std::string& out) override;
  void finish(std::string& out) override;
  const ResponseInfo& info() const override { return tracker_.info(); }

 private:
  // chunk_head_ + `"choices":[{"index":0,"delta":{"FIELD":"`.
  std::string text_delta_prefix(std::string_view field) const;
  // A chunk whose delta is `{"FIELD":TEXT}`, after the role chunk; nothing for empty text.
  // `prefix` is content_prefix_ or reasoning_prefix_.
  void write_text_delta(const std::string& prefix, std::string_view text, std::string& out);
  // Every chunk but the role chunk itself and an error is preceded by the role chunk, once.
  void write_role_once(std::string& out) {
    if (!role_sent_) write_role_chunk(out);
  }
  void write_role_chunk(std::string& out);
  // The whole call in one chunk (A4.3 step 3), its index counting the calls of the response.
  void write_tool_call(std::string_view name, std::string_view arguments, std::string& out);
  void write_tool_call_chunk_start(int64_t index, std::string& out) const;
  void write_finish(FinishReason reason, std::string& out);
  void write_error(const StreamError& error, std::string& out);

  ResponseTracker tracker_;
  // `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,` — every chunk starts
  // with it, so it is built once.
  std::string chunk_head_;
  // The whole of a text chunk up to the escaped text, built once per field: a text chunk is then
  // three appends (prefix, escaped text, constant close).
  std::string content_prefix_;
  std::string reasoning_prefix_;
  bool role_sent_ = false;
  int64_t tool_calls_sent_ = 0;
};

}  // namespace zaiproxy
