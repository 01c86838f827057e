// The client's generation settings (internal): model name, params, thinking and web search.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "zaiproxy/encoder.hpp"

namespace zaiproxy {

struct ChatSettings {
  std::optional<std::string> model;
  nlohmann::ordered_json params = nlohmann::ordered_json::object();  // only what the client sent
  std::optional<bool> enable_thinking;
  std::optional<bool> web_search;
};

// Throws RequestError naming the field of a wrong type. See plan_chat for the switches.
ChatSettings read_chat_settings(const nlohmann::ordered_json& request, Dialect dialect);

}  // namespace zaiproxy
