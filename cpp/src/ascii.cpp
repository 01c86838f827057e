#include "ascii.hpp"

#include <algorithm>

namespace zaiproxy::ascii {

namespace {
constexpr std::string_view kWhitespace = " \t\n\r\f\v";

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower_char);
  return out;
}

bool iends_with(std::string_view text, std::string_view suffix) {
  if (suffix.size() > text.size()) return false;
  return lower(text.substr(text.size() - suffix.size())) == lower(suffix);
}

std::string_view trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kWhitespace) + 1 - begin);
}

}  // namespace zaiproxy::ascii
