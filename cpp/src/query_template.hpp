// The completion URL's query values (internal): profile templates such as "{origin}/c/{chat_id}"
// filled with this request's values.
#pragma once

#include <string>
#include <string_view>

namespace zaiproxy {

struct QueryValues {
  std::string request_id, timestamp, user_id, token, chat_id, origin;
};

// Throws std::invalid_argument for a placeholder that QueryValues does not have, or a `{` that
// is not closed.
std::string expand_query_template(std::string_view value_template, const QueryValues& values);

}  // namespace zaiproxy
