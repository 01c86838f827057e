// OpenAiChunkDecoder: `chat.completion.chunk` payloads of generic OpenAI-compatible upstreams.
#include <gtest/gtest.h>

#include <string>

#include "support.hpp"
#include "zaiproxy/openai_chunk_decoder.hpp"
#include "zaiproxy/sse_framer.hpp"

namespace zaiproxy {
namespace {

using testing::SourceCollector;
using Kind = SourceEvent::Kind;

struct Decoded {
  OpenAiChunkDecoder decoder;
  SourceCollector out;
  Decoded& feed(std::string_view payload) {
    decoder.feed(payload, out);
    return *this;
  }
  Decoded& finish() {
    decoder.finish(out);
    return *this;
  }
};

std::string chunk(const std::string& delta, const std::string& finish_reason = "null") {
  return R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":)" +
         delta + R"(,"finish_reason":)" + finish_reason + "}]}";
}

TEST(OpenAiChunkDecoder, ContentIsAnswer) {
  Decoded d;
  d.feed(chunk(R"({"role":"assistant","content":""})"))
      .feed(chunk(R"({"content":"Hel"})"))
      .feed(chunk(R"({"content":"lo"})"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "Hello");
  EXPECT_EQ(d.out.count(Kind::Answer), 2u);  // empty content is not an event
}

TEST(OpenAiChunkDecoder, ReasoningContentAndReasoningAreReasoning) {
  Decoded d;
  d.feed(chunk(R"({"reasoning_content":"think "})"))
      .feed(chunk(R"({"reasoning":"more","content":null})"))
      .feed(chunk(R"({"content":"answer"})"));
  EXPECT_EQ(d.out.text_of(Kind::Reasoning), "think more");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "answer");
  ASSERT_EQ(d.out.events.size(), 3u);
  EXPECT_EQ(d.out.events[2].kind, Kind::Answer);
}

TEST(OpenAiChunkDecoder, ReasoningBeforeContentOfTheSameChunk) {
  Decoded d;
  d.feed(chunk(R"({"content":"a","reasoning_content":"r"})"));
  ASSERT_EQ(d.out.events.size(), 2u);
  EXPECT_EQ(d.out.events[0].kind, Kind::Reasoning);
  EXPECT_EQ(d.out.events[1].kind, Kind::Answer);
}

TEST(OpenAiChunkDecoder, FinishReasonIsReportedWithTheEnd) {
  Decoded d;
  d.feed(chunk(R"({"content":"x"})")).feed(chunk("{}", "\"length\"")).feed("[DONE]");
  ASSERT_EQ(d.out.events.back().kind, Kind::End);
  EXPECT_EQ(d.out.events.back().finish_reason, "length");
  EXPECT_EQ(d.out.count(Kind::End), 1u);
  d.feed(chunk(R"({"content":"late"})")).finish();
  EXPECT_EQ(d.out.count(Kind::End), 1u);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "x");
}

TEST(OpenAiChunkDecoder, FinishReasonsPassThroughVerbatim) {
  for (const char* reason : {"stop", "tool_calls", "content_filter", "something_else"}) {
    Decoded d;
    d.feed(chunk("{}", std::string("\"") + reason + "\"")).finish();
    EXPECT_EQ(d.out.events.back().finish_reason, reason);
  }
}

TEST(OpenAiChunkDecoder, EofIsANormalEnd) {
  Decoded d;
  d.finish();
  ASSERT_EQ(d.out.events.size(), 1u);
  EXPECT_EQ(d.out.events[0].kind, Kind::End);
  EXPECT_EQ(d.out.events[0].finish_reason, "");
  EXPECT_TRUE(d.decoder.ended());
}

TEST(OpenAiChunkDecoder, Usage) {
  Decoded d;
  d.feed(chunk(R"({"content":"x"})"))
      .feed(R"({"choices":[],"usage":null})")
      .feed(R"({"choices":[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}})")
      .feed(
          R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"completion_tokens_details":{"reasoning_tokens":3}}})")
      .finish();
  ASSERT_EQ(d.out.count(Kind::Usage), 1u);
  EXPECT_EQ(d.out.events[1].kind, Kind::Usage);
  EXPECT_EQ(d.out.events[1].usage.prompt_tokens, 5);
  EXPECT_EQ(d.out.events[1].usage.completion_tokens, 7);
  EXPECT_EQ(d.out.events[1].usage.total_tokens, 12);
  EXPECT_EQ(d.out.events.back().usage.total_tokens, 12);
}

TEST(OpenAiChunkDecoder, UsageWithoutTotalIsTheSum) {
  Decoded d;
  d.feed(R"({"usage":{"prompt_tokens":5,"completion_tokens":7}})");
  ASSERT_EQ(d.out.count(Kind::Usage), 1u);
  EXPECT_EQ(d.out.events[0].usage.total_tokens, 12);
}

TEST(OpenAiChunkDecoder, OnlyTheFirstChoiceIsRead) {
  Decoded d;
  d.feed(R"({"choices":[{"delta":{"content":"first"}},{"delta":{"content":"second"}}]})");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "first");
}

TEST(OpenAiChunkDecoder, UnknownFieldsAreSkipped) {
  Decoded d;
  d.feed(
      R"({"x":[1,{"y":null}],"choices":[{"logprobs":null,"delta":{"tool_calls":[{"id":"t"}],"content":"ok"}}],"system_fingerprint":"fp"})");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "ok");
}

