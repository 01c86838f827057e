// L4, OpenAI chat completions streaming (toolcall-and-think.md A4.3): one `data:` chunk per
// event, the finish chunk, the optional usage chunk, then `data: [DONE]`. The role chunk goes out
// lazily before the first other chunk; an error is one `{"error":…}` frame then `data: [DONE]`.
#pragma once

#include <cstddef>
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
  // A chunk whose delta is `{"FIELD":TEXT}`, after the role chunk; nothing for empty text.
  void write_text_delta(std::string_view field, std::string_view text, std::string& out);
  // Every chunk but the role chunk itself and an error is preceded by the role chunk, once.
  void write_role_once(std::string& out);
  void write_finish(FinishReason reason, std::string& out);
  void write_error(const StreamError& error, std::string& out);

  ResponseTracker tracker_;
  // `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[{"index":0,
  // "delta":{` — built once, so a chunk is a handful of appends. Its first `head_size_` bytes, up
  // to `"choices"`, start the usage chunk.
  std::string delta_prefix_;
  size_t head_size_ = 0;
  bool role_sent_ = false;
};

}  // namespace zaiproxy
