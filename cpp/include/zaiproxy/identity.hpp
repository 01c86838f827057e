// Who a request is sent as: an upstream token and what it says about its user (§1.2, §6).
#pragma once

#include <string>
#include <string_view>

namespace zaiproxy {

struct Identity {
  std::string token;    // the JWT, sent as Bearer and as the `token` query field
  std::string user_id;  // the signed `user_id`
  std::string name;     // {{USER_NAME}}; empty: the profile's default
  bool guest = true;    // guests cannot upload images and are refused the newest models

  // user_id from the token's payload (jwt_user_id).
  static Identity from_token(std::string token, bool guest, std::string name = "");
};

// The user id in a JWT's payload, decoded without verification (base64url, padding optional):
// the first string or number among the keys id, user_id, uid, sub; "guest" when there is none.
std::string jwt_user_id(std::string_view token);

}  // namespace zaiproxy
