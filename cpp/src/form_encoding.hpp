// application/x-www-form-urlencoded exactly as Python's urllib.parse.urlencode writes it
// (internal): the query string of the completion URL (§2.1, §2.3.1).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zaiproxy {

// A-Z a-z 0-9 _ . - ~ stay, space becomes '+', every other byte %XX (upper-case hex).
std::string form_encode(std::string_view text);
// name=value pairs joined by '&', in the given order.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace zaiproxy
