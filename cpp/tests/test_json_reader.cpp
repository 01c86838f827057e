// JsonReader and the UTF-8 helpers it decodes strings with.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "json_reader.hpp"
#include "utf8.hpp"

namespace zaiproxy {
namespace {

using Type = JsonReader::Type;

const std::string kFffd = "\xEF\xBF\xBD";

// The string value of `json` decoded, or "<failed>".
std::string decode(std::string_view json) {
  JsonReader reader(json);
  std::string out;
  if (!reader.read_string(out) || !reader.at_end()) return "<failed>";
  return out;
}

bool parses(std::string_view json) {
  JsonReader reader(json);
  return reader.skip_value() && reader.at_end();
}

// ───── structure ─────

TEST(JsonReader, IteratesObjectsAndArrays) {
  JsonReader reader(R"( { "a" : [1, -2, 3] , "b":{"c":true,"d":false,"e":null}, "f":"s" } )");
  ASSERT_TRUE(reader.begin_object());
  std::string_view key;
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(key, "a");
  ASSERT_TRUE(reader.begin_array());
  int64_t sum = 0;
  while (reader.next_element()) {
    int64_t n = 0;
    ASSERT_TRUE(reader.read_int(n));
    sum += n;
  }
  EXPECT_EQ(sum, 2);
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(key, "b");
  ASSERT_TRUE(reader.begin_object());
  bool c = false, d = true;
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(reader.peek(), Type::Bool);
  ASSERT_TRUE(reader.read_bool(c));
  ASSERT_TRUE(reader.next_key(key));
  ASSERT_TRUE(reader.read_bool(d));
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(reader.peek(), Type::Null);
  ASSERT_TRUE(reader.read_null());
  EXPECT_FALSE(reader.next_key(key));
  EXPECT_TRUE(c);
  EXPECT_FALSE(d);
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(key, "f");
  EXPECT_EQ(reader.peek(), Type::String);
  ASSERT_TRUE(reader.skip_value());
  EXPECT_FALSE(reader.next_key(key));
  EXPECT_FALSE(reader.failed());
  EXPECT_TRUE(reader.at_end());
}

TEST(JsonReader, EmptyContainers) {
  JsonReader reader(R"({"a":{},"b":[]})");
  std::string_view key;
  ASSERT_TRUE(reader.begin_object());
  ASSERT_TRUE(reader.next_key(key));
  ASSERT_TRUE(reader.begin_object());
  EXPECT_FALSE(reader.next_key(key));
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(key, "b");
  ASSERT_TRUE(reader.begin_array());
  EXPECT_FALSE(reader.next_element());
  EXPECT_FALSE(reader.next_key(key));
  EXPECT_TRUE(reader.at_end());
}

TEST(JsonReader, EscapedKeysAreDecoded) {
  JsonReader reader(R"({"a\u0062\"c":1})");
  std::string_view key;
  ASSERT_TRUE(reader.begin_object());
  ASSERT_TRUE(reader.next_key(key));
  EXPECT_EQ(key, "ab\"c");
}

TEST(JsonReader, SkipsAnyValue) {
  for (const char* json : {"0", "-0", "1.5e-3", "-12E+2", "true", "false", "null", R"("x\"y")",
                           R"({"a":[{"b":[]},"\u00e9",1e9,null]})", "[[[[]]],{}]"})
    EXPECT_TRUE(parses(json)) << json;
}

TEST(JsonReader, SyntaxErrorsFailCleanly) {
  for (const char* json : {"",
                           "   ",
                           "{",
                           "[",
                           "{\"a\"}",
                           "{\"a\":}",
                           "{\"a\" 1}",
                           "{\"a\":1,}",
                           "[1,]",
                           "[1 2]",
                           "{,}",
                           "{\"a\":1]",
                           "[1}",
                           "\"unterminated",
                           "\"bad \\x escape\"",
                           "\"bad \\u12G4\"",
                           "\"short \\u12\"",
                           "tru",
                           "nul",
                           "-",
                           "1.",
                           "1e",
                           "01",
                           "+1",
                           "{'a':1}",
                           "[1]]",
                           "{\"a\":1} x",
                           "\"a\" \"b\"",
                           "\"\\"})
    EXPECT_FALSE(parses(json)) << json;
}

