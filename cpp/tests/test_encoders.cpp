// L4: the JSON writer, the OpenAI and Anthropic stream encoders and the Aggregator
// (toolcall-and-think.md A4.3, A4.4, C.3 rule 6, C.5).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <ctime>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "json_writer.hpp"
#include "output_oracle.hpp"
#include "zaiproxy/aggregator.hpp"
#include "zaiproxy/anthropic_encoder.hpp"
#include "zaiproxy/encoder.hpp"
#include "zaiproxy/openai_encoder.hpp"

namespace zaiproxy {
namespace {

// `prefix` followed by exactly 24 base62 characters.
bool is_random_id(const std::string& id, const std::string& prefix) {
  if (id.size() != prefix.size() + 24 || id.compare(0, prefix.size(), prefix) != 0) return false;
  for (size_t i = prefix.size(); i < id.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(id[i]))) return false;
  return true;
}

using Kind = ResponseEvent::Kind;

// ───── event builders ─────

ResponseEvent event_of(Kind kind, std::string_view text = {}) {
  ResponseEvent event;
  event.kind = kind;
  event.text = text;
  return event;
}

ResponseEvent reasoning(std::string_view text) { return event_of(Kind::Reasoning, text); }
ResponseEvent text(std::string_view text) { return event_of(Kind::Text, text); }

ResponseEvent usage(int64_t prompt, int64_t completion, int64_t total) {
  ResponseEvent event = event_of(Kind::Usage);
  event.usage = {prompt, completion, total};
  return event;
}

ResponseEvent finish(FinishReason reason = FinishReason::Stop) {
  ResponseEvent event = event_of(Kind::Finish);
  event.finish = reason;
  return event;
}

ResponseEvent error(const StreamError& stream_error) {
  ResponseEvent event = event_of(Kind::Error);
  event.error = &stream_error;
  return event;
}

ResponseEvent tool_event(Kind kind, std::string_view name, std::string_view arguments) {
  ResponseEvent event = event_of(kind);
  event.tool_name = name;
  event.tool_arguments = arguments;
  return event;
}

ResponseEvent tool_call(std::string_view name, std::string_view arguments) {
  return tool_event(Kind::ToolCall, name, arguments);
}

ResponseEvent upstream_tool(std::string_view name, std::string_view arguments) {
  return tool_event(Kind::UpstreamTool, name, arguments);
}

StreamError upstream_426() {
  StreamError e;
  e.code = "426";
  e.code_is_number = true;
  e.message = "Upstream error: 426";
  return e;
}

ResponseInfo openai_info(bool include_usage = true) {
  ResponseInfo info;
  info.id = "chatcmpl-test";
  info.created = 1700000000;
  info.model = "glm-4.6";
  info.include_usage = include_usage;
  return info;
}

ResponseInfo anthropic_info() {
  ResponseInfo info;
  info.id = "msg_test";
  info.created = 1700000000;
  info.model = "glm-4.6";
  info.input_tokens = 9;
  return info;
}

// Feeds every event, then calls finish().
std::string encode(ResponseEncoder& encoder, const std::vector<ResponseEvent>& events) {
  std::string out;
  for (const ResponseEvent& event : events) encoder.feed(event, out);
  encoder.finish(out);
  return out;
}

std::string openai_sse(const std::vector<ResponseEvent>& events,
                       ResponseInfo info = openai_info()) {
  OpenAiEncoder encoder(std::move(info));
  return encode(encoder, events);
}

std::string anthropic_sse(const std::vector<ResponseEvent>& events,
                          ResponseInfo info = anthropic_info()) {
  AnthropicEncoder encoder(std::move(info));
  return encode(encoder, events);
}

std::string aggregate(Dialect dialect, const std::vector<ResponseEvent>& events,
                      ResponseInfo info) {
  Aggregator aggregator(std::move(info), dialect);
  return encode(aggregator, events);
}

// `out` with each generated id, `"PREFIX` and 24 base62 characters, replaced by `"PREFIX` and
// its number in order of first appearance (1, 2, …): the ids are random, so expected bytes name
// them by position, and one id written twice keeps its number.
std::string with_numbered_ids(std::string_view out, std::string_view prefix) {
  const std::string opening = '"' + std::string(prefix);
  std::map<std::string, size_t> numbers;
  std::string result;
  size_t copied = 0;
  for (size_t at = out.find(opening); at != std::string_view::npos;
       at = out.find(opening, at + 1)) {
    const std::string candidate(out.substr(at + 1, prefix.size() + 24));
    if (!is_random_id(candidate, std::string(prefix))) continue;
    const size_t number = numbers.emplace(candidate, numbers.size() + 1).first->second;
    result.append(out, copied, at + 1 - copied);
    result += std::string(prefix) + std::to_string(number);
    copied = at + 1 + candidate.size();
  }
  result.append(out, copied);
  return result;
}

std::string json_string(std::string_view text) {
  std::string out;
  json::append_string(out, text);
  return out;
}

// ───── JSON writer ─────

TEST(JsonWriter, EscapesQuoteBackslashAndControlCharacters) {
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("plain text"), R"("plain text")");
  EXPECT_EQ(json_string("say \"hi\" \\o/"), R"("say \"hi\" \\o/")");
  EXPECT_EQ(json_string("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(json_string(std::string_view("\x00\x01\x1b\x1f", 4)), R"("\u0000\u0001\u001b\u001f")");
  EXPECT_EQ(json_string("\"\\"), R"("\"\\")");     // escapes at both ends of the input
  EXPECT_EQ(json_string("/ \x7f"), "\"/ \x7f\"");  // neither '/' nor DEL needs escaping
}

TEST(JsonWriter, CopiesUtf8Unchanged) {
  EXPECT_EQ(json_string("你好，世界"), "\"你好，世界\"");
  EXPECT_EQ(json_string("😀 é\u3000"), "\"😀 é\u3000\"");
  EXPECT_EQ(json_string("行1\n行2"), "\"行1\\n行2\"");
}

TEST(JsonWriter, RoundTripsEveryByteBelow0x80ThroughAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  all += "中😀";
  EXPECT_EQ(nlohmann::json::parse(json_string(all)).get<std::string>(), all);
}

// The escaper as C.3 rule 6 states it, one byte at a time: the reference for the writer, which
// scans eight bytes at a time.
std::string reference_json_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      const std::string_view named = c == '\n'   ? "\\n"
                                     : c == '\r' ? "\\r"
                                     : c == '\t' ? "\\t"
                                     : c == '\b' ? "\\b"
                                     : c == '\f' ? "\\f"
                                                 : "";
      out += named.empty() ? std::string{'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 0xf]}
                           : std::string(named);
    } else {
      out += c;
    }
  }
  return out + '"';
}

