// Reads an OpenAI chat completions request for the tool layer.
#include "tool_prompt_readers.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy::tool_prompt {
namespace {

void check_single_choice(const Json& request) {
  const Json& n = field(request, "n");
  if (!n.is_null() && n != 1) throw RequestError("n must be 1", "n");
}

void read_tool_choice(const Json& request, OfferedTools& offered) {
  const Json& choice = field(request, "tool_choice");
  ToolOptions& options = offered.options;
  if (choice.is_null() || choice == "auto") {
    options.choice = ToolChoice::Auto;
  } else if (choice == "none") {
    options.choice = ToolChoice::None;
  } else if (choice == "required") {
    options.choice = ToolChoice::Required;
  } else if (field(choice, "type") == "function" && field(choice, "function").is_object()) {
    options.choice = ToolChoice::Named;
    options.choice_name = required_string(field(field(choice, "function"), "name"), "tool_choice");
    check_named_choice(offered, "tool_choice");
  } else {
    throw RequestError("tool_choice must be auto, none, required or a function", "tool_choice");
  }
}

void read_parallel_tool_calls(const Json& request, ToolOptions& options) {
  const Json& parallel = field(request, "parallel_tool_calls");
  if (parallel.is_null()) return;
  if (!parallel.is_boolean()) {
    throw RequestError("parallel_tool_calls must be a boolean", "parallel_tool_calls");
  }
  options.parallel_tool_calls = parallel.get<bool>();
}

// Content for the upstream: a string, or a list of text and image_url parts (other parts become
// `[<type> omitted]` text, the upstream takes nothing else).
nlohmann::json upstream_content(const Json& content, const std::string& path) {
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw RequestError("content must be a string or a list", path);
  nlohmann::json parts = nlohmann::json::array();
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_path = indexed(path, i);
    const std::string& type = part_type(content[i], part_path);
    if (type == "text") {
      parts.push_back(text_part(optional_string(field(content[i], "text"), part_path + ".text")));
    } else if (type == "image_url") {
      parts.push_back(
          {{"type", "image_url"}, {"image_url", nlohmann::json(field(content[i], "image_url"))}});
    } else {
      parts.push_back(text_part(omission(type)));
    }
  }
  return parts;
}

ToolCallRecord read_tool_call(const Json& call, const std::string& path) {
  const Json& function = field(call, "function");
  if (!function.is_object()) throw RequestError("a tool call needs a function", path + ".function");
  ToolCallRecord record;
  record.id = optional_string(field(call, "id"), path + ".id");
  record.name = required_string(field(function, "name"), path + ".function.name");
  record.arguments = compact_arguments(field(function, "arguments"), path + ".function.arguments");
  return record;
}

void read_assistant(const Json& message, const std::string& path, ConversationWriter& writer) {
  const Json& calls = array_member(message, "tool_calls", path + ".tool_calls");
  const Json& content = field(message, "content");
  if (calls.empty()) {
    writer.add_message("assistant", upstream_content(content, path + ".content"));
    return;
  }
  std::vector<ToolCallRecord> records;
  for (size_t k = 0; k < calls.size(); ++k) {
    records.push_back(read_tool_call(calls[k], indexed(path + ".tool_calls", k)));
  }
  writer.add_tool_calls(flatten_text(content, path + ".content"), std::move(records));
}

void read_tool_result(const Json& message, const std::string& path, ConversationWriter& writer) {
  const std::string id_path = path + ".tool_call_id";
  const std::string& id = required_string(field(message, "tool_call_id"), id_path);
  const Json& content = field(message, "content");
  if (content.is_null()) throw RequestError("a tool message needs content", path + ".content");
  writer.add_tool_result(id, flatten_text(content, path + ".content"), id_path);
}

void read_message(const Json& message, const std::string& path, bool developer_as_system,
                  ConversationWriter& writer) {
  const std::string& role = required_string(field(message, "role"), path + ".role");
  const std::string content_path = path + ".content";
  if (role == "system" || role == "user") {
    writer.add_message(role.c_str(), upstream_content(field(message, "content"), content_path));
  } else if (role == "developer") {
    writer.add_message(developer_as_system ? "system" : "user",
                       upstream_content(field(message, "content"), content_path));
  } else if (role == "assistant") {
    read_assistant(message, path, writer);
  } else if (role == "tool") {
    read_tool_result(message, path, writer);
  } else {
    throw RequestError("unknown role '" + role + "'", path + ".role");
  }
}

}  // namespace

OfferedTools read_openai_options(const Json& request) {
  check_single_choice(request);
  OfferedTools offered;
  const Json& tools = array_member(request, "tools", "tools");
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string path = indexed("tools", i);
    const Json& type = field(tools[i], "type");
    const Json& function = field(tools[i], "function");
    if (!(type.is_null() || type == "function") || !function.is_object()) {
      throw RequestError("only function tools are supported", path);
    }
    add_tool(offered, function, "parameters", path + ".function");
  }
  read_tool_choice(request, offered);
  read_parallel_tool_calls(request, offered.options);
  return offered;
}

void read_openai_messages(const Json& request, bool developer_as_system,
                          ConversationWriter& writer) {
  const Json& messages = field(request, "messages");
  if (!messages.is_array()) throw RequestError("messages must be an array", "messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    read_message(messages[i], indexed("messages", i), developer_as_system, writer);
  }
}

}  // namespace zaiproxy::tool_prompt