TEST(JsonReader, StaysFailedAfterAnError) {
  JsonReader reader(R"({"a" 1, "b": 2})");
  std::string_view key;
  ASSERT_TRUE(reader.begin_object());
  EXPECT_FALSE(reader.next_key(key));
  EXPECT_TRUE(reader.failed());
  EXPECT_EQ(reader.error_offset(), 5u);
  EXPECT_FALSE(reader.next_key(key));
  EXPECT_FALSE(reader.skip_value());
  EXPECT_EQ(reader.peek(), Type::Invalid);
  EXPECT_FALSE(reader.at_end());
}

TEST(JsonReader, ReadingTheWrongTypeFails) {
  int64_t n;
  std::string s;
  EXPECT_FALSE(JsonReader("\"1\"").read_int(n));
  EXPECT_FALSE(JsonReader("1").read_string(s));
  EXPECT_FALSE(JsonReader("[]").begin_object());
  EXPECT_FALSE(JsonReader("{}").begin_array());
}

TEST(JsonReader, NestingIsLimited) {
  const std::string ok =
      std::string(JsonReader::kMaxDepth, '[') + std::string(JsonReader::kMaxDepth, ']');
  EXPECT_TRUE(parses(ok));
  const std::string deep =
      std::string(JsonReader::kMaxDepth + 1, '[') + std::string(JsonReader::kMaxDepth + 1, ']');
  EXPECT_FALSE(parses(deep));
  // Far too deep for the stack if the reader recursed without a limit.
  std::string hostile;
  for (int i = 0; i < 1000000; ++i) hostile += "{\"a\":[";
  EXPECT_FALSE(parses(hostile));
}

// ───── numbers ─────

int64_t int_of(std::string_view json) {
  JsonReader reader(json);
  int64_t n = -999;
  EXPECT_TRUE(reader.read_int(n)) << json;
  EXPECT_TRUE(reader.at_end()) << json;
  return n;
}