// Bytes next to the limits of what needs escaping (0x1f/0x20, '"', '\\'), and high bytes.
constexpr std::string_view kTrickyBytes("\x00\x01\x1f !\"#[\\]a\x7f\x80\xc3\xff", 15);

TEST(JsonWriter, EscapesAtEveryOffsetOfAWord) {
  // Every tricky byte at every offset of texts up to three words long, among each filler: this
  // covers bytes at both ends of a word and of the text, and the tail shorter than a word.
  for (char filler : kTrickyBytes) {
    for (char special : kTrickyBytes) {
      for (size_t length = 1; length <= 24; ++length) {
        for (size_t at = 0; at < length; ++at) {
          std::string text(length, filler);
          text[at] = special;
          ASSERT_EQ(json_string(text), reference_json_string(text))
              << "filler " << int(filler) << ", byte " << int(special) << " at " << at << " of "
              << length;
        }
      }
    }
  }
}

TEST(JsonWriter, MatchesTheReferenceOnRandomTexts) {
  std::mt19937 random(7);
  std::uniform_int_distribution<size_t> pick(0, kTrickyBytes.size() - 1);
  std::uniform_int_distribution<size_t> length_of(0, 70);
  for (int round = 0; round < 5000; ++round) {
    std::string text(length_of(random), ' ');
    for (char& c : text) c = kTrickyBytes[pick(random)];
    ASSERT_EQ(json_string(text), reference_json_string(text)) << round;
  }
}

TEST(JsonWriter, EscapesLongTexts) {
  std::string plain;
  while (plain.size() < (1u << 20)) plain += "长文本 long text, no escapes. ";
  EXPECT_EQ(json_string(plain), '"' + plain + '"');
  std::string mixed;
  while (mixed.size() < (1u << 20)) mixed += "line \"quoted\"\t\\ and 中文\n\x01";
  EXPECT_EQ(json_string(mixed), reference_json_string(mixed));
}

TEST(JsonWriter, AppendsIntegers) {
  std::string out;
  json::append_int(out, 0);
  out += ' ';
  json::append_int(out, -42);
  out += ' ';
  json::append_int(out, std::numeric_limits<int64_t>::max());
  out += ' ';
  json::append_int(out, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(out, "0 -42 9223372036854775807 -9223372036854775808");
}

TEST(JsonWriter, RecognisesIntegerLiterals) {
  for (std::string_view yes : {"0", "426", "-1", "1234567890"})
    EXPECT_TRUE(json::is_integer_literal(yes)) << yes;
  for (std::string_view no : {"", "-", "01", "4.2", "1e3", "42 ", "NaN", "CAPTCHA"})
    EXPECT_FALSE(json::is_integer_literal(no)) << no;
}

// ───── OpenAI stream ─────

constexpr std::string_view kChunkHead =
    R"(data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"glm-4.6",)";

std::string chunk(std::string_view choice) {
  return std::string(kChunkHead) + R"("choices":[{"index":0,)" + std::string(choice) + "}]}\n\n";
}

const std::string kRoleChunk =
    chunk(R"("delta":{"role":"assistant","content":""},"finish_reason":null)");
const std::string kDone = "data: [DONE]\n\n";

TEST(OpenAiEncoder, WritesAFullStreamExactly) {
  const std::string out = openai_sse(
      {reasoning("Let me think"), text("Hello"), text(", \"world\""), usage(10, 5, 15), finish()});
  const std::string expected =
      std::string(kChunkHead) +
      R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})"
      "\n\n" +
      std::string(kChunkHead) +
      R"("choices":[{"index":0,"delta":{"reasoning_content":"Let me think"},"finish_reason":null}]})"
      "\n\n" +
      std::string(kChunkHead) +
      R"("choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]})"
      "\n\n" +
      std::string(kChunkHead) +
      R"("choices":[{"index":0,"delta":{"content":", \"world\""},"finish_reason":null}]})"
      "\n\n" +
      std::string(kChunkHead) +
      R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
      "\n\n" +
      std::string(kChunkHead) +
      R"("choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}})"
      "\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(out, expected);
  const auto stream = testing::parse_openai_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
}

TEST(OpenAiEncoder, WritesAnUpstreamErrorExactlyWithoutARoleChunk) {
  const StreamError e = upstream_426();
  EXPECT_EQ(openai_sse({error(e)}),
            "data: {\"error\":{\"message\":\"Upstream error: 426\",\"type\":\"upstream_error\","
            "\"code\":426}}\n\ndata: [DONE]\n\n");
}

TEST(OpenAiEncoder, WritesErrorCodesAsNumberStringOrNull) {
  StreamError e;
  e.origin = StreamError::Origin::Protocol;
  e.message = "bad \"json\"";
  auto error_frame = [&] { return openai_sse({error(e)}); };
  EXPECT_EQ(error_frame(),
            "data: {\"error\":{\"message\":\"bad \\\"json\\\"\",\"type\":"
            "\"invalid_upstream_response\",\"code\":null}}\n\n" +
                kDone);
  e.code = "FRONTEND_CAPTCHA_REQUIRED";
  EXPECT_NE(error_frame().find(R"("code":"FRONTEND_CAPTCHA_REQUIRED")"), std::string::npos);
  e.code = "x1";
  e.code_is_number = true;  // not a number after all: stays valid JSON as a string
  EXPECT_NE(error_frame().find(R"("code":"x1")"), std::string::npos);
}

