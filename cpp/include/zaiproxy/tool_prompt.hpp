// The request side of tool calling (toolcall-and-think.md A1.4, NORMATIVE): turns an OpenAI chat
// request or an Anthropic messages request into the upstream's plain conversation, with the tool
// prompt injected as the first system message, assistant tool calls and tool results re-encoded
// as text, and the trigger sanitised out of inbound text.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/tools.hpp"

namespace zaiproxy {

// A request the tool layer refuses: HTTP 400 in the client's error shape.
class RequestError : public std::runtime_error {
 public:
  explicit RequestError(const std::string& message, std::string param = "")
      : std::runtime_error(message), param_(std::move(param)) {}
  // The offending request field, e.g. "messages[3].tool_call_id" (may be empty).
  const std::string& param() const { return param_; }
  int status() const { return 400; }

 private:
  std::string param_;
};

struct ToolLayerOptions {
  std::string trigger;  // empty: process_trigger()
  // A custom prompt (TOOLIFY_CUSTOM_PROMPT compatible): must contain {tools_list} and
  // {trigger_signal}; empty: zaiproxy's own prompt.
  std::string prompt_template;
  bool developer_as_system = true;  // role `developer` becomes `system`
};

struct UpstreamConversation {
  // OpenAI-style messages for the request builder: {"role": "system"|"user"|"assistant",
  // "content": string or a list of OpenAI content parts (text, image_url)}.
  nlohmann::json messages = nlohmann::json::array();
  // How the response may use tools: feed to the response's ToolDetector.
  ToolOptions tools;
};

// Throws RequestError for what the client must fix (unknown tool_call_id, non-object arguments,
// tool_choice naming a tool not offered, a malformed tool schema, …), and std::invalid_argument
// for a trigger that is not of the form `<Function_[A-Za-z0-9]+_Start/>`.
UpstreamConversation build_upstream_conversation(const nlohmann::json& request, Dialect dialect,
                                                 const ToolLayerOptions& options = {});
// The same for a request parsed as ordered_json, so that tool schemas and call arguments reach
// the upstream in the client's key order (nlohmann::json sorts object keys; that overload copies).
UpstreamConversation build_upstream_conversation(const nlohmann::ordered_json& request,
                                                 Dialect dialect,
                                                 const ToolLayerOptions& options = {});

// Throws RequestError unless `prompt_template` contains {tools_list} and {trigger_signal}.
void validate_prompt_template(std::string_view prompt_template);

}  // namespace zaiproxy
