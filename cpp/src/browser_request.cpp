#include "browser_request.hpp"

namespace zaiproxy {

HttpRequest browser_request(const ProfileData& profile, const BrowserRequest& request) {
  HttpRequest http;
  http.method = request.method;
  http.url = request.url;
  auto& headers = http.headers;
  if (!request.content_type.empty()) headers.emplace_back("Content-Type", request.content_type);
  headers.emplace_back("Accept", request.accept);
  headers.emplace_back("User-Agent", profile.browser.user_agent);
  headers.emplace_back("Accept-Language", profile.browser.accept_language);
  for (const auto& header : profile.browser.headers) headers.push_back(header);
  if (!request.fe_version.empty()) headers.emplace_back("X-FE-Version", request.fe_version);
  headers.emplace_back("Origin", profile.origin);
  headers.emplace_back("Referer", request.referer.empty() ? profile.origin + "/" : request.referer);
  if (!request.token.empty())
    headers.emplace_back("Authorization", "Bearer " + std::string(request.token));
  return http;
}

}  // namespace zaiproxy