TEST(OpenAiEncoder, ErrorAfterTextEndsTheStream) {
  const StreamError e = upstream_426();
  OpenAiEncoder encoder(openai_info());
  std::string out;
  encoder.feed(text("Hi"), out);
  encoder.feed(error(e), out);
  const size_t size_at_end = out.size();
  encoder.feed(text("more"), out);
  encoder.feed(finish(), out);
  encoder.finish(out);
  EXPECT_EQ(out.size(), size_at_end);
  EXPECT_EQ(out, kRoleChunk + chunk(R"("delta":{"content":"Hi"},"finish_reason":null)") +
                     "data: {\"error\":{\"message\":\"Upstream error: 426\",\"type\":"
                     "\"upstream_error\",\"code\":426}}\n\n" +
                     kDone);
  const auto stream = testing::parse_openai_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.error->at("code"), 426);
}

TEST(OpenAiEncoder, UsageChunkOnlyWithIncludeUsage) {
  const std::string without = openai_sse({text("a"), usage(3, 4, 7), finish()}, openai_info(false));
  EXPECT_EQ(without.find("usage"), std::string::npos);
  EXPECT_EQ(without, kRoleChunk + chunk(R"("delta":{"content":"a"},"finish_reason":null)") +
                         chunk(R"("delta":{},"finish_reason":"stop")") + kDone);

  const auto with = testing::parse_openai_sse(openai_sse({text("a"), finish()}));
  EXPECT_TRUE(with.problems.empty()) << testing::describe(with.problems);
  EXPECT_EQ(*with.usage,
            nlohmann::json::parse(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})"));
}

TEST(OpenAiEncoder, ReportsTheLatestUsageAndCompletesTheTotal) {
  auto reported = [](std::vector<ResponseEvent> events) {
    return *testing::parse_openai_sse(openai_sse(events)).usage;
  };
  EXPECT_EQ(
      reported({usage(1, 1, 2), usage(10, 20, 30), usage(0, 0, 0)}),
      nlohmann::json::parse(R"({"prompt_tokens":10,"completion_tokens":20,"total_tokens":30})"));
  EXPECT_EQ(
      reported({usage(10, 20, 0)}),
      nlohmann::json::parse(R"({"prompt_tokens":10,"completion_tokens":20,"total_tokens":30})"));
}

TEST(OpenAiEncoder, NamesEveryFinishReason) {
  const std::pair<FinishReason, std::string> cases[] = {
      {FinishReason::Stop, "stop"},
      {FinishReason::Length, "length"},
      {FinishReason::ToolCalls, "tool_calls"},
      {FinishReason::ContentFilter, "content_filter"}};
  for (const auto& [reason, name] : cases) {
    const std::string out = openai_sse({text("x"), finish(reason)}, openai_info(false));
    EXPECT_NE(out.find(chunk(R"("delta":{},"finish_reason":")" + name + "\"")), std::string::npos)
        << name;
  }
}

TEST(OpenAiEncoder, NeverSendsEmptyText) {
  OpenAiEncoder encoder(openai_info());
  std::string out;
  encoder.feed(text(""), out);
  encoder.feed(reasoning(""), out);
  EXPECT_EQ(out, "");  // not even the role chunk yet
  encoder.feed(text("a"), out);
  encoder.feed(text(""), out);
  EXPECT_EQ(out, kRoleChunk + chunk(R"("delta":{"content":"a"},"finish_reason":null)"));
}

TEST(OpenAiEncoder, FinishWithoutFinishEventIsAnIdempotentStop) {
  OpenAiEncoder encoder(openai_info(false));
  std::string out;
  encoder.finish(out);
  EXPECT_EQ(out, kRoleChunk + chunk(R"("delta":{},"finish_reason":"stop")") + kDone);
  const std::string first = out;
  encoder.finish(out);
  encoder.feed(text("late"), out);
  EXPECT_EQ(out, first);
}

TEST(OpenAiEncoder, NothingAfterTheFinishEvent) {
  OpenAiEncoder encoder(openai_info(false));
  std::string out;
  encoder.feed(finish(FinishReason::Length), out);
  const std::string at_end = out;
  encoder.feed(text("late"), out);
  encoder.feed(usage(1, 2, 3), out);
  encoder.feed(finish(), out);
  encoder.finish(out);
  EXPECT_EQ(out, at_end);
  EXPECT_EQ(out, kRoleChunk + chunk(R"("delta":{},"finish_reason":"length")") + kDone);
}

TEST(OpenAiEncoder, EscapesTextInDeltas) {
  const std::string tricky = "\"q\" \\ \n\t\x01 中文 😀";
  const std::string out = openai_sse({reasoning(tricky), text(tricky), finish()});
  EXPECT_NE(out.find(R"({"content":"\"q\" \\ \n\t\u0001 中文 😀"})"), std::string::npos);
  const auto stream = testing::parse_openai_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.content, tricky);
  EXPECT_EQ(stream.reasoning, tricky);
}

TEST(OpenAiEncoder, GeneratesOneIdAndCreatedForAllChunks) {
  ResponseInfo info;
  info.model = "GLM-5";
  info.include_usage = true;
  const int64_t before = std::time(nullptr);
  OpenAiEncoder encoder(info);
  EXPECT_TRUE(is_random_id(encoder.info().id, "chatcmpl-")) << encoder.info().id;
  EXPECT_GE(encoder.info().created, before);
  EXPECT_LE(encoder.info().created, std::time(nullptr));
  const auto stream = testing::parse_openai_sse(encode(encoder, {text("a"), text("b"), finish()}));
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_TRUE(stream.ids_equal);
  EXPECT_EQ(stream.chunks.size(), 5u);
  for (const auto& c : stream.chunks) {
    EXPECT_EQ(c["id"], encoder.info().id);
    EXPECT_EQ(c["created"], encoder.info().created);
    EXPECT_EQ(c["model"], "GLM-5");
  }
}

