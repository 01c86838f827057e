// SseFramer: line ends, fields, dispatch rules, the BOM, limits and arbitrary splits of the input.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "support.hpp"
#include "zaiproxy/sse_framer.hpp"

namespace zaiproxy {
namespace {

using testing::SseCollector;

SseFramerOptions standard_dispatch() {
  SseFramerOptions options;
  options.dispatch_json_lines = false;
  return options;
}

// Frames `chunks` one feed each, then finishes.
SseCollector frame(const std::vector<std::string>& chunks, SseFramerOptions options = {}) {
  SseFramer framer(options);
  SseCollector out;
  for (const auto& chunk : chunks) framer.feed(chunk, out);
  framer.finish(out);
  return out;
}

std::vector<std::string> data_of(const SseCollector& out) {
  std::vector<std::string> data;
  for (const auto& e : out.events) data.push_back(e.data);
  return data;
}

using Data = std::vector<std::string>;

TEST(SseFramer, DataWithAndWithoutTheSpace) {
  EXPECT_EQ(data_of(frame({"data: a\n\ndata:b\n\ndata:  c\n\n"})), (Data{"a", "b", " c"}));
}

TEST(SseFramer, MultiLineDataIsJoinedWithLineFeeds) {
  EXPECT_EQ(data_of(frame({"data: one\ndata:two\ndata\ndata: four\n\n"})),
            (Data{"one\ntwo\n\nfour"}));
}

TEST(SseFramer, LineEnds) {
  const Data want{"a\nb", "c"};
  const SseFramerOptions options = standard_dispatch();
  EXPECT_EQ(data_of(frame({"data: a\ndata: b\n\ndata: c\n\n"}, options)), want);
  EXPECT_EQ(data_of(frame({"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"}, options)), want);
  EXPECT_EQ(data_of(frame({"data: a\rdata: b\r\rdata: c\r\r"}, options)), want);
  EXPECT_EQ(data_of(frame({"data: a\rdata: b\n\r\ndata: c\r\n\n"}, options)), want);
}

TEST(SseFramer, ACarriageReturnLateInAChunkStillEndsALine) {
  // Line feeds first, then CR line ends further on in the same chunk, then line feeds again.
  EXPECT_EQ(data_of(frame({"data: a\n\ndata: b\n\ndata: c\r\rdata: d\r\n\r\ndata: e\n\n"},
                          standard_dispatch())),
            (Data{"a", "b", "c", "d", "e"}));
}

TEST(SseFramer, OnlyTheDataFieldIsData) {
  EXPECT_EQ(data_of(frame({"dataX: x\ndata : y\ndat: z\ndata:w\n\n"}, standard_dispatch())),
            (Data{"w"}));
}

TEST(SseFramer, CrLfSplitBetweenFeedsIsOneLineEnd) {
  // Read as two line ends, the split CRLF would dispatch "a" on its own.
  EXPECT_EQ(data_of(frame({"data: a\r", "\ndata: b\r", "\n\r", "\n"}, standard_dispatch())),
            (Data{"a\nb"}));
  // A CR at the end of a feed followed by something else is still a line end.
  EXPECT_EQ(data_of(frame({"data: a\r", "\r", "data: b\r", "\r"}, standard_dispatch())),
            (Data{"a", "b"}));
  // An empty feed in between does not lose the pending CR.
  EXPECT_EQ(data_of(frame({"data: a\r", "", "\n", "\r\n"}, standard_dispatch())), (Data{"a"}));
}

TEST(SseFramer, CommentsAreIgnored) {
  EXPECT_EQ(data_of(frame({": ping\n:\ndata: x\n: inside\n\n"})), (Data{"x"}));
}

TEST(SseFramer, EventIdAndRetryFields) {
  const SseCollector out =
      frame({"event: delta\nid: 7\nretry: 1000\ndata: {\"a\":1}\n\ndata: {}\n\n"});
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].event, "delta");
  EXPECT_EQ(out.events[0].id, "7");
  EXPECT_EQ(out.events[0].data, "{\"a\":1}");
  EXPECT_EQ(out.events[1].event, "");  // the event name is per event
  EXPECT_EQ(out.events[1].id, "7");    // the id is the last one seen
}

TEST(SseFramer, UnknownFieldsAndFieldWithoutColon) {
  EXPECT_EQ(data_of(frame({"foo: bar\nevent\ndata\n\n"}, standard_dispatch())), (Data{""}));
  const SseCollector out = frame({"event: x\nevent\ndata: y\n\n"});
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].event, "");
}

TEST(SseFramer, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(frame({"\n\n\r\n\revent: x\n\nid: 1\n\n"}).events.empty());
}

