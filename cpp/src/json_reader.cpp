#include "json_reader.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>

#include "utf8.hpp"

namespace zaiproxy {
namespace {

bool is_high_surrogate(char16_t unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool is_low_surrogate(char16_t unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the word scan below reads bytes LSB first");

// The first '"' or '\\' in [from, end), and with `stop_at_non_ascii` also the first byte from
// 0x80 up, or else end. Strings are scanned a word at a time: the classic "has a zero byte" test
// on the word XORed with each wanted byte.
const char* find_string_stop(const char* from, const char* end, bool stop_at_non_ascii) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighBits = kOnes << 7;
  const uint64_t non_ascii = stop_at_non_ascii ? kHighBits : 0;
  for (; end - from >= 8; from += 8) {
    uint64_t word;
    std::memcpy(&word, from, sizeof word);
    const uint64_t quote = word ^ (kOnes * '"');
    const uint64_t backslash = word ^ (kOnes * '\\');
    const uint64_t hits =
        ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | (word & non_ascii);
    // The lowest flagged byte is exact; bytes above it may be false positives.
    if (hits & kHighBits) return from + __builtin_ctzll(hits & kHighBits) / 8;
  }
  for (; from < end; ++from) {
    if (*from == '"' || *from == '\\') return from;
    if (stop_at_non_ascii && static_cast<unsigned char>(*from) >= 0x80) return from;
  }
  return end;
}

const char* find_quote_or_backslash(const char* from, const char* end) {
  return find_string_stop(from, end, false);
}

int64_t saturating_int(double value) {
  constexpr double kLimit = 9223372036854775807.0;  // rounds to 2^63
  if (value >= kLimit) return std::numeric_limits<int64_t>::max();
  if (value <= -kLimit) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(value);
}

}  // namespace

bool JsonReader::fail() {
  if (!failed_) {
    failed_ = true;
    error_offset_ = pos_;
  }
  return false;
}

bool JsonReader::consume_literal(std::string_view literal) {
  if (text_.substr(pos_, literal.size()) != literal) return fail();
  pos_ += literal.size();
  return true;
}

bool JsonReader::enter() {
  if (++depth_ > kMaxDepth) return fail();
  just_opened_ = true;
  return true;
}

bool JsonReader::begin_object() {
  if (peek() != Type::Object) return fail();
  ++pos_;
  return enter();
}

bool JsonReader::begin_array() {
  if (peek() != Type::Array) return fail();
  ++pos_;
  return enter();
}

bool JsonReader::next_key(std::string_view& key) {
  if (failed_) return false;
  skip_whitespace();
  if (pos_ < text_.size() && text_[pos_] == '}') {
    ++pos_;
    --depth_;
    just_opened_ = false;
    return false;
  }
  if (!just_opened_) {
    if (!consume(',')) return false;
    skip_whitespace();
  }
  just_opened_ = false;
  if (pos_ >= text_.size() || text_[pos_] != '"') return fail();
  // Keys are short ASCII words: view them in place unless they need decoding.
  size_t utf16_length;
  if (view_plain_string(key, utf16_length)) {
    pos_ += key.size() + 2;
  } else {
    key_buffer_.clear();
    if (!read_string(key_buffer_)) return false;
    key = key_buffer_;
  }
  skip_whitespace();
  return consume(':');
}

bool JsonReader::next_element() {
  if (failed_) return false;
  skip_whitespace();
  if (pos_ < text_.size() && text_[pos_] == ']') {
    ++pos_;
    --depth_;
    just_opened_ = false;
    return false;
  }
  if (!just_opened_ && !consume(',')) return false;
  just_opened_ = false;
  return true;
}

bool JsonReader::read_hex4(char16_t& unit) {
  if (text_.size() - pos_ < 4) return fail();
  unsigned value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = hex_value(text_[pos_ + i]);
    if (digit < 0) return fail();
    value = value << 4 | static_cast<unsigned>(digit);
  }
  pos_ += 4;
  unit = static_cast<char16_t>(value);
  return true;
}

// Decodes the escape at pos_ (after its backslash). `high_surrogate` is a high surrogate that is
// still waiting for its low half (0 if none).
bool JsonReader::decode_escape(std::string& out, char16_t& high_surrogate) {
  if (pos_ >= text_.size()) return fail();
  const char kind = text_[pos_++];
  char simple;
  switch (kind) {
    case '"':
    case '\\':
    case '/':
      simple = kind;
      break;
    case 'b':
      simple = '\b';
      break;
    case 'f':
      simple = '\f';
      break;
    case 'n':
      simple = '\n';
      break;
    case 'r':
      simple = '\r';
      break;
    case 't':
      simple = '\t';
      break;
    case 'u': {
      char16_t unit;
      if (!read_hex4(unit)) return false;
      if (is_low_surrogate(unit) && high_surrogate != 0) {
        utf8::append_code_point(
            out, 0x10000 + ((char32_t(high_surrogate) - 0xD800) << 10) + (char32_t(unit) - 0xDC00));
        high_surrogate = 0;
        return true;
      }
      if (high_surrogate != 0) out += utf8::kReplacement;
      high_surrogate = 0;
      if (is_high_surrogate(unit)) {
        high_surrogate = unit;
      } else if (is_low_surrogate(unit)) {
        out += utf8::kReplacement;
      } else {
        utf8::append_code_point(out, unit);
      }
      return true;
    }
    default:
      --pos_;
      return fail();
  }
  if (high_surrogate != 0) out += utf8::kReplacement;
  high_surrogate = 0;
  out += simple;
  return true;
}

bool JsonReader::read_string(std::string& out, char16_t* carried_high_surrogate) {
  if (peek() != Type::String) return fail();
  ++pos_;
  char16_t high_surrogate = carried_high_surrogate ? *carried_high_surrogate : 0;
  const char* end = text_.data() + text_.size();
  bool empty = true;
  while (true) {
    const char* run = text_.data() + pos_;
    const char* stop = find_quote_or_backslash(run, end);
    if (stop == end) return fail();  // unterminated
    if (stop != run) {
      if (high_surrogate != 0) out += utf8::kReplacement;
      high_surrogate = 0;
      utf8::append_sanitized(out, std::string_view(run, stop - run));
      empty = false;
    }
    pos_ = stop - text_.data() + 1;
    if (*stop == '"') break;
    if (!decode_escape(out, high_surrogate)) return false;
    empty = false;
  }
  // A carried surrogate is joined only with a low surrogate that starts this string: an empty
  // string ends the wait like any other text.
  if (empty && high_surrogate != 0) {
    out += utf8::kReplacement;
    high_surrogate = 0;
  }
  if (carried_high_surrogate) {
    *carried_high_surrogate = high_surrogate;
  } else if (high_surrogate != 0) {
    out += utf8::kReplacement;
  }
  return true;
}

bool JsonReader::read_string_view(std::string_view& out, std::string& buffer,
                                  char16_t* carried_high_surrogate, size_t* utf16_length) {
  if (peek() != Type::String) return fail();
  const bool carrying = carried_high_surrogate != nullptr && *carried_high_surrogate != 0;
  size_t plain_utf16 = 0;
  if (!carrying && view_plain_string(out, plain_utf16)) {
    if (utf16_length) *utf16_length = plain_utf16;
    pos_ += out.size() + 2;
    return true;
  }
  buffer.clear();
  if (!read_string(buffer, carried_high_surrogate)) return false;
  out = buffer;
  if (utf16_length) *utf16_length = utf8::utf16_length(buffer);
  return true;
}

// The content of the string whose opening quote is at pos_, as it stands in the text, when it
// needs no decoding: it has no escape and is valid UTF-8. Validating and measuring here, in the
// scan for the closing quote, saves a second pass over the string.
bool JsonReader::view_plain_string(std::string_view& raw, size_t& utf16_length) const {
  const char* const begin = text_.data() + pos_ + 1;
  const char* const end = text_.data() + text_.size();
  size_t surplus = 0;  // bytes beyond the UTF-16 units that they encode
  for (const char* at = begin;;) {
    at = find_string_stop(at, end, true);
    if (at == end || *at == '\\') return false;
    if (*at == '"') {
      raw = std::string_view(begin, at - begin);
      utf16_length = raw.size() - surplus;
      return true;
    }
    // The closing quote is never a continuation byte, so a sequence cut short by it is invalid.
    const size_t length = utf8::sequence_length(at, end - at);
    if (length == 0) return false;
    surplus += length - utf8::utf16_units(length);
    at += length;
  }
}

bool JsonReader::skip_string() {
  if (peek() != Type::String) return fail();
  ++pos_;
  const char* end = text_.data() + text_.size();
  while (true) {
    const char* stop = find_quote_or_backslash(text_.data() + pos_, end);
    if (stop == end) return fail();
    pos_ = stop - text_.data() + 1;
    if (*stop == '"') return true;
    if (pos_ >= text_.size()) return fail();
    const char kind = text_[pos_++];
    if (kind == 'u') {
      char16_t unit;
      if (!read_hex4(unit)) return false;
    } else if (std::strchr("\"\\/bfnrt", kind) == nullptr || kind == '\0') {
      --pos_;
      return fail();
    }
  }
}

// Scans the JSON number at pos_ and reports whether it has neither fraction nor exponent.
bool JsonReader::scan_number(std::string_view& number, bool& integral) {
  if (peek() != Type::Number) return fail();
  const size_t start = pos_;
  const auto digits = [this] {
    const size_t first = pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    return pos_ > first;
  };
  if (text_[pos_] == '-') ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '0') {
    ++pos_;
  } else if (!digits()) {
    return fail();
  }
  integral = true;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (!digits()) return fail();
    integral = false;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (!digits()) return fail();
    integral = false;
  }
  number = text_.substr(start, pos_ - start);
  return true;
}