TEST(OpenAiEncoder, WritesTextAndTwoToolCallsExactly) {
  const std::string out =
      openai_sse({text("Checking."), tool_call("get_weather", R"({"city":"Paris"})"),
                  tool_call("get_time", R"({"tz":"Europe/Paris","h24":true})"), usage(10, 5, 15),
                  finish(FinishReason::ToolCalls)});
  const std::string expected =
      kRoleChunk + chunk(R"("delta":{"content":"Checking."},"finish_reason":null)") +
      chunk(R"("delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",)"
            R"("function":{"name":"get_weather","arguments":""}}]},"finish_reason":null)") +
      chunk(R"("delta":{"tool_calls":[{"index":0,)"
            R"("function":{"arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":null)") +
      chunk(R"("delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function",)"
            R"("function":{"name":"get_time","arguments":""}}]},"finish_reason":null)") +
      chunk(R"("delta":{"tool_calls":[{"index":1,"function":)"
            R"({"arguments":"{\"tz\":\"Europe/Paris\",\"h24\":true}"}}]},"finish_reason":null)") +
      chunk(R"("delta":{},"finish_reason":"tool_calls")") + std::string(kChunkHead) +
      R"("choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}})"
      "\n\n" +
      kDone;
  EXPECT_EQ(with_numbered_ids(out, "call_"), expected);
  const auto stream = testing::parse_openai_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  ASSERT_EQ(stream.tool_calls.size(), 2u);
  EXPECT_EQ(stream.tool_calls[1].arguments, R"({"tz":"Europe/Paris","h24":true})");
}

TEST(OpenAiEncoder, ToolCallFirstIsPrecededByTheRoleChunkAndTextAfterItIsKept) {
  const std::string out = openai_sse({tool_call("f", "{}"), text("after")}, openai_info(false));
  EXPECT_EQ(with_numbered_ids(out, "call_"),
            kRoleChunk +
                chunk(R"("delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",)"
                      R"("function":{"name":"f","arguments":""}}]},"finish_reason":null)") +
                chunk(R"("delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},)"
                      R"("finish_reason":null)") +
                chunk(R"("delta":{"content":"after"},"finish_reason":null)") +
                chunk(R"("delta":{},"finish_reason":"stop")") + kDone);
}

TEST(OpenAiEncoder, WritesCjkArgumentsUnescaped) {
  const std::string out = openai_sse({tool_call("搜索", R"({"q":"你好，世界 😀","note":"a\"b"})")});
  EXPECT_NE(out.find(R"("function":{"arguments":"{\"q\":\"你好，世界 😀\",)"
                     R"(\"note\":\"a\\\"b\"}"})"),
            std::string::npos)
      << out;
  const auto stream = testing::parse_openai_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.tool_calls.at(0).name, "搜索");
  EXPECT_EQ(stream.tool_calls.at(0).arguments, R"({"q":"你好，世界 😀","note":"a\"b"})");
}

// ───── Anthropic stream ─────

TEST(AnthropicEncoder, WritesAFullStreamExactly) {
  const std::string out =
      anthropic_sse({reasoning("Hmm"), text("Hi"), text("!"), usage(12, 7, 19), finish()});
  const std::string expected = R"sse(event: message_start
data: {"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"glm-4.6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":0}}}

event: ping
data: {"type":"ping"}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":12,"output_tokens":7}}

event: message_stop
data: {"type":"message_stop"}

)sse";
  EXPECT_EQ(out, expected);
  const auto stream = testing::parse_anthropic_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
}

TEST(AnthropicEncoder, StreamsTextLiveOneDeltaPerEvent) {
  AnthropicEncoder encoder(anthropic_info());
  std::string out;
  encoder.feed(text("Hel"), out);
  EXPECT_NE(out.find(R"("delta":{"type":"text_delta","text":"Hel"})"), std::string::npos);
  out.clear();
  encoder.feed(text("lo"), out);
  EXPECT_EQ(out,
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n");
}

TEST(AnthropicEncoder, WritesOnlyTheErrorEventWhenNothingWasSent) {
  const StreamError e = upstream_426();
  EXPECT_EQ(anthropic_sse({error(e)}),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
            "\"message\":\"Upstream error: 426\"}}\n\n");
}

TEST(AnthropicEncoder, ErrorAfterTextEndsTheStream) {
  const StreamError e = upstream_426();
  const std::string out = anthropic_sse({text("Hi"), error(e), text("late"), finish()});
  const auto stream = testing::parse_anthropic_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.events, (std::vector<std::string>{"message_start", "ping", "content_block_start",
                                                     "content_block_delta", "error"}));
  EXPECT_EQ(stream.text, "Hi");
  EXPECT_EQ(stream.error->at("message"), "Upstream error: 426");
}

TEST(AnthropicEncoder, ReasoningAfterTextOpensANewBlock) {
  const auto stream = testing::parse_anthropic_sse(
      anthropic_sse({reasoning("a"), reasoning("b"), text("c"), reasoning("d"), text("e")}));
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_TRUE(stream.blocks_well_formed);
  EXPECT_EQ(stream.block_types, (std::vector<std::string>{"thinking", "text", "thinking", "text"}));
  EXPECT_EQ(stream.thinking, "abd");
  EXPECT_EQ(stream.text, "ce");
}

TEST(AnthropicEncoder, MapsFinishReasonsToStopReasons) {
  const std::pair<FinishReason, std::string> cases[] = {{FinishReason::Stop, "end_turn"},
                                                        {FinishReason::Length, "max_tokens"},
                                                        {FinishReason::ToolCalls, "tool_use"},
                                                        {FinishReason::ContentFilter, "refusal"}};
  for (const auto& [reason, name] : cases)
    EXPECT_EQ(testing::parse_anthropic_sse(anthropic_sse({text("x"), finish(reason)})).stop_reason,
              name);
}

