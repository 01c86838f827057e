// The headers every upstream call shares, in the browser's order (internal, §2.2).
#pragma once

#include <string>
#include <string_view>

#include "zaiproxy/http.hpp"
#include "zaiproxy/profile.hpp"

namespace zaiproxy {

struct BrowserRequest {
  std::string method = "GET";
  std::string url;
  std::string_view content_type;  // empty: no Content-Type
  std::string_view accept = "application/json";
  std::string referer;          // empty: the origin's root
  std::string_view fe_version;  // empty: no X-FE-Version
  std::string_view token;       // empty: no Authorization
};

// Content-Type, Accept, User-Agent, Accept-Language, the profile's browser headers,
// X-FE-Version, Origin, Referer, Authorization: Bearer.
HttpRequest browser_request(const ProfileData& profile, const BrowserRequest& request);

}  // namespace zaiproxy
