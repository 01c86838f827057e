// The output side of the tool layer's request conversion (internal): collects the upstream's
// plain messages, defuses the trigger in inbound text and re-encodes tool calls and tool results
// as text (toolcall-and-think.md A1.4 steps 3–5). Both request readers write through it, so an
// OpenAI conversation and the same conversation in Anthropic form come out identical.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zaiproxy::tool_prompt {

// One call of an assistant message, arguments already compact JSON.
struct ToolCallRecord {
  std::string id;
  std::string name;
  std::string arguments;
};

// `text` with every occurrence of `trigger` turned into the trigger with a space before `/>`,
// so pasted or returned text cannot forge a call.
std::string defuse_trigger(std::string_view text, std::string_view trigger);

// Toolify's history form of an assistant turn that called tools: the text, the trigger and the
// `<function_calls>` block with CDATA-wrapped arguments, trimmed.
std::string encode_tool_calls(std::string_view text, const std::vector<ToolCallRecord>& calls,
                              std::string_view trigger);

// Toolify's text form of one tool result.
std::string encode_tool_result(const ToolCallRecord& call, std::string_view content);

class ConversationWriter {
 public:
  explicit ConversationWriter(std::string trigger) : trigger_(std::move(trigger)) {}

  // A system, user or assistant message; `content` is a string or a list of content parts.
  // System and user text is defused.
  void add_message(const char* role, nlohmann::json content);
  // An assistant turn with tool calls; remembers the calls for the results that follow.
  void add_tool_calls(std::string_view text, std::vector<ToolCallRecord> calls);
  // The result of the remembered call `call_id`, appended to the open run of results (one user
  // message, blocks separated by a blank line). Throws RequestError naming `param` when no call
  // has that id.
  void add_tool_result(const std::string& call_id, std::string_view content,
                       const std::string& param);
  // Text or an image part the client sent next to tool results (Anthropic): goes into the
  // results' user message, after the results.
  void add_after_results(const nlohmann::json& part);

  nlohmann::json take_messages();

 private:
  void close_result_run();
  nlohmann::json defused(nlohmann::json content) const;

  std::string trigger_;
  nlohmann::json messages_ = nlohmann::json::array();
  std::unordered_map<std::string, ToolCallRecord> calls_by_id_;
  bool result_run_open_ = false;
  std::string result_text_;
  nlohmann::json result_images_ = nlohmann::json::array();
};

}  // namespace zaiproxy::tool_prompt
