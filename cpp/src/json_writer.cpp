#include "json_writer.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstring>

namespace zaiproxy::json {

namespace {

// The scan looks at eight bytes at a time (SWAR): text is almost always free of escapes, so it
// mostly runs as one test per word, and a safe run is then copied with a single append.
constexpr uint64_t kEveryByte = 0x0101010101010101;  // kEveryByte * c has c in every byte
constexpr uint64_t kHighBits = 0x8080808080808080;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the word scan reads bytes LSB first");

uint64_t load_word(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// Bytes that cannot appear raw in a JSON string, for the tail shorter than a word: on a token of
// a few bytes a table lookup per byte costs less than one more word test.
constexpr std::array<bool, 256> make_needs_escape() {
  std::array<bool, 256> table{};
  for (size_t c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}

constexpr std::array<bool, 256> kNeedsEscape = make_needs_escape();

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

size_t lowest_flagged_byte(uint64_t flags) {
  return static_cast<size_t>(__builtin_ctzll(flags)) / 8;
}

// The first byte in [p, end) that needs escaping, or `end`.
const char* find_escape(const char* p, const char* end) {
  for (; end - p >= 8; p += 8) {
    uint64_t flags = bytes_needing_escape(load_word(p));
    if (flags != 0) return p + lowest_flagged_byte(flags);
  }
  while (p != end && !kNeedsEscape[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// The letter of the two-byte escape of `c` ('n' for a newline, '"' for a quote), or 0 when `c`
// takes the \u00XX form.
char short_escape_letter(unsigned char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return 0;
  }
}

void append_escape(std::string& out, unsigned char c) {
  if (char letter = short_escape_letter(c)) {
    out.push_back('\\');  // push_back is inlined, appending a two-byte string is a call
    out.push_back(letter);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const char unicode_escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
  out.append(unicode_escape, sizeof unicode_escape);
}

// append_escaped() from `first`, the first byte that needs escaping, on. Escapes often come in
// pairs or end the text ("\n\n", `"quoted"`), so empty runs are not appended.
void append_escaped_from(std::string& out, const char* run, const char* first, const char* end) {
  for (const char* p = first; p != end; p = find_escape(run, end)) {
    if (p != run) out.append(run, static_cast<size_t>(p - run));
    append_escape(out, static_cast<unsigned char>(*p));
    run = p + 1;
  }
  if (run != end) out.append(run, static_cast<size_t>(end - run));
}

}  // namespace

void append_string(std::string& out, std::string_view text) {
  out += '"';
  append_escaped(out, text);
  out += '"';
}

void append_escaped(std::string& out, std::string_view text) {
  const char* const end = text.data() + text.size();
  const char* first = find_escape(text.data(), end);
  if (first == end) {
    out.append(text.data(), text.size());  // the common case: one bulk copy, UTF-8 included
  } else {
    append_escaped_from(out, text.data(), first, end);
  }
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

std::string& ObjectWriter::key(std::string_view name) {
  if (!first_) out_ += ',';
  first_ = false;
  append_string(out_, name);
  out_ += ':';
  return out_;
}

ObjectWriter& ObjectWriter::string(std::string_view name, std::string_view value) {
  append_string(key(name), value);
  return *this;
}

ObjectWriter& ObjectWriter::boolean(std::string_view name, bool value) {
  key(name) += value ? "true" : "false";
  return *this;
}

ObjectWriter& ObjectWriter::integer(std::string_view name, int64_t value) {
  append_int(key(name), value);
  return *this;
}

ObjectWriter& ObjectWriter::null(std::string_view name) {
  key(name) += "null";
  return *this;
}

ObjectWriter& ObjectWriter::raw(std::string_view name, std::string_view json_text) {
  key(name) += json_text;
  return *this;
}

}  // namespace zaiproxy::json
