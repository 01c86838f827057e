// The front-end version sent as X-FE-Version (upstream-protocol.md §1.1), found in the landing
// page. Versions compare numerically: prod-fe-1.0.185 is newer than prod-fe-1.0.99.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zaiproxy {

// The greatest `prod-fe-<n>(.<n>)*` in the page, or nullopt when there is none.
std::optional<std::string> discover_fe_version(std::string_view landing_html);

// <0, 0, >0 as `a` is older than, equal to or newer than `b`, comparing the dot-separated numbers
// after "prod-fe-" one by one (a missing number counts as 0).
int compare_fe_versions(std::string_view a, std::string_view b);

}  // namespace zaiproxy