TEST(AnthropicEncoder, EmptyResponseHasOneEmptyTextBlockAndTheInputEstimate) {
  AnthropicEncoder encoder(anthropic_info());
  std::string out;
  encoder.feed(text(""), out);
  EXPECT_EQ(out, "");
  encoder.finish(out);
  const auto stream = testing::parse_anthropic_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.events,
            (std::vector<std::string>{"message_start", "ping", "content_block_start",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(stream.block_types, std::vector<std::string>{"text"});
  EXPECT_EQ(stream.stop_reason, "end_turn");
  EXPECT_EQ(*stream.usage, nlohmann::json::parse(R"({"input_tokens":9,"output_tokens":0})"));
}

TEST(AnthropicEncoder, FinishIsIdempotentAndNothingFollowsTheEnd) {
  AnthropicEncoder encoder(anthropic_info());
  std::string out;
  encoder.feed(text("a"), out);
  encoder.feed(finish(FinishReason::Length), out);
  const std::string at_end = out;
  encoder.feed(text("late"), out);
  encoder.feed(finish(), out);
  encoder.finish(out);
  encoder.finish(out);
  EXPECT_EQ(out, at_end);
  EXPECT_EQ(testing::parse_anthropic_sse(out).stop_reason, "max_tokens");
}

TEST(AnthropicEncoder, GeneratesAMessageId) {
  ResponseInfo info;
  AnthropicEncoder encoder(info);
  EXPECT_TRUE(is_random_id(encoder.info().id, "msg_")) << encoder.info().id;
  const auto stream = testing::parse_anthropic_sse(encode(encoder, {text("a")}));
  EXPECT_EQ(stream.data.front()["message"]["id"], encoder.info().id);
}

TEST(AnthropicEncoder, WritesThinkingTextAndTwoToolUseBlocksExactly) {
  const std::string out = anthropic_sse(
      {reasoning("Hmm"), text("Checking."), tool_call("get_weather", R"({"city":"Paris"})"),
       tool_call("get_time", R"({"tz":"Europe/Paris","h24":true})"), usage(12, 7, 19),
       finish(FinishReason::ToolCalls)});
  const std::string expected = R"sse(event: message_start
data: {"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"glm-4.6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":0}}}

event: ping
data: {"type":"ping"}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: content_block_start
data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"tz\":\"Europe/Paris\",\"h24\":true}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":3}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":12,"output_tokens":7}}

event: message_stop
data: {"type":"message_stop"}

)sse";
  EXPECT_EQ(with_numbered_ids(out, "toolu_"), expected);
  const auto stream = testing::parse_anthropic_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  ASSERT_EQ(stream.tool_uses.size(), 2u);
  EXPECT_EQ(stream.tool_uses[1].input,
            nlohmann::json::parse(R"({"tz":"Europe/Paris","h24":true})"));
}

TEST(AnthropicEncoder, TextAfterAToolCallOpensANewBlock) {
  const auto stream = testing::parse_anthropic_sse(
      anthropic_sse({text("a"), tool_call("f", "{}"), text("b"), tool_call("g", R"({"x":1})")}));
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.block_types, (std::vector<std::string>{"text", "tool_use", "text", "tool_use"}));
  EXPECT_EQ(stream.text, "ab");
  EXPECT_EQ(stream.tool_uses.at(1).input, nlohmann::json::parse(R"({"x":1})"));
}

TEST(AnthropicEncoder, ToolCallOnlyResponseHasNoTextBlock) {
  const auto stream = testing::parse_anthropic_sse(
      anthropic_sse({tool_call("f", "{}"), finish(FinishReason::ToolCalls)}));
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.block_types, std::vector<std::string>{"tool_use"});
  EXPECT_EQ(stream.tool_uses.at(0).input, nlohmann::json::object());
  EXPECT_EQ(stream.stop_reason, "tool_use");
}

TEST(AnthropicEncoder, WritesCjkArgumentsUnescaped) {
  const std::string out = anthropic_sse({tool_call("搜索", R"({"q":"你好，世界 😀"})")});
  EXPECT_NE(out.find(R"("name":"搜索","input":{}})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("partial_json":"{\"q\":\"你好，世界 😀\"}")"), std::string::npos) << out;
  const auto stream = testing::parse_anthropic_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  EXPECT_EQ(stream.tool_uses.at(0).input["q"], "你好，世界 😀");
}

// ───── Aggregator ─────

TEST(Aggregator, WritesTheOpenAiDocumentExactlyAtFinishOnly) {
  Aggregator aggregator(openai_info(), Dialect::OpenAi);
  std::string out;
  for (const auto& e : {reasoning("Let me"), reasoning(" think"), text("Hello"), text(" 世界"),
                        usage(10, 5, 15), finish(FinishReason::Length)})
    aggregator.feed(e, out);
  EXPECT_EQ(out, "");
  aggregator.finish(out);
  EXPECT_EQ(out, R"({"id":"chatcmpl-test","object":"chat.completion","created":1700000000,)"
                 R"("model":"glm-4.6","choices":[{"index":0,"message":{"role":"assistant",)"
                 R"("content":"Hello 世界","reasoning_content":"Let me think"},)"
                 R"("finish_reason":"length"}],)"
                 R"("usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}})");
  const std::string document = out;
  aggregator.finish(out);
  EXPECT_EQ(out, document);
}

