#include "openai_shapes.hpp"

#include "json_writer.hpp"

namespace zaiproxy::openai {

void append_head(std::string& out, const ResponseInfo& info, std::string_view object) {
  out += "\"id\":";
  json::append_string(out, info.id);
  out += ",\"object\":";
  json::append_string(out, object);
  out += ",\"created\":";
  json::append_int(out, info.created);
  out += ",\"model\":";
  json::append_string(out, info.model);
  out += ',';
}

void append_usage(std::string& out, const Usage& usage) {
  const int64_t total =
      usage.total_tokens != 0 ? usage.total_tokens : usage.prompt_tokens + usage.completion_tokens;
  out += "{\"prompt_tokens\":";
  json::append_int(out, usage.prompt_tokens);
  out += ",\"completion_tokens\":";
  json::append_int(out, usage.completion_tokens);
  out += ",\"total_tokens\":";
  json::append_int(out, total);
  out += '}';
}

void append_tool_call_fields(std::string& out, std::string_view id, std::string_view name,
                             std::string_view arguments) {
  out += "\"id\":";
  json::append_string(out, id);
  out += ",\"type\":\"function\",\"function\":{\"name\":";
  json::append_string(out, name);
  out += ",\"arguments\":";
  json::append_string(out, arguments);
  out += '}';
}

void append_error(std::string& out, const StreamError& error) {
  out += "{\"error\":{\"message\":";
  json::append_string(out, error.message);
  out += ",\"type\":";
  out += error.origin == StreamError::Origin::Protocol ? "\"invalid_upstream_response\""
                                                       : "\"upstream_error\"";
  out += ",\"code\":";
  if (error.code.empty()) {
    out += "null";
  } else if (error.code_is_number && json::is_integer_literal(error.code)) {
    out += error.code;  // as the upstream sent it, e.g. 426
  } else {
    json::append_string(out, error.code);
  }
  out += "}}";
}

}  // namespace zaiproxy::openai
