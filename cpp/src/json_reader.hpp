// A small pull reader for JSON text (internal): no DOM, no exceptions, no allocation beyond the
// caller's reusable buffers. Made for reading one upstream event at a time.
//
// Usage:
//   JsonReader reader(text);
//   std::string_view key;
//   if (reader.begin_object())
//     while (reader.next_key(key))
//       if (key == "n") reader.read_int(n); else reader.skip_value();
//   if (reader.failed() || !reader.at_end()) …
//
// Every method returns false on a syntax error and the reader then stays failed: all further calls
// return false, so a caller may check failed() once at the end. Nesting deeper than kMaxDepth is
// an error, so hostile input cannot exhaust the stack. Strings are decoded leniently: invalid
// UTF-8 bytes and lone surrogates become U+FFFD (toolcall-and-think.md §C.3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zaiproxy {

class JsonReader {
 public:
  static constexpr int kMaxDepth = 64;

  enum class Type : uint8_t { Object, Array, String, Number, Bool, Null, Invalid };

  explicit JsonReader(std::string_view text) : text_(text) {}

  // Type of the next value, judged by its first byte (Invalid at the end or on a bad byte).
  Type peek() {
    if (failed_) return Type::Invalid;
    skip_whitespace();
    if (pos_ >= text_.size()) return Type::Invalid;
    switch (text_[pos_]) {
      case '{':
        return Type::Object;
      case '[':
        return Type::Array;
      case '"':
        return Type::String;
      case 't':
      case 'f':
        return Type::Bool;
      case 'n':
        return Type::Null;
      default:
        return text_[pos_] == '-' || is_digit(text_[pos_]) ? Type::Number : Type::Invalid;
    }
  }

  // Objects: begin_object(), then next_key() until it returns false; read or skip every value.
  bool begin_object();
  // Reads the next key. Returns false at the closing brace (consumed) or on an error. The view is
  // valid until the next call on this reader.
  bool next_key(std::string_view& key);

  // Arrays: begin_array(), then next_element() until it returns false; read or skip every value.
  bool begin_array();
  bool next_element();

  // Appends the decoded string to `out`. `carried_high_surrogate`, when given, connects strings
  // that an upstream may split inside a surrogate pair: on entry it holds a high surrogate left
  // over from the previous string (0 if none), which is combined with a low-surrogate escape at
  // the start of this string or else written as U+FFFD; on return it holds the high surrogate that
  // ended this string unpaired (0 if none), instead of writing U+FFFD for it.
  bool read_string(std::string& out, char16_t* carried_high_surrogate = nullptr);
  // Reads a string like read_string, without copying it when no copy is needed: when it has no
  // escape, its bytes are valid UTF-8 and no carried surrogate waits, `out` views it in the JSON
  // text; otherwise it is decoded into `buffer` (replacing what was there) and `out` views that.
  // `utf16_length`, when given, receives the length of `out` in UTF-16 code units.
  bool read_string_view(std::string_view& out, std::string& buffer,
                        char16_t* carried_high_surrogate = nullptr, size_t* utf16_length = nullptr);
  // Numbers are read as integers: a fraction is truncated toward zero and values beyond the int64
  // range saturate at its limits.
  bool read_int(int64_t& out);
  bool read_bool(bool& out);
  bool read_null();
  bool skip_value();

  // Only whitespace is left (call after the top-level value).
  bool at_end();
  bool failed() const { return failed_; }
  // Byte offset of the first syntax error (meaningful when failed()).
  size_t error_offset() const { return error_offset_; }

 private:
  bool fail();
  void skip_whitespace() {
    while (pos_ < text_.size() && is_whitespace(text_[pos_])) ++pos_;
  }
  static bool is_whitespace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  bool consume(char expected) {
    if (pos_ < text_.size() && text_[pos_] == expected) {
      ++pos_;
      return true;
    }
    return fail();
  }
  bool consume_literal(std::string_view literal);
  bool enter();
  bool skip_string();
  bool view_plain_string(std::string_view& raw, size_t& utf16_length) const;
  bool scan_number(std::string_view& number, bool& integral);
  bool read_hex4(char16_t& unit);
  bool decode_escape(std::string& out, char16_t& high_surrogate);

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool just_opened_ = false;  // no member or element read yet in the innermost container
  bool failed_ = false;
  size_t error_offset_ = 0;
  std::string key_buffer_;  // a key that needed unescaping
};

}  // namespace zaiproxy