TEST(Aggregator, OpenAiReasoningFieldOnlyWhenAskedAndContentNeverNull) {
  ResponseInfo info = openai_info();
  info.reasoning_field = false;
  EXPECT_EQ(aggregate(Dialect::OpenAi, {reasoning("r")}, info),
            R"({"id":"chatcmpl-test","object":"chat.completion","created":1700000000,)"
            R"("model":"glm-4.6","choices":[{"index":0,"message":{"role":"assistant",)"
            R"("content":""},"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}})");
  const auto doc =
      testing::parse_openai_json(aggregate(Dialect::OpenAi, {text("a")}, openai_info()));
  EXPECT_TRUE(doc.problems.empty()) << testing::describe(doc.problems);
  EXPECT_FALSE(doc.reasoning.has_value());  // no reasoning, no field
  EXPECT_EQ(doc.content, "a");
}

TEST(Aggregator, WritesTheAnthropicDocumentExactly) {
  EXPECT_EQ(aggregate(Dialect::Anthropic,
                      {reasoning("Hmm"), text("Hi"), text("!"), usage(12, 7, 19), finish()},
                      anthropic_info()),
            R"({"id":"msg_test","type":"message","role":"assistant","model":"glm-4.6",)"
            R"("content":[{"type":"thinking","thinking":"Hmm","signature":""},)"
            R"({"type":"text","text":"Hi!"}],"stop_reason":"end_turn","stop_sequence":null,)"
            R"("usage":{"input_tokens":12,"output_tokens":7}})");
}

TEST(Aggregator, EmptyAnthropicContentIsOneEmptyTextBlock) {
  EXPECT_EQ(aggregate(Dialect::Anthropic, {finish(FinishReason::Length)}, anthropic_info()),
            R"({"id":"msg_test","type":"message","role":"assistant","model":"glm-4.6",)"
            R"("content":[{"type":"text","text":""}],"stop_reason":"max_tokens",)"
            R"("stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":0}})");
}

TEST(Aggregator, WritesBothErrorShapes) {
  const StreamError e = upstream_426();
  EXPECT_EQ(aggregate(Dialect::OpenAi, {text("partial"), error(e), text("late")}, openai_info()),
            R"({"error":{"message":"Upstream error: 426","type":"upstream_error","code":426}})");
  EXPECT_EQ(aggregate(Dialect::Anthropic, {text("partial"), error(e)}, anthropic_info()),
            R"({"type":"error","error":{"type":"api_error","message":"Upstream error: 426"}})");
}

TEST(Aggregator, GeneratesIdsOfItsDialect) {
  EXPECT_EQ(Aggregator(ResponseInfo{}, Dialect::OpenAi).info().id.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(Aggregator(ResponseInfo{}, Dialect::Anthropic).info().id.rfind("msg_", 0), 0u);
}

TEST(Aggregator, WritesAnOpenAiToolCallOnlyDocumentExactlyWithNullContent) {
  const std::string out = aggregate(Dialect::OpenAi,
                                    {tool_call("get_weather", R"({"city":"巴黎"})"),
                                     tool_call("get_time", "{}"), finish(FinishReason::ToolCalls)},
                                    openai_info());
  EXPECT_EQ(
      with_numbered_ids(out, "call_"),
      R"({"id":"chatcmpl-test","object":"chat.completion","created":1700000000,)"
      R"("model":"glm-4.6","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":null,"tool_calls":[)"
      R"({"id":"call_1","type":"function","function":{"name":"get_weather",)"
      R"("arguments":"{\"city\":\"巴黎\"}"}},)"
      R"({"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},)"
      R"("finish_reason":"tool_calls"}],)"
      R"("usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}})");
  const auto document = testing::parse_openai_json(out);
  EXPECT_TRUE(document.problems.empty()) << testing::describe(document.problems);
}

TEST(Aggregator, OpenAiContentStaysTextBesideToolCalls) {
  const auto document = testing::parse_openai_json(aggregate(
      Dialect::OpenAi, {reasoning("r"), text("Let me look."), tool_call("f", R"({"a":[1,2]})")},
      openai_info()));
  EXPECT_TRUE(document.problems.empty()) << testing::describe(document.problems);
  const nlohmann::json& message = document.document["choices"][0]["message"];
  EXPECT_EQ(message["content"], "Let me look.");
  EXPECT_EQ(message["reasoning_content"], "r");
  EXPECT_EQ(message["tool_calls"][0]["function"]["arguments"], R"({"a":[1,2]})");
  EXPECT_FALSE(message["tool_calls"][0].contains("index"));
}

TEST(Aggregator, WritesAnAnthropicDocumentWithToolUseBlocksExactly) {
  const std::string out = aggregate(
      Dialect::Anthropic,
      {reasoning("Hmm"), text("Checking."), tool_call("get_weather", R"({"city":"巴黎"})"),
       tool_call("get_time", "{}"), usage(12, 7, 19), finish(FinishReason::ToolCalls)},
      anthropic_info());
  EXPECT_EQ(with_numbered_ids(out, "toolu_"),
            R"({"id":"msg_test","type":"message","role":"assistant","model":"glm-4.6",)"
            R"("content":[{"type":"thinking","thinking":"Hmm","signature":""},)"
            R"({"type":"text","text":"Checking."},)"
            R"({"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"巴黎"}},)"
            R"({"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}],)"
            R"("stop_reason":"tool_use","stop_sequence":null,)"
            R"("usage":{"input_tokens":12,"output_tokens":7}})");
  const auto document = testing::parse_anthropic_json(out);
  EXPECT_TRUE(document.problems.empty()) << testing::describe(document.problems);
}

TEST(Aggregator, AnthropicToolCallOnlyContentHasNoEmptyTextBlock) {
  const auto document = testing::parse_anthropic_json(
      aggregate(Dialect::Anthropic, {tool_call("f", R"({"x":1})")}, anthropic_info()));
  EXPECT_TRUE(document.problems.empty()) << testing::describe(document.problems);
  EXPECT_EQ(document.block_types, std::vector<std::string>{"tool_use"});
  EXPECT_EQ(document.tool_uses.at(0).input, nlohmann::json::parse(R"({"x":1})"));
}

// ───── the fold invariant: non-streaming document == fold of the stream (C.5 rule 1) ─────

