#include "json_writer.hpp"

#include <array>
#include <charconv>

namespace zaiproxy::json {

namespace {

// The escape sequence of every byte that needs one; an empty entry means "copy as is".
using EscapeTable = std::array<std::string_view, 256>;

constexpr EscapeTable make_escape_table() {
  // Static storage for the \u00XX forms, so the table can hold views into it.
  constexpr std::string_view kControl =
      "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
      "\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f"
      "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
      "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f";
  EscapeTable table{};
  for (size_t c = 0; c < 0x20; ++c) table[c] = kControl.substr(c * 6, 6);
  table['\b'] = "\\b";
  table['\t'] = "\\t";
  table['\n'] = "\\n";
  table['\f'] = "\\f";
  table['\r'] = "\\r";
  table['"'] = "\\\"";
  table['\\'] = "\\\\";
  return table;
}

constexpr EscapeTable kEscapes = make_escape_table();

}  // namespace

void append_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  const char* run = text.data();  // start of the current run of bytes copied as they are
  const char* const end = text.data() + text.size();
  for (const char* p = run; p != end; ++p) {
    std::string_view escape = kEscapes[static_cast<unsigned char>(*p)];
    if (escape.empty()) continue;
    out.append(run, p);
    out += escape;
    run = p + 1;
  }
  out.append(run, end);
  out += '"';
}

void append_int(std::string& out, int64_t value) {
  char digits[24];  // 20 characters hold any int64_t, sign included
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

bool is_integer_literal(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace zaiproxy::json
