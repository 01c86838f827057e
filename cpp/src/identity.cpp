#include "zaiproxy/identity.hpp"

#include <nlohmann/json.hpp>

#include "base64_decode.hpp"

namespace zaiproxy {

namespace {
constexpr std::string_view kFallbackUserId = "guest";  // what ZZ signs when the token has no id
}

std::string jwt_user_id(std::string_view token) {
  const size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return std::string(kFallbackUserId);
  const std::string_view rest = token.substr(first_dot + 1);
  const std::optional<std::string> payload = base64url_decode(rest.substr(0, rest.find('.')));
  if (!payload) return std::string(kFallbackUserId);
  const nlohmann::json claims = nlohmann::json::parse(*payload, nullptr, false);
  if (!claims.is_object()) return std::string(kFallbackUserId);
  for (const char* key : {"id", "user_id", "uid", "sub"}) {
    const auto claim = claims.find(key);
    if (claim == claims.end()) continue;
    if (claim->is_string() && !claim->get_ref<const std::string&>().empty()) {
      return claim->get<std::string>();
    }
    if (claim->is_number_integer()) return claim->dump();
  }
  return std::string(kFallbackUserId);
}

Identity Identity::from_token(std::string token, bool guest, std::string name) {
  std::string user_id = jwt_user_id(token);
  return Identity{std::move(token), std::move(user_id), std::move(name), guest};
}

}  // namespace zaiproxy
