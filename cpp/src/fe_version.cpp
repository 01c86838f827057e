#include "zaiproxy/fe_version.hpp"

#include <algorithm>
#include <vector>

namespace zaiproxy {

namespace {

constexpr std::string_view kPrefix = "prod-fe-";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The length of `<n>(.<n>)*` at the start of `text` (0 when it does not start with a digit).
size_t version_number_length(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && is_digit(text[end])) {
    while (end < text.size() && is_digit(text[end])) ++end;
    if (end + 1 < text.size() && text[end] == '.' && is_digit(text[end + 1])) ++end;
  }
  return end;
}

// Numbers of arbitrary length compare by length first, so no overflow is possible.
int compare_numbers(std::string_view a, std::string_view b) {
  while (a.size() > 1 && a.front() == '0') a.remove_prefix(1);
  while (b.size() > 1 && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::vector<std::string_view> components(std::string_view version) {
  if (version.substr(0, kPrefix.size()) == kPrefix) version.remove_prefix(kPrefix.size());
  std::vector<std::string_view> parts;
  for (size_t dot; (dot = version.find('.')) != std::string_view::npos;) {
    parts.push_back(version.substr(0, dot));
    version.remove_prefix(dot + 1);
  }
  parts.push_back(version);
  return parts;
}

}  // namespace

int compare_fe_versions(std::string_view a, std::string_view b) {
  const std::vector<std::string_view> left = components(a), right = components(b);
  for (size_t i = 0; i < std::max(left.size(), right.size()); ++i) {
    const int order =
        compare_numbers(i < left.size() ? left[i] : "0", i < right.size() ? right[i] : "0");
    if (order != 0) return order;
  }
  return 0;
}

std::optional<std::string> discover_fe_version(std::string_view landing_html) {
  std::optional<std::string> newest;
  for (size_t at = 0; (at = landing_html.find(kPrefix, at)) != std::string_view::npos;) {
    at += kPrefix.size();
    const size_t length = version_number_length(landing_html.substr(at));
    if (length == 0) continue;
    const std::string candidate(landing_html.substr(at - kPrefix.size(), kPrefix.size() + length));
    if (!newest || compare_fe_versions(candidate, *newest) > 0) newest = candidate;
  }
  return newest;
}

}  // namespace zaiproxy
