// The protocol profile: everything chat.z.ai can change (origin, endpoint paths, front-end
// version fallback, signing key, browser headers, query telemetry, `variables`, features and the
// model catalogue), read from data (python/zaiproxy/data/profile.json) instead of code.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zaiproxy/model_catalogue.hpp"

namespace zaiproxy {

struct Endpoints {
  std::string landing, completions, auths, models, chats_new, chats_delete, files;
};

struct BrowserProfile {
  std::string user_agent;
  std::string accept_language;
  // Sent after User-Agent and Accept-Language on every browser-like request, in this order.
  std::vector<std::pair<std::string, std::string>> headers;
};

// The `variables` of the completion body (§2.3) that do not depend on the time.
struct VariablesProfile {
  std::string user_name, user_location, timezone, language;
  // The offset of `timezone` from UTC: the CURRENT_* variables are written in that zone.
  int utc_offset_minutes = 0;
};

// One query parameter of the completion URL: a fixed text with {placeholders} (see
// completion_query in the profile: request_id, timestamp, user_id, token, chat_id, origin).
struct QueryField {
  std::string name, value_template;
};

struct ChatCreationProfile {
  std::string title;
  size_t content_limit = 500;  // characters of the first message kept before "..."
  nlohmann::ordered_json features = nlohmann::ordered_json::array();
};

struct ProfileData {
  std::string origin;
  Endpoints endpoints;  // `completions` is the endpoint in use (completion_endpoint)
  std::string fe_version_fallback;
  std::string signing_key;
  BrowserProfile browser;
  std::vector<QueryField> completion_query;
  VariablesProfile variables;
  std::string model_item_owned_by;
  ChatCreationProfile chat_creation;
  ModelCatalogue catalogue;

  std::string url(std::string_view path) const { return origin + std::string(path); }
};

// Immutable and cheap to copy (shared), so a request plan can keep the profile it was made with
// while a reload installs a new one.
class Profile {
 public:
  // Throws std::invalid_argument naming the JSON path of the first problem, e.g.
  // "profile: models[2].upstream: expected a non-empty string".
  static Profile from_json(std::string_view json_text);

  const ProfileData& operator*() const { return *data_; }
  const ProfileData* operator->() const { return data_.get(); }

 private:
  explicit Profile(std::shared_ptr<const ProfileData> data) : data_(std::move(data)) {}
  std::shared_ptr<const ProfileData> data_;
};

}  // namespace zaiproxy
