#include "utf8.hpp"

namespace zaiproxy::utf8 {
namespace {

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

}  // namespace

size_t utf16_length(std::string_view text) {
  size_t units = 0;
  for (unsigned char byte : text) {
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

void append_sanitized(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  size_t valid_from = 0;  // start of the run of valid bytes not yet copied
  size_t i = 0;
  while (i < size) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t invalid_length = 0;
    const size_t length = valid_sequence_length(p + i, size - i, &invalid_length);
    if (length != 0) {
      i += length;
      continue;
    }
    out.append(bytes.data() + valid_from, i - valid_from);
    out += kReplacement;
    i += invalid_length;
    valid_from = i;
  }
  out.append(bytes.data() + valid_from, size - valid_from);
}

}  // namespace zaiproxy::utf8
