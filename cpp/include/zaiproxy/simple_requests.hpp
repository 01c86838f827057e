// The upstream requests that need no plan (upstream-protocol.md §1.1–§1.3, §1.7), and the
// parser of the identity answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "zaiproxy/http.hpp"
#include "zaiproxy/identity.hpp"
#include "zaiproxy/profile.hpp"

namespace zaiproxy {

// GET / for discover_fe_version().
HttpRequest landing_page_request(const Profile& profile);

// Below, an empty `fe_version` sends no X-FE-Version header.

// No token: mints a guest session. With one: that account's profile.
HttpRequest auth_request(const Profile& profile, const std::optional<std::string>& token,
                         std::string_view fe_version = {});
HttpRequest models_request(const Profile& profile, std::string_view token,
                           std::string_view fe_version = {});
// Deletes every chat of the token's user (guest-session housekeeping).
HttpRequest delete_chats_request(const Profile& profile, std::string_view token,
                                 std::string_view fe_version = {});

// The auths answer as an Identity: `token`, user id from `id` (else the JWT), `name`, guest from
// `role` (else the e-mail: Guest-…@guest.com). Throws std::runtime_error without a token.
Identity parse_auth_response(std::string_view body);

}  // namespace zaiproxy