// Splits `text` into one Text event per UTF-8 code point.
std::vector<ResponseEvent> per_code_point(Kind kind, std::string_view text) {
  std::vector<ResponseEvent> events;
  for (size_t start = 0; start < text.size();) {
    size_t end = start + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) ++end;
    events.push_back(event_of(kind, text.substr(start, end - start)));
    start = end;
  }
  return events;
}

struct FoldCase {
  std::string name;
  std::vector<ResponseEvent> events;
};

const StreamError kFoldError = upstream_426();

std::vector<FoldCase> fold_cases() {
  std::vector<FoldCase> cases = {
      {"Empty", {}},
      {"TextOnly", {text("Hello"), text(", world")}},
      {"ReasoningThenText", {reasoning("think "), reasoning("hard"), text("answer"), finish()}},
      {"Interleaved", {text("a"), reasoning("b"), text("c"), reasoning("d")}},
      {"UsageAndLength", {text("cut"), usage(7, 8, 15), finish(FinishReason::Length)}},
      {"UsageOnly", {usage(3, 0, 3)}},
      {"ContentFilter", {reasoning("r"), finish(FinishReason::ContentFilter)}},
      {"Escaping", {reasoning("\"\\\n\x02"), text("\t\r\b\f</think>")}},
      {"ErrorFirst", {error(kFoldError)}},
      {"ErrorMidway", {reasoning("r"), text("t"), error(kFoldError), text("late")}},
      {"EmptyPieces", {text(""), reasoning(""), text("x"), text(""), finish()}},
      {"ToolCallsOnly",
       {tool_call("get_weather", R"({"city":"Paris"})"), tool_call("get_time", "{}"),
        finish(FinishReason::ToolCalls)}},
      {"TextThenToolCalls",
       {reasoning("r"), text("Let me check."), tool_call("f", R"({"n":1,"list":[true,null]})"),
        usage(5, 6, 11), finish(FinishReason::ToolCalls)}},
      {"TextAfterToolCall", {tool_call("f", "{}"), text("after"), tool_call("g", "{}")}},
      {"ToolCallArgumentsEscapingAndCjk",
       {tool_call("搜索", R"({"q":"你好 😀","s":"a\"b\\c\n","t":"</tool>"})")}},
      {"UpstreamToolIgnored", {text("a"), upstream_tool("f", "{}"), finish()}},
      {"ErrorAfterToolCall", {tool_call("f", "{}"), error(kFoldError)}},
      {"ToolCallAfterError", {error(kFoldError), tool_call("f", "{}")}},
  };
  std::vector<ResponseEvent> split = per_code_point(Kind::Reasoning, "思考😀a");
  for (const auto& e : per_code_point(Kind::Text, "答案：你好 🌍!\n")) split.push_back(e);
  cases.push_back({"OneEventPerCodePoint", split});
  return cases;
}

class FoldInvariant : public ::testing::TestWithParam<FoldCase> {};

TEST_P(FoldInvariant, OpenAiStreamFoldsIntoTheAggregatedDocument) {
  const auto stream = testing::parse_openai_sse(openai_sse(GetParam().events));
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  const auto document =
      testing::parse_openai_json(aggregate(Dialect::OpenAi, GetParam().events, openai_info()));
  EXPECT_TRUE(document.problems.empty()) << testing::describe(document.problems);
  EXPECT_EQ(testing::without_tool_call_ids(testing::fold_openai_stream(stream)),
            testing::without_tool_call_ids(document.document));
}

TEST_P(FoldInvariant, AnthropicStreamFoldsIntoTheAggregatedDocument) {
  const auto stream = testing::parse_anthropic_sse(anthropic_sse(GetParam().events));
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  const auto document = testing::parse_anthropic_json(
      aggregate(Dialect::Anthropic, GetParam().events, anthropic_info()));
  EXPECT_TRUE(document.problems.empty()) << testing::describe(document.problems);
  EXPECT_EQ(testing::without_tool_call_ids(testing::fold_anthropic_stream(stream)),
            testing::without_tool_call_ids(document.document));
}

INSTANTIATE_TEST_SUITE_P(Cases, FoldInvariant, ::testing::ValuesIn(fold_cases()),
                         [](const ::testing::TestParamInfo<FoldCase>& info) {
                           return info.param.name;
                         });

// ───── encoder.hpp ─────

TEST(OutputFormat, ParsesTheFourNames) {
  EXPECT_EQ(parse_output_format("openai-sse"), OutputFormat::OpenAiSse);
  EXPECT_EQ(parse_output_format("openai-json"), OutputFormat::OpenAiJson);
  EXPECT_EQ(parse_output_format("anthropic-sse"), OutputFormat::AnthropicSse);
  EXPECT_EQ(parse_output_format("anthropic-json"), OutputFormat::AnthropicJson);
  EXPECT_EQ(parse_output_format("OpenAI-SSE"), std::nullopt);
  EXPECT_EQ(parse_output_format(""), std::nullopt);
}

TEST(MakeEncoder, BuildsTheEncoderOfEachFormat) {
  const std::vector<ResponseEvent> events = {text("hi"), finish()};
  EXPECT_EQ(encode(*make_encoder(OutputFormat::OpenAiSse, openai_info()), events),
            openai_sse(events));
  EXPECT_EQ(encode(*make_encoder(OutputFormat::OpenAiJson, openai_info()), events),
            aggregate(Dialect::OpenAi, events, openai_info()));
  EXPECT_EQ(encode(*make_encoder(OutputFormat::AnthropicSse, anthropic_info()), events),
            anthropic_sse(events));
  EXPECT_EQ(encode(*make_encoder(OutputFormat::AnthropicJson, anthropic_info()), events),
            aggregate(Dialect::Anthropic, events, anthropic_info()));
}

// ───── tool call events in every format ─────

constexpr OutputFormat kAllFormats[] = {OutputFormat::OpenAiSse, OutputFormat::OpenAiJson,
                                        OutputFormat::AnthropicSse, OutputFormat::AnthropicJson};

std::string encode_as(OutputFormat format, const std::vector<ResponseEvent>& events) {
  const bool openai = format == OutputFormat::OpenAiSse || format == OutputFormat::OpenAiJson;
  return encode(*make_encoder(format, openai ? openai_info() : anthropic_info()), events);
}

TEST(ToolEvents, UpstreamToolWritesNothing) {
  for (OutputFormat format : kAllFormats) {
    auto encoder = make_encoder(format, openai_info());
    std::string out;
    encoder->feed(upstream_tool("f", R"({"a":1})"), out);
    EXPECT_EQ(out, "");  // not even the role chunk or message_start
    EXPECT_EQ(encode_as(format, {text("a"), upstream_tool("f", "{}"), text("b"), finish()}),
              encode_as(format, {text("a"), text("b"), finish()}));
  }
}

TEST(ToolEvents, NothingForAToolCallAfterTheEnd) {
  const StreamError e = upstream_426();
  for (OutputFormat format : kAllFormats) {
    EXPECT_EQ(encode_as(format, {text("a"), error(e), tool_call("f", "{}")}),
              encode_as(format, {text("a"), error(e)}));
    EXPECT_EQ(encode_as(format, {error(e), tool_call("f", "{}")}), encode_as(format, {error(e)}));
    EXPECT_EQ(encode_as(format, {finish(), tool_call("f", "{}")}), encode_as(format, {finish()}));
  }
}

TEST(ToolEvents, FinishToolCallsNamesTheReasonOfEachFormat) {
  const std::vector<ResponseEvent> events = {tool_call("f", "{}"), finish(FinishReason::ToolCalls)};
  EXPECT_EQ(testing::parse_openai_sse(encode_as(OutputFormat::OpenAiSse, events)).finish_reason,
            "tool_calls");
  EXPECT_EQ(testing::parse_openai_json(encode_as(OutputFormat::OpenAiJson, events)).finish_reason,
            "tool_calls");
  EXPECT_EQ(testing::parse_anthropic_sse(encode_as(OutputFormat::AnthropicSse, events)).stop_reason,
            "tool_use");
  EXPECT_EQ(
      testing::parse_anthropic_json(encode_as(OutputFormat::AnthropicJson, events)).stop_reason,
      "tool_use");
}

// ───── the oracle itself, on tool call forms the encoders do not write ─────

std::string tool_call_delta(std::string_view entry) {
  return chunk(R"("delta":{"tool_calls":[)" + std::string(entry) + R"(]},"finish_reason":null)");
}

constexpr std::string_view kCallId = "call_0123456789abcdefghijABCD";

TEST(OutputOracle, AccumulatesOpenAiArgumentFragmentsByIndex) {
  const std::string out =
      kRoleChunk +
      tool_call_delta(R"({"index":0,"id":")" + std::string(kCallId) +
                      R"(","type":"function","function":{"name":"f","arguments":""}})") +
      tool_call_delta(R"({"index":0,"function":{"arguments":"{\"a\":"}})") +
      tool_call_delta(R"({"index":0,"function":{"arguments":"1}"}})") +
      chunk(R"("delta":{},"finish_reason":"tool_calls")") + kDone;
  const auto stream = testing::parse_openai_sse(out);
  EXPECT_TRUE(stream.problems.empty()) << testing::describe(stream.problems);
  ASSERT_EQ(stream.tool_calls.size(), 1u);
  EXPECT_EQ(stream.tool_calls[0].id, kCallId);
  EXPECT_EQ(stream.tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(testing::fold_openai_stream(stream)["choices"][0]["message"]["content"], nullptr);
}

