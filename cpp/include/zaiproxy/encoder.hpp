// L4: turns ResponseEvents into the bytes the client receives.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zaiproxy/events.hpp"

namespace zaiproxy {

// What every encoder needs to know about the response it writes.
struct ResponseInfo {
  std::string id;       // "chatcmpl-…" for OpenAI, "msg_…" for Anthropic; generated if empty
  int64_t created = 0;  // unix seconds; now if 0
  std::string model;    // the model name the client asked for
  bool include_usage = false;  // OpenAI streams: stream_options.include_usage
  int64_t input_tokens = 0;    // Anthropic: estimate for message_start until upstream usage arrives
  bool reasoning_field =
      true;  // OpenAI JSON: write message.reasoning_content (think mode "reasoning")
};

// The client API family.
enum class Dialect : uint8_t { OpenAi, Anthropic };

enum class OutputFormat : uint8_t { OpenAiSse, OpenAiJson, AnthropicSse, AnthropicJson };

// "openai-sse", "openai-json", "anthropic-sse", "anthropic-json"; nullopt if unknown.
std::optional<OutputFormat> parse_output_format(std::string_view name);

class ResponseEncoder {
 public:
  virtual ~ResponseEncoder() = default;
  // Appends the bytes for `event` (possibly none) to `out`.
  virtual void feed(const ResponseEvent& event, std::string& out) = 0;
  // Appends the closing bytes. Without a prior Finish or Error this acts as Finish(stop).
  virtual void finish(std::string& out) = 0;
  virtual const ResponseInfo& info() const = 0;
};

// Random ids: "chatcmpl-" / "msg_" / "call_" / "toolu_" + 24 base62 characters.
std::string random_id(std::string_view prefix);

std::unique_ptr<ResponseEncoder> make_encoder(OutputFormat format, ResponseInfo info);

}  // namespace zaiproxy
