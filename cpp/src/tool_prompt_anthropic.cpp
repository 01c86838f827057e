// Reads an Anthropic messages request for the tool layer, mapped as z.ai2api_python does
// (toolcall-and-think.md A4.2): system → a system message, tool_use → tool calls, tool_result →
// tool results, input_schema → parameters, tool_choice auto/any/none/tool.
#include "tool_prompt_readers.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy::tool_prompt {
namespace {

// Server tools (web search, code execution, …) run at Anthropic and carry a versioned type;
// the upstream cannot run them, so they are not offered rather than refused (Claude Code sends
// them).
bool is_server_tool(const Json& tool) {
  const Json& type = field(tool, "type");
  return !type.is_null() && type != "custom";
}

void read_tool_choice(const Json& request, OfferedTools& offered) {
  const Json& choice = field(request, "tool_choice");
  if (choice.is_null()) return;
  ToolOptions& options = offered.options;
  const std::string& type = required_string(field(choice, "type"), "tool_choice.type");
  if (type == "auto") {
    options.choice = ToolChoice::Auto;
  } else if (type == "any") {
    options.choice = ToolChoice::Required;
  } else if (type == "none") {
    options.choice = ToolChoice::None;
  } else if (type == "tool") {
    options.choice = ToolChoice::Named;
    options.choice_name = required_string(field(choice, "name"), "tool_choice.name");
    check_named_choice(offered, "tool_choice");
  } else {
    throw RequestError("tool_choice.type must be auto, any, none or tool", "tool_choice.type");
  }
  options.parallel_tool_calls = field(choice, "disable_parallel_tool_use") != true;
}

// An image block as an OpenAI image_url part: base64 data becomes a data: URL.
nlohmann::json image_part(const Json& block, const std::string& path) {
  const Json& source = field(block, "source");
  const std::string source_path = path + ".source";
  const Json& type = field(source, "type");
  std::string url;
  if (type == "base64") {
    url = "data:" + required_string(field(source, "media_type"), source_path + ".media_type") +
          ";base64," + required_string(field(source, "data"), source_path + ".data");
  } else if (type == "url") {
    url = required_string(field(source, "url"), source_path + ".url");
  } else {
    throw RequestError("an image source must be base64 or url", source_path + ".type");
  }
  return {{"type", "image_url"}, {"image_url", {{"url", std::move(url)}}}};
}

nlohmann::json text_block_part(const Json& block, const std::string& path) {
  return text_part(optional_string(field(block, "text"), path + ".text"));
}

void read_tool_result(const Json& block, const std::string& path, ConversationWriter& writer) {
  const std::string id_path = path + ".tool_use_id";
  const std::string& id = required_string(field(block, "tool_use_id"), id_path);
  const Json* content = member(block, "content");  // optional: a tool may return nothing
  if (content && content->is_null()) {
    throw RequestError("tool_result content must not be null", path + ".content");
  }
  writer.add_tool_result(id, content ? flatten_text(*content, path + ".content") : "", id_path);
}

ToolCallRecord read_tool_use(const Json& block, const std::string& path) {
  ToolCallRecord record;
  record.id = required_string(field(block, "id"), path + ".id");
  record.name = required_string(field(block, "name"), path + ".name");
  record.arguments = compact_arguments(field(block, "input"), path + ".input");
  return record;
}

// Tool results go first, into one user message; the message's text and images follow them there.
void read_user(const Json& content, const std::string& path, ConversationWriter& writer) {
  nlohmann::json parts = nlohmann::json::array();
  bool has_results = false;
  for (size_t j = 0; j < content.size(); ++j) {
    const std::string block_path = indexed(path, j);
    const std::string& type = part_type(content[j], block_path);
    if (type == "tool_result") {
      read_tool_result(content[j], block_path, writer);
      has_results = true;
    } else if (type == "text") {
      parts.push_back(text_block_part(content[j], block_path));
    } else if (type == "image") {
      parts.push_back(image_part(content[j], block_path));
    } else {
      parts.push_back(text_part(omission(type)));
    }
  }
  if (!has_results) {
    writer.add_message("user", std::move(parts));
    return;
  }
  for (const nlohmann::json& part : parts) writer.add_after_results(part);
}

std::string joined_text(const nlohmann::json& text_parts) {
  std::string text;
  for (size_t i = 0; i < text_parts.size(); ++i) {
    if (i > 0) text += '\n';
    text += text_parts[i]["text"].get_ref<const std::string&>();
  }
  return text;
}

// Thinking blocks are dropped: the upstream keeps no reasoning history.
void read_assistant(const Json& content, const std::string& path, ConversationWriter& writer) {
  nlohmann::json parts = nlohmann::json::array();
  std::vector<ToolCallRecord> calls;
  for (size_t j = 0; j < content.size(); ++j) {
    const std::string block_path = indexed(path, j);
    const std::string& type = part_type(content[j], block_path);
    if (type == "tool_use") {
      calls.push_back(read_tool_use(content[j], block_path));
    } else if (type == "text") {
      parts.push_back(text_block_part(content[j], block_path));
    } else if (type != "thinking" && type != "redacted_thinking") {
      parts.push_back(text_part(omission(type)));
    }
  }
  if (calls.empty()) {
    writer.add_message("assistant", std::move(parts));
  } else {
    writer.add_tool_calls(joined_text(parts), std::move(calls));
  }
}

void read_message(const Json& message, const std::string& path, ConversationWriter& writer) {
  const std::string& role = required_string(field(message, "role"), path + ".role");
  if (role != "user" && role != "assistant") {
    throw RequestError("unknown role '" + role + "'", path + ".role");
  }
  const Json& content = field(message, "content");
  const std::string content_path = path + ".content";
  if (content.is_string()) {
    writer.add_message(role.c_str(), content.get<std::string>());
  } else if (!content.is_array()) {
    throw RequestError("content must be a string or a list of blocks", content_path);
  } else if (role == "user") {
    read_user(content, content_path, writer);
  } else {
    read_assistant(content, content_path, writer);
  }
}

}  // namespace

OfferedTools read_anthropic_options(const Json& request) {
  OfferedTools offered;
  const Json& tools = array_member(request, "tools", "tools");
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string path = indexed("tools", i);
    if (!tools[i].is_object()) throw RequestError("a tool must be an object", path);
    if (is_server_tool(tools[i])) continue;
    add_tool(offered, tools[i], "input_schema", path);
  }
  read_tool_choice(request, offered);
  return offered;
}

void read_anthropic_messages(const Json& request, ConversationWriter& writer) {
  const Json& system = field(request, "system");
  if (!system.is_null()) writer.add_message("system", flatten_text(system, "system"));
  const Json& messages = field(request, "messages");
  if (!messages.is_array()) throw RequestError("messages must be an array", "messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    read_message(messages[i], indexed("messages", i), writer);
  }
}

}  // namespace zaiproxy::tool_prompt