TEST(OutputOracle, ReportsInconsistentOpenAiToolCalls) {
  auto problems_of = [](std::vector<std::string> entries) {
    std::string out = kRoleChunk;
    for (const auto& entry : entries) out += tool_call_delta(entry);
    out += chunk(R"("delta":{},"finish_reason":"tool_calls")") + kDone;
    return testing::parse_openai_sse(out).problems.size();
  };
  const std::string first = R"({"index":0,"id":")" + std::string(kCallId) +
                            R"(","type":"function","function":{"name":"f","arguments":"{}"}})";
  EXPECT_EQ(problems_of({first}), 0u);
  EXPECT_GT(problems_of({R"({"index":1,"id":"call_x","type":"function","function":{"name":"f"}})"}),
            0u);  // index skips 0
  EXPECT_GT(problems_of({R"({"index":0,"id":"call_short","type":"function",)"
                         R"("function":{"name":"f","arguments":"{}"}})"}),
            0u);
  EXPECT_GT(problems_of({first, R"({"index":0,"id":"call_other"})"}), 0u);
  EXPECT_GT(problems_of({R"({"index":0,"id":")" + std::string(kCallId) +
                         R"(","type":"function","function":{"name":"f","arguments":"[1]"}})"}),
            0u);  // arguments are not an object
}

TEST(OutputOracle, ReportsAToolUseInputThatIsNotAnObject) {
  const std::string good = anthropic_sse({tool_call("f", R"({"a":1})")});
  const std::string bad = anthropic_sse({tool_call("f", R"("text")")});
  EXPECT_TRUE(testing::parse_anthropic_sse(good).problems.empty());
  EXPECT_FALSE(testing::parse_anthropic_sse(bad).problems.empty());
  EXPECT_FALSE(testing::parse_anthropic_json(
                   aggregate(Dialect::Anthropic, {tool_call("f", "[]")}, anthropic_info()))
                   .problems.empty());
}

TEST(RandomId, IsThePrefixAnd24Base62Characters) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_id("call_");
    ASSERT_TRUE(is_random_id(id, "call_")) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(random_id("").size(), 24u);
}

TEST(RandomId, DiffersBetweenThreads) {
  std::string other;
  std::thread([&] { other = random_id("toolu_"); }).join();
  EXPECT_NE(random_id("toolu_"), other);
}

}  // namespace
}  // namespace zaiproxy
