#include "tool_prompt_readers.hpp"

#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy::tool_prompt {
namespace {

// Toolify's four schema checks; returns the compact list of required arguments.
std::string checked_required(const Json& schema, const std::string& path) {
  if (!schema.is_object()) throw RequestError("the tool schema must be an object", path);
  const Json* properties = member(schema, "properties");
  if (properties && !properties->is_object()) {
    throw RequestError("properties must be an object", path + ".properties");
  }
  const Json* required = member(schema, "required");
  if (!required) return "[]";
  if (!required->is_array()) throw RequestError("required must be a list", path + ".required");
  for (size_t i = 0; i < required->size(); ++i) {
    const Json& name = (*required)[i];
    const std::string name_path = indexed(path + ".required", i);
    if (!name.is_string()) throw RequestError("required must list strings", name_path);
    if (!properties || !properties->contains(name.get_ref<const std::string&>())) {
      throw RequestError("required names '" + name.get<std::string>() + "', not in properties",
                         name_path);
    }
  }
  return compact(*required);
}

}  // namespace

std::string indexed(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

const Json* member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nullptr : &*found;
}

const Json& field(const Json& object, const char* key) {
  static const Json kNull;
  const Json* value = member(object, key);
  return value ? *value : kNull;
}

const std::string& required_string(const Json& value, const std::string& path) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    throw RequestError(path + " must be a non-empty string", path);
  }
  return value.get_ref<const std::string&>();
}

std::string optional_string(const Json& value, const std::string& path) {
  if (value.is_null()) return {};
  if (!value.is_string()) throw RequestError(path + " must be a string", path);
  return value.get<std::string>();
}

const Json& array_member(const Json& object, const char* key, const std::string& path) {
  static const Json kEmpty = Json::array();
  const Json* value = member(object, key);
  if (!value || value->is_null()) return kEmpty;
  if (!value->is_array()) throw RequestError(std::string(key) + " must be an array", path);
  return *value;
}

std::string compact(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void add_tool(OfferedTools& offered, const Json& definition, const char* schema_key,
              const std::string& path) {
  ToolSpec spec;
  spec.name = required_string(field(definition, "name"), path + ".name");
  if (offered.options.find(spec.name)) {
    throw RequestError("the tool '" + spec.name + "' is offered twice", path + ".name");
  }
  spec.description = optional_string(field(definition, "description"), path + ".description");
  std::string required = "[]";
  const Json& schema = field(definition, schema_key);
  if (!schema.is_null()) {
    required = checked_required(schema, path + "." + schema_key);
    spec.parameters = compact(schema);
  }
  offered.options.tools.push_back(std::move(spec));
  offered.required.push_back(std::move(required));
}

void check_named_choice(const OfferedTools& offered, const std::string& path) {
  const ToolOptions& options = offered.options;
  if (options.choice == ToolChoice::Named && !options.find(options.choice_name)) {
    throw RequestError("tool_choice names '" + options.choice_name + "', which is not offered",
                       path);
  }
}

std::string compact_arguments(const Json& arguments, const std::string& path) {
  if (arguments.is_null()) return "{}";
  if (arguments.is_object()) return compact(arguments);
  if (arguments.is_string()) {
    const std::string& text = arguments.get_ref<const std::string&>();
    if (text.find_first_not_of(" \t\n\r") == std::string::npos) return "{}";
    const Json parsed = Json::parse(text, nullptr, false);
    if (parsed.is_object()) return compact(parsed);
  }
  throw RequestError("tool call arguments must be a JSON object", path);
}

std::string flatten_text(const Json& content, const std::string& path) {
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw RequestError("content must be a string or a list", path);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_path = indexed(path, i);
    const std::string& type = part_type(content[i], part_path);
    if (i > 0) text += '\n';
    if (type == "text") {
      text += optional_string(field(content[i], "text"), part_path + ".text");
    } else {
      text += omission(type);
    }
  }
  return text;
}

const std::string& part_type(const Json& part, const std::string& path) {
  const Json* type = member(part, "type");
  if (!type || !type->is_string()) throw RequestError("a content part needs a string type", path);
  return type->get_ref<const std::string&>();
}

nlohmann::json text_part(std::string text) { return {{"type", "text"}, {"text", std::move(text)}}; }

std::string omission(std::string_view type) { return "[" + std::string(type) + " omitted]"; }

}  // namespace zaiproxy::tool_prompt
