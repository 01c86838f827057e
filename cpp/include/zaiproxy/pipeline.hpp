// One response, bytes in, bytes out: SseFramer → decoder → ThinkLayer → ToolDetector → encoder.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"
#include "zaiproxy/sse_framer.hpp"
#include "zaiproxy/think_layer.hpp"
#include "zaiproxy/tools.hpp"

namespace zaiproxy {

enum class Upstream : uint8_t { Zai, OpenAi };

struct PipelineOptions {
  Upstream upstream = Upstream::Zai;
  OutputFormat output = OutputFormat::OpenAiSse;
  ThinkOptions think;  // think.source follows `upstream`
  ToolOptions tools;   // no tools: text passes the ToolDetector untouched
  ResponseInfo response;
  SseFramerOptions framing;
};

class Pipeline {
 public:
  explicit Pipeline(PipelineOptions options);
  ~Pipeline();
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;

  // Appends the output for `bytes` to `out`.
  void feed(std::string_view bytes, std::string& out);
  // Appends the closing output. Idempotent.
  void finish(std::string& out);
  // Ends the response with `error` (the upstream connection broke): appends the API's error frame
  // and the closing output. Does nothing once finished.
  void fail(const StreamError& error, std::string& out);

  const ResponseInfo& info() const;
  // Set once the response failed (upstream error or undecodable stream).
  const std::optional<StreamError>& error() const;
  // Latest non-empty usage reported by the upstream.
  const Usage& usage() const;
  // True once the response is over (finish() or fail()).
  bool finished() const;
  // The finish reason once the response ended normally.
  std::optional<FinishReason> finish_reason() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zaiproxy
