// Appends JSON scalars to an output buffer, for the response encoders (toolcall-and-think.md C.3
// rule 6). Output is built by appending to a caller-owned std::string: no intermediate DOM, no
// allocation beyond the buffer's own growth.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zaiproxy::json {

// Appends `text` as a quoted JSON string. `"` and `\` are escaped, control characters below 0x20
// become \n \r \t \b \f or \u00XX. Other bytes, UTF-8 included, are copied unchanged: the input
// is valid UTF-8 by contract, and clients expect CJK and emoji as they are.
void append_string(std::string& out, std::string_view text);

// append_string without the quotes: for callers whose constant text around the string already
// holds them, so that a whole chunk is three appends.
void append_escaped(std::string& out, std::string_view text);

// Appends the decimal form of `value`.
void append_int(std::string& out, int64_t value);

// True when `text` is a JSON integer (optional '-', digits, no leading zero), so it can be written
// as a number verbatim.
bool is_integer_literal(std::string_view text);

// Writes one JSON object into `out` member by member: the commas, quoted keys and braces. Values
// are strings, booleans, integers, null, or JSON text the caller produced (a nested object, a
// dumped document).
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }

  ObjectWriter& string(std::string_view name, std::string_view value);
  ObjectWriter& boolean(std::string_view name, bool value);
  ObjectWriter& integer(std::string_view name, int64_t value);
  ObjectWriter& null(std::string_view name);
  ObjectWriter& raw(std::string_view name, std::string_view json_text);
  // Starts a member whose value the caller appends to `out` next (e.g. a nested ObjectWriter).
  std::string& key(std::string_view name);
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace zaiproxy::json
