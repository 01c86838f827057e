#include "utf8.hpp"

#include <cstdint>
#include <cstring>

namespace zaiproxy::utf8 {
namespace {

// Texts are scanned a 64-bit word at a time where possible; kHighBits has bit 7 of every byte.
constexpr uint64_t kHighBits = 0x8080808080808080ull;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "skip_ascii takes the lowest set bit of a word for its first byte");

uint64_t load_word(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Code points from U+10000 up start with 0xF0..0xF4 in valid UTF-8 and take two UTF-16 units.
size_t utf16_units_of_lead(unsigned char lead) { return lead >= 0xF0 ? 2 : 1; }

size_t sequence_length_of_lead(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Length of the valid UTF-8 sequence starting at `p` (a non-ASCII byte), or 0 when it is invalid;
// `*invalid_length` then gets the length of its maximal invalid subpart (at least 1).
size_t valid_sequence_length(const unsigned char* p, size_t available, size_t* invalid_length) {
  const unsigned char lead = p[0];
  size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    *invalid_length = 1;
    return 0;
  }
  size_t i = 1;
  for (; i < length && i < available; ++i) {
    const unsigned char min = i == 1 ? second_min : 0x80;
    const unsigned char max = i == 1 ? second_max : 0xBF;
    if (p[i] < min || p[i] > max) break;
  }
  if (i == length) return length;
  *invalid_length = i;
  return 0;
}

// Number of bytes of `mask` (bit 7 of each byte only) that are set.
size_t count_marked_bytes(uint64_t mask) {
  return static_cast<size_t>(((mask >> 7) * 0x0101010101010101ull) >> 56);
}

// Fast path for the sequences of ordinary text: the length of a well-formed 2- or 3-byte
// sequence at `p` outside the overlong and surrogate ranges, else 0 (valid_sequence_length
// decides those).
size_t common_sequence_length(const unsigned char* p, size_t available) {
  if (p[0] >= 0xC2 && p[0] <= 0xDF) return available >= 2 && is_continuation(p[1]) ? 2 : 0;
  if (p[0] > 0xE0 && p[0] < 0xF0 && p[0] != 0xED)
    return available >= 3 && is_continuation(p[1]) && is_continuation(p[2]) ? 3 : 0;
  return 0;
}

// Index of the first byte of text[from, size) that is not ASCII, or `size`.
size_t skip_ascii(const char* text, size_t from, size_t size) {
  for (; from + sizeof(uint64_t) <= size; from += sizeof(uint64_t)) {
    const uint64_t high = load_word(text + from) & kHighBits;
    if (high != 0) return from + __builtin_ctzll(high) / 8;  // the lowest address comes first
  }
  while (from < size && static_cast<unsigned char>(text[from]) < 0x80) ++from;
  return from;
}

// Length of the longest prefix of `text` that is valid UTF-8.
size_t valid_prefix_length(std::string_view text) {
  size_t at = 0;
  while ((at = skip_ascii(text.data(), at, text.size())) < text.size()) {
    const size_t length = sequence_length(text.data() + at, text.size() - at);
    if (length == 0) break;
    at += length;
  }
  return at;
}

}  // namespace

size_t utf16_length(std::string_view text) {
  // Every byte but a continuation byte (10xxxxxx) starts a code point; a 4-byte lead (11110xxx)
  // starts one that needs a surrogate pair.
  size_t units = 0;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= text.size(); i += sizeof(uint64_t)) {
    const uint64_t w = load_word(text.data() + i);
    const uint64_t continuation = w & ~(w << 1) & kHighBits;
    const uint64_t four_byte_lead = w & (w << 1) & (w << 2) & (w << 3) & kHighBits;
    units +=
        sizeof(uint64_t) - count_marked_bytes(continuation) + count_marked_bytes(four_byte_lead);
  }
  for (; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    units += !is_continuation(byte);
    units += byte >= 0xF0;
  }
  return units;
}

Position locate_utf16_index(std::string_view text, size_t text_utf16, size_t index) {
  if (index >= text_utf16) return {text.size(), text_utf16};
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  Position at;
  if (index <= text_utf16 - index) {
    while (at.bytes < text.size()) {
      const size_t units = utf16_units_of_lead(bytes[at.bytes]);
      if (at.utf16 + units > index) break;  // index falls inside this code point
      at.utf16 += units;
      at.bytes += sequence_length_of_lead(bytes[at.bytes]);
    }
    return at;
  }
  at = {text.size(), text_utf16};
  while (at.utf16 > index) {
    do --at.bytes;
    while (at.bytes > 0 && is_continuation(bytes[at.bytes]));
    at.utf16 -= utf16_units_of_lead(bytes[at.bytes]);
  }
  return at;  // at.utf16 < index only when index fell inside a surrogate pair
}

void append_code_point(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

size_t sequence_length(const char* p, size_t available) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(p);
  const size_t common = common_sequence_length(bytes, available);
  if (common != 0) return common;
  size_t invalid_length = 0;
  return valid_sequence_length(bytes, available, &invalid_length);
}

void append_sanitized(std::string& out, std::string_view bytes) {
  while (true) {
    const size_t valid = valid_prefix_length(bytes);
    out.append(bytes.data(), valid);
    if (valid == bytes.size()) return;
    out += kReplacement;
    size_t invalid_length = 0;
    valid_sequence_length(reinterpret_cast<const unsigned char*>(bytes.data()) + valid,
                          bytes.size() - valid, &invalid_length);
    bytes.remove_prefix(valid + invalid_length);
  }
}

}  // namespace zaiproxy::utf8
