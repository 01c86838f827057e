#include "json_writer.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace zaiproxy::json {

namespace {

// Bytes that cannot appear raw in a JSON string, for the tail shorter than a word.
constexpr std::array<bool, 256> make_needs_escape() {
  std::array<bool, 256> table{};
  for (size_t c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}

constexpr std::array<bool, 256> kNeedsEscape = make_needs_escape();

// The scan looks at eight bytes at a time (SWAR): text is almost always free of escapes, so it
// mostly runs as one test per word, and a safe run is then copied with a single append.
constexpr uint64_t kEveryByte = 0x0101010101010101;  // kEveryByte * c has c in every byte
constexpr uint64_t kHighBits = 0x8080808080808080;

// The eight bytes at `p`, the first one in the low byte whatever the machine's byte order.
uint64_t load_word(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  return word;
}

// High bit set in the bytes of `word` below `limit` (limit <= 0x80). A borrow can also flag bytes
// above a flagged one, never below it: only the lowest flag is exact, and only it is used.
uint64_t bytes_below(uint64_t word, unsigned char limit) {
  return (word - kEveryByte * limit) & ~word & kHighBits;
}

uint64_t bytes_equal(uint64_t word, unsigned char c) {
  return bytes_below(word ^ (kEveryByte * c), 1);
}

// Flags, as for bytes_below(), the bytes of `word` that need escaping.
uint64_t bytes_needing_escape(uint64_t word) {
  return bytes_below(word, 0x20) | bytes_equal(word, '"') | bytes_equal(word, '\\');
}

// The first byte in [p, end) that needs escaping, or `end`.
const char* find_escape(const char* p, const char* end) {
  for (; end - p >= 8; p += 8) {
    uint64_t flags = bytes_needing_escape(load_word(p));
    if (flags != 0) return p + __builtin_ctzll(flags) / 8;
  }
  while (p != end && !kNeedsEscape[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

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
  append_escaped(out, text);
  out += '"';
}

void append_escaped(std::string& out, std::string_view text) {
  const char* run = text.data();  // bytes copied as they are, UTF-8 sequences included
  const char* const end = run + text.size();
  for (const char* p = find_escape(run, end); p != end; p = find_escape(run, end)) {
    out.append(run, static_cast<size_t>(p - run));
    append_escape(out, static_cast<unsigned char>(*p));
    run = p + 1;
  }
  out.append(run, static_cast<size_t>(end - run));
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
