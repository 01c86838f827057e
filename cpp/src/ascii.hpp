// ASCII text helpers shared by the request side (internal).
#pragma once

#include <string>
#include <string_view>

namespace zaiproxy::ascii {

std::string lower(std::string_view text);
bool iends_with(std::string_view text, std::string_view suffix);  // ASCII case-insensitive
// `text` without leading and trailing ASCII whitespace (like Python's str.strip for ASCII).
std::string_view trim(std::string_view text);

}  // namespace zaiproxy::ascii