TEST(JsonReader, Integers) {
  EXPECT_EQ(int_of("0"), 0);
  EXPECT_EQ(int_of("-0"), 0);
  EXPECT_EQ(int_of("42"), 42);
  EXPECT_EQ(int_of("-17"), -17);
  EXPECT_EQ(int_of("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(int_of("-9223372036854775808"), std::numeric_limits<int64_t>::min());
}

TEST(JsonReader, IntegersSaturate) {
  EXPECT_EQ(int_of("9223372036854775808"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(int_of("123456789012345678901234567890"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(int_of("-9223372036854775809"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(int_of("1e300"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(int_of("-1e300"), std::numeric_limits<int64_t>::min());
}

TEST(JsonReader, FractionsAreTruncated) {
  EXPECT_EQ(int_of("32.9"), 32);
  EXPECT_EQ(int_of("-32.9"), -32);
  EXPECT_EQ(int_of("1.5e2"), 150);
  EXPECT_EQ(int_of("25E-1"), 2);
}

// ───── strings ─────

TEST(JsonReader, Escapes) {
  EXPECT_EQ(decode(R"("a\"b\\c\/d\be\ff\ng\rh\ti")"), "a\"b\\c/d\be\ff\ng\rh\ti");
  EXPECT_EQ(decode(R"("\u0041\u00e9\u4F60\u0000z")"), std::string("A\xC3\xA9\xE4\xBD\xA0\0z", 8));
  EXPECT_EQ(decode(R"("")"), "");
}

TEST(JsonReader, RawUtf8IsKept) { EXPECT_EQ(decode("\"你好😀\""), "你好😀"); }

TEST(JsonReader, SurrogatePairsBecomeFourByteUtf8) {
  EXPECT_EQ(decode(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(decode(R"("\uD800\uDC00\uDBFF\uDFFF")"), "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
}

TEST(JsonReader, LoneSurrogatesBecomeReplacement) {
  EXPECT_EQ(decode(R"("\ude00")"), kFffd);
  EXPECT_EQ(decode(R"("a\ud83db")"), "a" + kFffd + "b");
  EXPECT_EQ(decode(R"("\ud83d\n")"), kFffd + "\n");
  EXPECT_EQ(decode(R"("\ud83d\u0041")"), kFffd + "A");
  EXPECT_EQ(decode(R"("\ud83d\ud83d\ude00")"), kFffd + "\xF0\x9F\x98\x80");
  EXPECT_EQ(decode(R"("x\ud83d")"), "x" + kFffd);  // no carry asked for
}

TEST(JsonReader, InvalidUtf8BecomesReplacement) {
  EXPECT_EQ(decode("\"a\x80z\""), "a" + kFffd + "z");                        // stray continuation
  EXPECT_EQ(decode("\"\xC0\xAF\""), kFffd + kFffd);                          // overlong '/'
  EXPECT_EQ(decode("\"\xE0\x80\xAF\""), kFffd + kFffd + kFffd);              // overlong
  EXPECT_EQ(decode("\"\xED\xA0\x80\""), kFffd + kFffd + kFffd);              // UTF-8 surrogate
  EXPECT_EQ(decode("\"\xF4\x90\x80\x80\""), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(decode("\"\xF5\xFF\""), kFffd + kFffd);
  EXPECT_EQ(decode("\"\xE4\xBD\""), kFffd);  // truncated before the quote
  EXPECT_EQ(decode("\"\xE4\xBDx\""), kFffd + "x");
  EXPECT_EQ(decode("\"\xF0\x9F\x98\""), kFffd);
  EXPECT_EQ(decode("\"\xE4\xBD\\n\""), kFffd + "\n");  // truncated before an escape
}

TEST(JsonReader, ControlCharactersAreTolerated) { EXPECT_EQ(decode("\"a\tb\x01\""), "a\tb\x01"); }

TEST(JsonReader, ReadStringAppends) {
  JsonReader reader(R"(["a","b"])");
  std::string out = "x";
  ASSERT_TRUE(reader.begin_array());
  while (reader.next_element()) ASSERT_TRUE(reader.read_string(out));
  EXPECT_EQ(out, "xab");
}

// ───── strings read as views (read_string_view) ─────

struct Viewed {
  std::string text;
  size_t utf16 = 0;
  bool in_place = false;  // the view points into the JSON text, not into the buffer
};

Viewed view(std::string_view json, char16_t* carry = nullptr) {
  JsonReader reader(json);
  std::string buffer = "stale";
  std::string_view out;
  Viewed viewed;
  EXPECT_TRUE(reader.read_string_view(out, buffer, carry, &viewed.utf16)) << json;
  EXPECT_TRUE(reader.at_end()) << json;
  viewed.text = std::string(out);
  viewed.in_place = out.data() >= json.data() && out.data() <= json.data() + json.size();
  return viewed;
}

TEST(JsonReader, PlainStringsAreViewedInPlace) {
  const Viewed ascii = view(R"("Hello, world")");
  EXPECT_EQ(ascii.text, "Hello, world");
  EXPECT_EQ(ascii.utf16, 12u);
  EXPECT_TRUE(ascii.in_place);
  const Viewed mixed = view("\"a你é😀\"");
  EXPECT_EQ(mixed.text, "a你é😀");
  EXPECT_EQ(mixed.utf16, 5u);  // 1 + 1 + 1 + 2
  EXPECT_TRUE(mixed.in_place);
  const Viewed empty = view(R"("")");
  EXPECT_EQ(empty.text, "");
  EXPECT_EQ(empty.utf16, 0u);
}

TEST(JsonReader, StringsThatNeedDecodingAreViewedInTheBuffer) {
  const Viewed escaped = view(R"("a\"b\n\u00e9\ud83d\ude00")");
  EXPECT_EQ(escaped.text, "a\"b\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(escaped.utf16, 7u);
  EXPECT_FALSE(escaped.in_place);
  const Viewed invalid = view(
      "\"a\xFF"
      "b\"");
  EXPECT_EQ(invalid.text, "a" + kFffd + "b");
  EXPECT_EQ(invalid.utf16, 3u);
  EXPECT_FALSE(invalid.in_place);
}

TEST(JsonReader, ACarriedSurrogateIsResolvedInTheBuffer) {
  char16_t carry = 0xD83D;
  const Viewed joined = view(R"("\ude00x")", &carry);
  EXPECT_EQ(joined.text, "\xF0\x9F\x98\x80x");
  EXPECT_EQ(joined.utf16, 3u);
  EXPECT_EQ(carry, 0);
  carry = 0xD83D;
  const Viewed replaced = view(R"("plain")", &carry);  // no escape, yet not viewable in place
  EXPECT_EQ(replaced.text, kFffd + "plain");
  EXPECT_FALSE(replaced.in_place);
  EXPECT_EQ(carry, 0);
  const Viewed plain = view(R"("plain")", &carry);
  EXPECT_TRUE(plain.in_place);
  EXPECT_EQ(carry, 0);
}

// The view and the copy must agree whatever sits where in the 8-byte words of the scan: a quote,
// an escape, a multi-byte character or an invalid byte at every offset of strings up to 3 words.
TEST(JsonReader, ViewAndCopyAgreeAtEveryWordOffset) {
  const std::string specials[] = {"\\\"", "\\n",  "\\u00e9",  "é",        "你",
                                  "😀",    "\xFF", "\xE4\xBD", "\xC0\xAF", "\xED\xA0\x80"};
  for (size_t length = 0; length <= 24; ++length) {
    for (size_t at = 0; at <= length; ++at) {
      for (const std::string& special : specials) {
        // Also with text after the closing quote, and without: the scan's tail differs.
        for (const char* after : {"", "                "}) {
          const std::string json =
              "\"" + std::string(at, 'a') + special + std::string(length - at, 'b') + "\"" + after;
          std::string copied;
          JsonReader copying(json);
          ASSERT_TRUE(copying.read_string(copied)) << json;
          const Viewed viewed = view(json);
          EXPECT_EQ(viewed.text, copied) << json;
          EXPECT_EQ(viewed.utf16, utf8::utf16_length(copied)) << json;
        }
      }
    }
  }
}

TEST(JsonReader, KeysWithAndWithoutEscapes) {
  JsonReader reader("{\"plain\":1,\"es\\u0063aped\":2,\"ключ\":3,\"bad\xFF\":4}");
  std::string_view key;
  ASSERT_TRUE(reader.begin_object());
  std::vector<std::string> keys;
  while (reader.next_key(key)) {
    keys.emplace_back(key);
    ASSERT_TRUE(reader.skip_value());
  }
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(keys, (std::vector<std::string>{"plain", "escaped", "ключ", "bad" + kFffd}));
}

// ───── surrogates carried between strings (toolcall-and-think.md §C.3 rule 2) ─────

std::string decode_carried(std::string_view json, char16_t& carry) {
  JsonReader reader(json);
  std::string out;
  EXPECT_TRUE(reader.read_string(out, &carry)) << json;
  return out;
}

TEST(JsonReader, TrailingHighSurrogateIsCarried) {
  char16_t carry = 0;
  EXPECT_EQ(decode_carried(R"("ab\ud83d")", carry), "ab");
  EXPECT_EQ(carry, 0xD83D);
  EXPECT_EQ(decode_carried(R"("\ude00c")", carry),
            "\xF0\x9F\x98\x80"
            "c");
  EXPECT_EQ(carry, 0);
}

TEST(JsonReader, CarriedSurrogateNotFollowedByALowOneIsReplaced) {
  char16_t carry = 0xD83D;
  EXPECT_EQ(decode_carried(R"("c")", carry), kFffd + "c");
  EXPECT_EQ(carry, 0);
  carry = 0xD83D;
  EXPECT_EQ(decode_carried(R"("\u0041")", carry), kFffd + "A");
  carry = 0xD83D;
  EXPECT_EQ(decode_carried(R"("")", carry), kFffd);
  EXPECT_EQ(carry, 0);
  carry = 0xD83D;
  EXPECT_EQ(decode_carried(R"("\ud83d")", carry), kFffd);  // replaced; the new one waits
  EXPECT_EQ(carry, 0xD83D);
}

TEST(JsonReader, OnlyATrailingHighSurrogateIsCarried) {
  char16_t carry = 0;
  EXPECT_EQ(decode_carried(R"("\ud83dx")", carry), kFffd + "x");
  EXPECT_EQ(carry, 0);
  EXPECT_EQ(decode_carried(R"("x\ude00")", carry), "x" + kFffd);
  EXPECT_EQ(carry, 0);
}

// ───── utf8 helpers ─────

TEST(Utf8, Utf16Length) {
  EXPECT_EQ(utf8::utf16_length(""), 0u);
  EXPECT_EQ(utf8::utf16_length("abc"), 3u);
  EXPECT_EQ(utf8::utf16_length("é你"), 2u);
  EXPECT_EQ(utf8::utf16_length("😀"), 2u);
  EXPECT_EQ(utf8::utf16_length("a😀你"), 4u);
}

TEST(Utf8, LocateUtf16Index) {
  const std::string text = "a😀你b";  // bytes: a=0, 😀=1..4, 你=5..7, b=8; units: 0, 1-2, 3, 4
  const auto at = [&](size_t index) { return utf8::locate_utf16_index(text, 5, index); };
  EXPECT_EQ(at(0).bytes, 0u);
  EXPECT_EQ(at(1).bytes, 1u);
  EXPECT_EQ(at(2).bytes, 1u);  // inside the pair: back to its start
  EXPECT_EQ(at(2).utf16, 1u);
  EXPECT_EQ(at(3).bytes, 5u);
  EXPECT_EQ(at(3).utf16, 3u);
  EXPECT_EQ(at(4).bytes, 8u);
  EXPECT_EQ(at(5).bytes, 9u);
  EXPECT_EQ(at(99).bytes, 9u);
  EXPECT_EQ(at(99).utf16, 5u);
}

TEST(Utf8, LocateWalksFromBothEndsAlike) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "x😀é";  // 4 units, 7 bytes each
  for (size_t index = 0; index <= 200; ++index) {
    const utf8::Position at = utf8::locate_utf16_index(text, 200, index);
    const size_t group = index / 4, within = index % 4;
    const size_t bytes[] = {0, 1, 1, 5};  // within a group: x, 😀 (twice: the pair), é
    const size_t units[] = {0, 1, 1, 3};
    EXPECT_EQ(at.bytes, group * 7 + bytes[within]) << index;
    EXPECT_EQ(at.utf16, group * 4 + units[within]) << index;
  }
}

TEST(Utf8, AppendCodePoint) {
  std::string out;
  for (char32_t cp : {U'A', U'\u00E9', U'\u4F60', U'\U0001F600', U'\U0010FFFF'})
    utf8::append_code_point(out, cp);
  EXPECT_EQ(out, "A\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");
}

TEST(Utf8, AppendSanitized) {
  std::string out = ">";
  utf8::append_sanitized(out, "ok 你好 \xFF end \xE4");
  EXPECT_EQ(out, ">ok 你好 " + kFffd + " end " + kFffd);
}

// ASCII is skipped 8 bytes at a time: an invalid byte or a character right at, before or after
// the edge of a word must be found all the same.
TEST(Utf8, AppendSanitizedAtEveryWordOffset) {
  for (size_t at = 0; at <= 20; ++at) {
    const std::string head(at, 'a'), tail(20 - at, 'z');
    std::string out;
    utf8::append_sanitized(out, head + "\xFF" + tail);
    EXPECT_EQ(out, head + kFffd + tail) << at;
    out.clear();
    utf8::append_sanitized(out, head + "\xE4\xBD" + tail);  // truncated
    EXPECT_EQ(out, head + kFffd + tail) << at;
    out.clear();
    utf8::append_sanitized(out, head + "你😀" + tail);
    EXPECT_EQ(out, head + "你😀" + tail) << at;
  }
}

TEST(Utf8, SequenceLength) {
  EXPECT_EQ(utf8::sequence_length("\xC3\xA9", 2), 2u);
  EXPECT_EQ(utf8::sequence_length("\xE4\xBD\xA0", 3), 3u);
  EXPECT_EQ(utf8::sequence_length("\xF0\x9F\x98\x80", 4), 4u);
  EXPECT_EQ(utf8::sequence_length("\xF0\x9F\x98\x80", 3), 0u);  // cut short
  EXPECT_EQ(utf8::sequence_length("\xE4\xBD\"", 3), 0u);
  EXPECT_EQ(utf8::sequence_length("\x80", 1), 0u);
  EXPECT_EQ(utf8::sequence_length("\xC0\xAF", 2), 0u);      // overlong
  EXPECT_EQ(utf8::sequence_length("\xED\xA0\x80", 3), 0u);  // surrogate
  EXPECT_EQ(utf8::utf16_units(3), 1u);
  EXPECT_EQ(utf8::utf16_units(4), 2u);
}

}  // namespace
}  // namespace zaiproxy