StreamError error_of(const std::string& payload) {
  Decoded d;
  d.feed(payload).feed(chunk(R"({"content":"ignored"})")).finish();
  EXPECT_EQ(d.out.events.size(), 1u) << payload;
  EXPECT_EQ(d.out.events[0].kind, Kind::Error);
  EXPECT_TRUE(d.decoder.ended());
  return d.out.events[0].error.value_or(StreamError{});
}

TEST(OpenAiChunkDecoder, Errors) {
  const StreamError limited =
      error_of(R"({"error":{"message":"Rate limit reached","type":"requests","code":429}})");
  EXPECT_EQ(limited.message, "Rate limit reached");
  EXPECT_EQ(limited.code, "429");
  EXPECT_TRUE(limited.code_is_number);
  EXPECT_EQ(limited.http_status, 429);
  EXPECT_EQ(limited.origin, StreamError::Origin::Upstream);

  EXPECT_EQ(error_of(R"({"error":{"message":"bad key","code":401}})").http_status, 401);
  EXPECT_EQ(error_of(R"({"error":{"message":"no","code":403}})").http_status, 403);
  EXPECT_EQ(error_of(R"({"error":{"message":"boom","code":500}})").http_status, 502);
  EXPECT_EQ(error_of(R"({"error":{"message":"boom","code":400}})").http_status, 502);

  const StreamError text_code = error_of(
      R"({"error":{"message":"m","type":"invalid_request_error","code":"model_not_found"}})");
  EXPECT_EQ(text_code.code, "model_not_found");
  EXPECT_FALSE(text_code.code_is_number);
  EXPECT_EQ(text_code.http_status, 502);

  const StreamError no_code = error_of(R"({"error":{"message":"just a message","code":null}})");
  EXPECT_EQ(no_code.message, "just a message");
  EXPECT_EQ(no_code.code, "");
  EXPECT_EQ(no_code.http_status, 502);

  EXPECT_EQ(error_of(R"({"error":"plain text"})").message, "plain text");
}

TEST(OpenAiChunkDecoder, NullErrorIsNoError) {
  Decoded d;
  d.feed(R"({"error":null,"choices":[{"delta":{"content":"ok"}}]})");
  EXPECT_EQ(d.out.count(Kind::Error), 0u);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "ok");
}

TEST(OpenAiChunkDecoder, BadPayloadsAreProtocolErrors) {
  for (const char* payload : {"not json", R"({"choices":[{"delta":{"content":"x"})",
                              R"({"choices":[]} extra)", "[1,2]", "\"string\""}) {
    Decoded d;
    d.feed(payload).finish();
    ASSERT_EQ(d.out.events.size(), 1u) << payload;
    ASSERT_EQ(d.out.events[0].kind, Kind::Error);
    EXPECT_EQ(d.out.events[0].error->origin, StreamError::Origin::Protocol);
    EXPECT_EQ(d.out.events[0].error->code, "invalid_upstream_event");
    EXPECT_EQ(d.out.events[0].error->http_status, 502);
  }
}

TEST(OpenAiChunkDecoder, EmptyPayloadIsIgnored) {
  Decoded d;
  d.feed("").feed("  ");
  EXPECT_TRUE(d.out.events.empty());
  EXPECT_FALSE(d.decoder.ended());
}

TEST(OpenAiChunkDecoder, InvalidUtf8AndSurrogates) {
  Decoded d;
  d.feed(chunk("{\"content\":\"a\xFF\\udc00\"}"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(OpenAiChunkDecoder, SurrogatePairSplitAcrossChunksOfOneChannel) {
  Decoded d;
  d.feed(chunk(R"({"content":"a\ud83d"})"))
      .feed(chunk(R"({"reasoning_content":"r"})"))  // another channel: does not break the pair
      .feed(chunk(R"({"content":"\ude00b"})"))
      .feed(chunk(R"({"reasoning_content":"\ud83d"})"))
      .finish();
  EXPECT_EQ(d.out.text_of(Kind::Answer),
            "a\xF0\x9F\x98\x80"
            "b");
  EXPECT_EQ(d.out.text_of(Kind::Reasoning), "r\xEF\xBF\xBD");  // unpaired at the end
  EXPECT_EQ(d.out.events.back().kind, Kind::End);
}

TEST(OpenAiChunkDecoder, ThroughTheSseFramer) {
  struct Pipeline : SseSink {
    Decoded decoded;
    void on_event(const SseEvent& e) override { decoded.feed(e.data); }
    void on_error(const StreamError&) override { ADD_FAILURE(); }
  } pipeline;
  SseFramer framer;
  const std::string stream = "data: " + chunk(R"({"role":"assistant","reasoning_content":"hm"})") +
                             "\r\n\r\n" + "data: " + chunk(R"({"content":"Hi"})") + "\r\n\r\n" +
                             ": keep-alive\r\n\r\n" + "data: " + chunk("{}", "\"stop\"") +
                             "\r\n\r\ndata: [DONE]\r\n\r\n";
  for (char c : stream) framer.feed(std::string_view(&c, 1), pipeline);
  framer.finish(pipeline);
  pipeline.decoded.finish();
  const SourceCollector& out = pipeline.decoded.out;
  EXPECT_EQ(out.text_of(Kind::Reasoning), "hm");
  EXPECT_EQ(out.text_of(Kind::Answer), "Hi");
  ASSERT_EQ(out.count(Kind::End), 1u);
  EXPECT_EQ(out.events.back().finish_reason, "stop");
}

}  // namespace
}  // namespace zaiproxy
