#include "query_template.hpp"

#include <stdexcept>

namespace zaiproxy {

namespace {

const std::string& placeholder_value(std::string_view name, const QueryValues& values) {
  if (name == "request_id") return values.request_id;
  if (name == "timestamp") return values.timestamp;
  if (name == "user_id") return values.user_id;
  if (name == "token") return values.token;
  if (name == "chat_id") return values.chat_id;
  if (name == "origin") return values.origin;
  throw std::invalid_argument("unknown placeholder {" + std::string(name) +
                              "} (known: request_id, timestamp, user_id, token, chat_id, origin)");
}

}  // namespace

std::string expand_query_template(std::string_view value_template, const QueryValues& values) {
  std::string out;
  size_t start = 0;
  for (size_t open; (open = value_template.find('{', start)) != std::string_view::npos;) {
    const size_t close = value_template.find('}', open);
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed '{'");
    out.append(value_template.substr(start, open - start));
    out.append(placeholder_value(value_template.substr(open + 1, close - open - 1), values));
    start = close + 1;
  }
  return out.append(value_template.substr(start));
}

}  // namespace zaiproxy