TEST(SseFramer, JsonLinesAreDispatchedWithoutWaitingForTheBlankLine) {
  SseFramer framer;
  SseCollector out;
  framer.feed("data: {\"a\":1}\n", out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].data, "{\"a\":1}");
  framer.feed("\n", out);  // the blank line that follows dispatches nothing
  EXPECT_EQ(out.events.size(), 1u);
  framer.feed("data: [DONE]\n", out);
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[1].data, "[DONE]");
  framer.feed("data:  { \"padded\": true }  \n", out);
  EXPECT_EQ(out.events.size(), 3u);
}

TEST(SseFramer, OtherDataWaitsForTheBlankLine) {
  SseFramer framer;
  SseCollector out;
  framer.feed("data: {\"open\":\n", out);
  framer.feed("data: 1}\n", out);
  EXPECT_TRUE(out.events.empty());
  framer.feed("data: {\"joined\":true}\n", out);  // other data is pending: joined, not dispatched
  EXPECT_TRUE(out.events.empty());
  framer.feed("\n", out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].data, "{\"open\":\n1}\n{\"joined\":true}");
}

TEST(SseFramer, JsonLineDispatchCanBeTurnedOff) {
  SseFramer framer(standard_dispatch());
  SseCollector out;
  framer.feed("data: {\"a\":1}\n", out);
  EXPECT_TRUE(out.events.empty());
  framer.feed("\n", out);
  EXPECT_EQ(data_of(out), (Data{"{\"a\":1}"}));
}

TEST(SseFramer, ByteOrderMarkIsStripped) {
  EXPECT_EQ(data_of(frame({"\xEF\xBB\xBF"
                           "data: a\n\n"})),
            (Data{"a"}));
  EXPECT_EQ(data_of(frame({"\xEF", "\xBB",
                           "\xBF"
                           "data: a\n\n"})),
            (Data{"a"}));
  EXPECT_EQ(data_of(frame({"\xEF\xBB", "\xBF", "data: a\n\n"})), (Data{"a"}));
}

TEST(SseFramer, OnlyALeadingByteOrderMarkIsStripped) {
  EXPECT_EQ(data_of(frame({"data: \xEF\xBB\xBFx\n\n"})), (Data{"\xEF\xBB\xBFx"}));
  // A second BOM is part of the first line: the field name is then not "data".
  EXPECT_TRUE(frame({"\xEF\xBB\xBF\xEF\xBB\xBF"
                     "data: a\n\n"})
                  .events.empty());
  // Bytes that only start like a BOM belong to the first line.
  EXPECT_TRUE(frame({"\xEF\xBB", "data: a\n\n"}).events.empty());
  EXPECT_EQ(data_of(frame({"\xEF\xBB", "\n", "data: a\n\n"})), (Data{"a"}));
}

TEST(SseFramer, FinishDispatchesCompletePendingData) {
  EXPECT_EQ(data_of(frame({"data: a\ndata: b\n"})), (Data{"a\nb"}));
}

TEST(SseFramer, FinishDropsAnUnterminatedLine) {
  EXPECT_TRUE(frame({"data: {\"truncated\":"}).events.empty());
  EXPECT_EQ(data_of(frame({"data: a\ndata: b"}, standard_dispatch())), (Data{"a"}));
}

TEST(SseFramer, EmptyStream) {
  const SseCollector out = frame({});
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.errors.empty());
}

// One line of `line_bytes` bytes in a single feed and in 64 KiB pieces.
void expect_long_line_is_framed(size_t line_bytes, SseFramerOptions options) {
  const std::string payload = "{\"x\":\"" + std::string(line_bytes - 14, 'a') + "\"}";
  const std::string bytes = "data: " + payload + "\n\n";
  ASSERT_EQ(payload.size() + 6, line_bytes);
  const SseCollector whole = frame({bytes}, options);
  ASSERT_EQ(whole.events.size(), 1u);
  EXPECT_EQ(whole.events[0].data, payload);
  EXPECT_TRUE(whole.errors.empty());
  std::vector<std::string> pieces;
  for (size_t at = 0; at < bytes.size(); at += 65536) pieces.push_back(bytes.substr(at, 65536));
  const SseCollector pieced = frame(pieces, options);
  ASSERT_EQ(pieced.events.size(), 1u);
  EXPECT_EQ(pieced.events[0].data, payload);
}

TEST(SseFramer, LongLinesUpToTheDefaultCap) {
  expect_long_line_is_framed(8u << 20, {});  // the default cap is 8 MiB
}

TEST(SseFramer, TenMegabyteLineWithARaisedCap) {
  SseFramerOptions options;
  options.max_line_bytes = 16u << 20;
  expect_long_line_is_framed(10'000'000, options);
}

TEST(SseFramer, TenMegabyteLineOverTheDefaultCapFails) {
  const SseCollector out = frame({"data: " + std::string(10'000'000, 'a') + "\n\n"});
  EXPECT_TRUE(out.events.empty());
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].code, "sse_line_too_long");
}