bool JsonReader::read_int(int64_t& out) {
  std::string_view number;
  bool integral = false;
  if (!scan_number(number, integral)) return false;
  if (!integral) {
    double value = 0;
    std::from_chars(number.data(), number.data() + number.size(), value);
    out = saturating_int(value);
    return true;
  }
  const bool negative = number[0] == '-';
  // Accumulate toward the sign so that INT64_MIN is representable, then saturate.
  int64_t value = 0;
  for (size_t i = negative; i < number.size(); ++i) {
    const int digit = number[i] - '0';
    if (negative) {
      if (value < (std::numeric_limits<int64_t>::min() + digit) / 10) {
        value = std::numeric_limits<int64_t>::min();
        break;
      }
      value = value * 10 - digit;
    } else {
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        value = std::numeric_limits<int64_t>::max();
        break;
      }
      value = value * 10 + digit;
    }
  }
  out = value;
  return true;
}

bool JsonReader::read_bool(bool& out) {
  if (peek() != Type::Bool) return fail();
  out = text_[pos_] == 't';
  return consume_literal(out ? "true" : "false");
}

bool JsonReader::read_null() {
  if (peek() != Type::Null) return fail();
  return consume_literal("null");
}

bool JsonReader::skip_value() {
  switch (peek()) {
    case Type::Object: {
      begin_object();
      std::string_view key;
      while (next_key(key)) skip_value();
      return !failed_;
    }
    case Type::Array:
      begin_array();
      while (next_element()) skip_value();
      return !failed_;
    case Type::String:
      return skip_string();
    case Type::Number: {
      std::string_view number;
      bool integral;
      return scan_number(number, integral);
    }
    case Type::Bool: {
      bool value;
      return read_bool(value);
    }
    case Type::Null:
      return read_null();
    case Type::Invalid:
      break;
  }
  return fail();
}

bool JsonReader::at_end() {
  if (failed_) return false;
  skip_whitespace();
  return pos_ == text_.size();
}

}  // namespace zaiproxy
