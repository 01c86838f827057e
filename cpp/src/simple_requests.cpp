#include "zaiproxy/simple_requests.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "ascii.hpp"
#include "browser_request.hpp"

namespace zaiproxy {

namespace {

std::string string_field(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

// ZZ's heuristic for answers without `role`: guest e-mails are Guest-<ms>@guest.com (§6).
bool guest_email(const std::string& email) {
  const std::string lowered = ascii::lower(email);
  return lowered.rfind("guest-", 0) == 0 || ascii::iends_with(lowered, "@guest.com");
}

}  // namespace

HttpRequest landing_page_request(const Profile& profile) {
  BrowserRequest request;
  request.url = profile->url(profile->endpoints.landing);
  request.accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  return browser_request(*profile, request);
}

HttpRequest auth_request(const Profile& profile, const std::optional<std::string>& token,
                         std::string_view fe_version) {
  BrowserRequest request;
  request.url = profile->url(profile->endpoints.auths);
  request.fe_version = fe_version;
  if (token) request.token = *token;
  return browser_request(*profile, request);
}

HttpRequest models_request(const Profile& profile, std::string_view token,
                           std::string_view fe_version) {
  BrowserRequest request;
  request.url = profile->url(profile->endpoints.models);
  request.fe_version = fe_version;
  request.token = token;
  return browser_request(*profile, request);
}

HttpRequest delete_chats_request(const Profile& profile, std::string_view token,
                                 std::string_view fe_version) {
  BrowserRequest request;
  request.method = "DELETE";
  request.url = profile->url(profile->endpoints.chats_delete);
  request.content_type = "application/json";
  request.fe_version = fe_version;
  request.token = token;
  return browser_request(*profile, request);
}

Identity parse_auth_response(std::string_view body) {
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  const std::string token = answer.is_object() ? string_field(answer, "token") : "";
  if (token.empty()) {
    throw std::runtime_error("auths answered without a token: " + std::string(body.substr(0, 200)));
  }
  const std::string role = string_field(answer, "role");
  const bool guest = role.empty() ? guest_email(string_field(answer, "email")) : role == "guest";
  Identity identity = Identity::from_token(token, guest, string_field(answer, "name"));
  const std::string id = string_field(answer, "id");
  if (!id.empty()) identity.user_id = id;
  return identity;
}

}  // namespace zaiproxy
