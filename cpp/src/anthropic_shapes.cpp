#include "anthropic_shapes.hpp"

#include "json_writer.hpp"

namespace zaiproxy::anthropic {

void append_content_block(std::string& out, ResponseEvent::Kind kind, std::string_view text) {
  if (kind == ResponseEvent::Kind::Reasoning) {
    out += "{\"type\":\"thinking\",\"thinking\":";
    json::append_string(out, text);
    out += ",\"signature\":\"\"}";  // z.ai signs nothing; clients accept an empty signature
    return;
  }
  out += "{\"type\":\"text\",\"text\":";
  json::append_string(out, text);
  out += '}';
}

void append_message_head(std::string& out, const ResponseInfo& info) {
  out += "{\"id\":";
  json::append_string(out, info.id);
  out += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  json::append_string(out, info.model);
}

void append_tool_use_block(std::string& out, std::string_view id, std::string_view name,
                           std::string_view input) {
  out += "{\"type\":\"tool_use\",\"id\":";
  json::append_string(out, id);
  out += ",\"name\":";
  json::append_string(out, name);
  out += ",\"input\":";
  out += input;
  out += '}';
}

std::string_view delta_head(ResponseEvent::Kind kind) {
  return kind == ResponseEvent::Kind::Reasoning ? R"({"type":"thinking_delta","thinking":)"
                                                : R"({"type":"text_delta","text":)";
}

const char* stop_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Stop:
      return "end_turn";
    case FinishReason::Length:
      return "max_tokens";
    case FinishReason::ToolCalls:
      return "tool_use";
    case FinishReason::ContentFilter:
      return "refusal";
  }
  return "end_turn";
}

void append_usage(std::string& out, const ResponseInfo& info, const Usage& usage) {
  out += "{\"input_tokens\":";
  json::append_int(out, usage.prompt_tokens != 0 ? usage.prompt_tokens : info.input_tokens);
  out += ",\"output_tokens\":";
  json::append_int(out, usage.completion_tokens);
  out += '}';
}

void append_error(std::string& out, const StreamError& error) {
  out += "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":";
  json::append_string(out, error.message);
  out += "}}";
}

}  // namespace zaiproxy::anthropic
