#include "upstream_fields.hpp"

#include <algorithm>
#include <string>

#include "utf8.hpp"

namespace zaiproxy::upstream {
namespace {

constexpr size_t kQuotedPayloadBytes = 80;

// Status suggested to the client: authentication, permission and rate-limit failures pass
// through so the client can react; anything else is the upstream's fault (a stale front-end
// version, 426, must be fixed by the operator, not by the client).
int http_status_for_number(int64_t code) {
  return code == 401 || code == 403 || code == 429 ? static_cast<int>(code) : 502;
}

int http_status_for_text(std::string_view code) {
  return code == "FRONTEND_CAPTCHA_REQUIRED" ? 403 : 502;
}

// Reads a string value into `out`; a value of another type is skipped.
void read_string_into(JsonReader& reader, std::string& out) {
  out.clear();
  if (reader.peek() == JsonReader::Type::String) {
    reader.read_string(out);
  } else {
    reader.skip_value();
  }
}

}  // namespace

bool read_error(JsonReader& reader, StreamError& error) {
  error = StreamError{};
  error.origin = StreamError::Origin::Upstream;
  int64_t numeric_code = 0;
  const JsonReader::Type type = reader.peek();
  if (type == JsonReader::Type::String) {
    reader.read_string(error.message);
  } else if (type != JsonReader::Type::Object) {
    reader.skip_value();
    return false;
  } else {
    std::string detail, message, msg;
    reader.begin_object();
    std::string_view key;
    while (reader.next_key(key)) {
      if (key == "code" && reader.peek() == JsonReader::Type::Number) {
        reader.read_int(numeric_code);
        error.code = std::to_string(numeric_code);
        error.code_is_number = true;
      } else if (key == "code" && reader.peek() == JsonReader::Type::String) {
        read_string_into(reader, error.code);
      } else if (key == "detail") {
        read_string_into(reader, detail);
      } else if (key == "message") {
        read_string_into(reader, message);
      } else if (key == "msg") {
        read_string_into(reader, msg);
      } else {
        reader.skip_value();
      }
    }
    for (std::string* text : {&detail, &message, &msg, &error.code}) {
      if (!text->empty()) {
        error.message = *text;
        break;
      }
    }
  }
  if (error.message.empty()) error.message = "upstream error";
  error.http_status = error.code_is_number ? http_status_for_number(numeric_code)
                                           : http_status_for_text(error.code);
  return true;
}

bool read_usage(JsonReader& reader, Usage& usage) {
  if (reader.peek() != JsonReader::Type::Object) {
    reader.skip_value();
    return false;
  }
  usage = Usage{};
  bool has_total = false;
  reader.begin_object();
  std::string_view key;
  while (reader.next_key(key)) {
    int64_t* field = key == "prompt_tokens"       ? &usage.prompt_tokens
                     : key == "completion_tokens" ? &usage.completion_tokens
                     : key == "total_tokens"      ? &usage.total_tokens
                                                  : nullptr;
    if (field && reader.peek() == JsonReader::Type::Number) {
      reader.read_int(*field);
      has_total |= field == &usage.total_tokens;
    } else {
      reader.skip_value();
    }
  }
  if (!has_total) usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  return true;
}

StreamError invalid_event_error(std::string_view payload) {
  StreamError error;
  error.origin = StreamError::Origin::Protocol;
  error.code = "invalid_upstream_event";
  size_t length = std::min(payload.size(), kQuotedPayloadBytes);
  // Cut on a code point boundary, then make the quote printable on one line.
  while (length < payload.size() && length > 0 && (payload[length] & 0xC0) == 0x80) --length;
  std::string quoted;
  utf8::append_sanitized(quoted, payload.substr(0, length));
  for (char& c : quoted)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  error.message = "upstream sent an event that is not valid JSON: " + quoted;
  if (length < payload.size()) error.message += "...";
  return error;
}

}  // namespace zaiproxy::upstream