void expect_one_line_error(const SseCollector& out) {
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].origin, StreamError::Origin::Protocol);
  EXPECT_EQ(out.errors[0].code, "sse_line_too_long");
  EXPECT_NE(out.errors[0].message.find("1024"), std::string::npos) << out.errors[0].message;
}

TEST(SseFramer, LineOverTheCapFailsOnce) {
  SseFramerOptions options;
  options.max_line_bytes = 1024;
  SseFramer framer(options);
  SseCollector out;
  framer.feed("data: {}\n", out);
  framer.feed("data: " + std::string(10u << 20, 'a') + "\n\n", out);
  EXPECT_TRUE(framer.failed());
  framer.feed("data: {}\n\n", out);  // ignored from now on
  framer.finish(out);
  EXPECT_EQ(out.events.size(), 1u);
  expect_one_line_error(out);
}

TEST(SseFramer, LineOverTheCapFailsAsSoonAsItIsKnownAcrossFeeds) {
  SseFramerOptions options;
  options.max_line_bytes = 1024;
  SseFramer framer(options);
  SseCollector out;
  framer.feed("data: ", out);
  for (int i = 0; i < 10 && !framer.failed(); ++i) framer.feed(std::string(200, 'a'), out);
  // 6 + 5 × 200 = 1006 bytes still fit; the sixth piece does not.
  EXPECT_TRUE(framer.failed());
  for (int i = 0; i < 1000; ++i) framer.feed(std::string(1000, 'a') + "\n\n", out);
  expect_one_line_error(out);
  EXPECT_TRUE(out.events.empty());
}

TEST(SseFramer, LineOfExactlyTheCapIsAccepted) {
  SseFramerOptions options;
  options.max_line_bytes = 16;
  const SseCollector ok = frame({"data: 0123456789\n\n"}, options);  // 16 bytes
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(data_of(ok), (Data{"0123456789"}));
  const SseCollector over = frame({"data: 0123456789A\n\n"}, options);
  EXPECT_EQ(over.errors.size(), 1u);
}

TEST(SseFramer, EventDataIsCappedLikeALine) {
  SseFramerOptions options;
  options.max_line_bytes = 1024;
  SseFramer framer(options);
  SseCollector out;
  for (int i = 0; i < 100; ++i) framer.feed("data: " + std::string(100, 'a') + "\n", out);
  EXPECT_TRUE(framer.failed());
  EXPECT_EQ(out.errors.size(), 1u);
  EXPECT_TRUE(out.events.empty());
}

// Every golden stream gives the same events however its bytes are cut.
TEST(SseFramer, GoldenStreamsUnderEverySplit) {
  for (const char* name : {"a_plain_answer.sse", "b_thinking_answer.sse", "c_glm_block_tool.sse",
                           "d_web_search.sse", "e3_error_captcha.sse"}) {
    const std::string bytes = testing::read_golden(name);
    for (const std::string& line_end :
         {std::string("\n"), std::string("\r\n"), std::string("\r")}) {
      std::string variant;
      for (char c : bytes) variant += c == '\n' ? line_end : std::string(1, c);
      variant = "\xEF\xBB\xBF" + variant;
      const Data whole = data_of(frame({variant}));
      ASSERT_GE(whole.size(), 1u);
      EXPECT_EQ(whole.front().rfind("{\"type\":\"chat:completion\"", 0), 0u) << name;
      for (size_t cut = 0; cut <= variant.size(); ++cut)
        ASSERT_EQ(data_of(frame({variant.substr(0, cut), variant.substr(cut)})), whole)
            << name << " cut at " << cut;
      std::mt19937 random(42);
      for (int round = 0; round < 20; ++round) {
        std::vector<std::string> chunks;
        for (size_t at = 0; at < variant.size();) {
          const size_t length = random() % 9;
          chunks.push_back(variant.substr(at, length));
          at += length;
        }
        ASSERT_EQ(data_of(frame(chunks)), whole) << name << " round " << round;
      }
    }
  }
}

TEST(SseFramer, GoldenStreamAEventsAreTheJsonLines) {
  EXPECT_EQ(
      data_of(frame({testing::read_golden("a_plain_answer.sse")})),
      (Data{
          R"({"type":"chat:completion","data":{"delta_content":"你好","phase":"answer"}})",
          R"({"type":"chat:completion","data":{"delta_content":"！有什么可以帮你的吗？","phase":"answer"}})",
          R"({"type":"chat:completion","data":{"phase":"other","usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}}})",
          R"({"type":"chat:completion","data":{"phase":"done","done":true}})", "[DONE]"}));
}

}  // namespace
}  // namespace zaiproxy
