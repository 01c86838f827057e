#include "chat_settings.hpp"

#include <algorithm>

#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy {

namespace {

using Json = nlohmann::ordered_json;

const Json* present(const Json& request, const char* key) {
  const auto found = request.find(key);
  return found == request.end() || found->is_null() ? nullptr : &*found;
}

std::optional<bool> boolean(const Json& request, const char* key) {
  const Json* value = present(request, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) throw RequestError(std::string(key) + " must be a boolean", key);
  return value->get<bool>();
}

void copy_number(const Json& request, const char* key, Json& params) {
  const Json* value = present(request, key);
  if (!value) return;
  if (!value->is_number()) throw RequestError(std::string(key) + " must be a number", key);
  params[key] = *value;
}

// max_completion_tokens is OpenAI's newer name for max_tokens; the upstream knows only the old.
void copy_max_tokens(const Json& request, Json& params) {
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    const Json* value = present(request, key);
    if (!value) continue;
    if (!value->is_number_integer() || value->get<long long>() <= 0) {
      throw RequestError(std::string(key) + " must be a positive integer", key);
    }
    params["max_tokens"] = *value;
    return;
  }
}

// OpenAI's `stop` is a string or up to four strings, Anthropic's `stop_sequences` a list; the
// upstream's params take the list form.
void copy_stop_sequences(const Json& request, const char* key, Json& params) {
  const Json* value = present(request, key);
  if (!value) return;
  Json sequences = value->is_string() ? Json::array({*value}) : *value;
  const bool strings =
      sequences.is_array() && std::all_of(sequences.begin(), sequences.end(),
                                          [](const Json& item) { return item.is_string(); });
  if (!strings)
    throw RequestError(std::string(key) + " must be a string or a list of strings", key);
  if (!sequences.empty()) params["stop"] = std::move(sequences);
}

std::optional<bool> anthropic_thinking(const Json& request) {
  const Json* thinking = present(request, "thinking");
  if (!thinking) return std::nullopt;
  const Json* type = thinking->is_object() ? present(*thinking, "type") : nullptr;
  if (!type || !type->is_string()) {
    throw RequestError("thinking needs a type", "thinking.type");
  }
  const std::string& name = type->get_ref<const std::string&>();
  if (name == "enabled" || name == "adaptive") return true;
  if (name == "disabled") return false;
  throw RequestError("thinking.type must be enabled, adaptive or disabled", "thinking.type");
}

std::optional<bool> openai_reasoning_effort(const Json& request) {
  const Json* effort = present(request, "reasoning_effort");
  if (!effort) return std::nullopt;
  if (!effort->is_string()) {
    throw RequestError("reasoning_effort must be a string", "reasoning_effort");
  }
  return effort->get<std::string>() != "none";
}

}  // namespace

ChatSettings read_chat_settings(const Json& request, Dialect dialect) {
  ChatSettings settings;
  if (const Json* model = present(request, "model")) {
    if (!model->is_string()) throw RequestError("model must be a string", "model");
    settings.model = model->get<std::string>();
  }
  copy_number(request, "temperature", settings.params);
  copy_number(request, "top_p", settings.params);
  copy_max_tokens(request, settings.params);
  copy_stop_sequences(request, dialect == Dialect::Anthropic ? "stop_sequences" : "stop",
                      settings.params);
  settings.enable_thinking = boolean(request, "enable_thinking");
  // `reasoning: true` is how one older proxy's clients ask for thinking.
  if (!settings.enable_thinking && dialect == Dialect::OpenAi) {
    settings.enable_thinking = boolean(request, "reasoning");
  }
  if (!settings.enable_thinking) {
    settings.enable_thinking = dialect == Dialect::Anthropic ? anthropic_thinking(request)
                                                             : openai_reasoning_effort(request);
  }
  settings.web_search = boolean(request, "web_search");
  return settings;
}

}  // namespace zaiproxy
