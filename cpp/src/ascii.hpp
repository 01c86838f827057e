// ASCII text helpers shared by the request side (internal).
#pragma once

#include <string>
#include <string_view>

namespace zaiproxy::ascii {

std::string lower(std::string_view text);
bool iends_with(std::string_view text, std::string_view suffix);  // ASCII case-insensitive
// `text` without leading and trailing ASCII whitespace (like Python's str.strip for ASCII).
std::string_view trim(std::string_view text);

// JSON's whitespace (space, tab, CR, LF): what streams and markup put between tokens. Inline:
// the stream stages call these per event.
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline std::string_view trim_space(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace zaiproxy::ascii
