// One HTTP request as the upstream engine sends it: what the request builder produces and what
// Python may construct by hand (landing page, auths, models, chat creation, uploads).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zaiproxy {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  // In the order they are sent; names as given (HTTP/2 lower-cases them on the wire).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (ASCII case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

}  // namespace zaiproxy
