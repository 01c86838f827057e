#include "tool_prompt_writer.hpp"

#include "ascii.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy::tool_prompt {
namespace {

// `]]>` cannot appear inside a CDATA section: end the section between `]]` and `>`.
std::string cdata(std::string_view data) {
  std::string out = "<![CDATA[";
  size_t start = 0;
  for (size_t end; (end = data.find("]]>", start)) != std::string_view::npos; start = end + 3) {
    out.append(data.substr(start, end - start)).append("]]]]><![CDATA[>");
  }
  return out.append(data.substr(start)).append("]]>");
}

std::string encode_call(const ToolCallRecord& call) {
  return "<function_call>\n<tool>" + call.name + "</tool>\n<args_json>" + cdata(call.arguments) +
         "</args_json>\n</function_call>";
}

}  // namespace

std::string defuse_trigger(std::string_view text, std::string_view trigger) {
  std::string out;
  out.reserve(text.size());
  const std::string_view without_close = trigger.substr(0, trigger.size() - 2);  // drops "/>"
  size_t start = 0;
  for (size_t found; (found = text.find(trigger, start)) != std::string_view::npos;
       start = found + trigger.size()) {
    out.append(text.substr(start, found - start)).append(without_close).append(" />");
  }
  return out.append(text.substr(start));
}

std::string encode_tool_calls(std::string_view text, const std::vector<ToolCallRecord>& calls,
                              std::string_view trigger) {
  std::string out(text);
  out.append("\n").append(trigger).append("\n<function_calls>");
  for (const ToolCallRecord& call : calls) out.append("\n").append(encode_call(call));
  out.append("\n</function_calls>");
  return std::string(ascii::trim(out));
}

std::string encode_tool_result(const ToolCallRecord& call, std::string_view content) {
  std::string out = "Tool execution result:\n- Tool name: " + call.name +
                    "\n- Tool arguments: " + call.arguments +
                    "\n- Execution result:\n<tool_result>\n";
  return out.append(content).append("\n</tool_result>");
}

void ConversationWriter::add_message(const char* role, nlohmann::json content) {
  close_result_run();
  const bool inbound = std::string_view(role) != "assistant";
  messages_.push_back(
      {{"role", role}, {"content", inbound ? defused(std::move(content)) : std::move(content)}});
}

void ConversationWriter::add_tool_calls(std::string_view text, std::vector<ToolCallRecord> calls) {
  close_result_run();
  messages_.push_back(
      {{"role", "assistant"}, {"content", encode_tool_calls(text, calls, trigger_)}});
  for (ToolCallRecord& call : calls) calls_by_id_[call.id] = std::move(call);
}

void ConversationWriter::add_tool_result(const std::string& call_id, std::string_view content,
                                         const std::string& param) {
  const auto call = calls_by_id_.find(call_id);
  if (call == calls_by_id_.end()) {
    throw RequestError("no assistant tool call has the id '" + call_id + "'", param);
  }
  if (result_run_open_) result_text_.append("\n\n");
  result_run_open_ = true;
  result_text_.append(encode_tool_result(call->second, defuse_trigger(content, trigger_)));
}

void ConversationWriter::add_after_results(const nlohmann::json& part) {
  if (part.at("type") == "text") {
    result_text_.append("\n\n").append(
        defuse_trigger(part.at("text").get<std::string>(), trigger_));
  } else {
    result_images_.push_back(part);
  }
}

nlohmann::json ConversationWriter::take_messages() {
  close_result_run();
  return std::move(messages_);
}

void ConversationWriter::close_result_run() {
  if (!result_run_open_) return;
  nlohmann::json content = std::move(result_text_);
  if (!result_images_.empty()) {
    nlohmann::json parts =
        nlohmann::json::array({{{"type", "text"}, {"text", std::move(content)}}});
    for (nlohmann::json& image : result_images_) parts.push_back(std::move(image));
    content = std::move(parts);
  }
  messages_.push_back({{"role", "user"}, {"content", std::move(content)}});
  result_run_open_ = false;
  result_text_.clear();
  result_images_ = nlohmann::json::array();
}

nlohmann::json ConversationWriter::defused(nlohmann::json content) const {
  if (content.is_string()) return defuse_trigger(content.get<std::string>(), trigger_);
  for (nlohmann::json& part : content) {
    if (part.at("type") == "text") {
      part["text"] = defuse_trigger(part["text"].get<std::string>(), trigger_);
    }
  }
  return content;
}

}  // namespace zaiproxy::tool_prompt
