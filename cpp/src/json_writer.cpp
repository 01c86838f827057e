#include "json_writer.hpp"

#include <array>
#include <charconv>

namespace zaiproxy::json {

namespace {

// Bytes that cannot appear raw in a JSON string. A plain flag table keeps the scan over the
// common, safe bytes to one load and one test per byte.
constexpr std::array<bool, 256> make_needs_escape() {
  std::array<bool, 256> table{};
  for (size_t c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}

constexpr std::array<bool, 256> kNeedsEscape = make_needs_escape();

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char unicode_escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
      out.append(unicode_escape, sizeof unicode_escape);
    }
  }
}

}  // namespace

void append_string(std::string& out, std::string_view text) {
  out += '"';
  const char* p = text.data();
  const char* const end = p + text.size();
  for (;;) {
    const char* run = p;  // a run of bytes copied as they are, UTF-8 sequences included
    while (p != end && !kNeedsEscape[static_cast<unsigned char>(*p)]) ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    append_escape(out, static_cast<unsigned char>(*p++));
  }
  out += '"';
}

void append_int(std::string& out, int64_t value) {
  char digits[24];  // 20 characters hold any int64_t, sign included
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, static_cast<size_t>(result.ptr - digits));
}

bool is_integer_literal(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace zaiproxy::json
