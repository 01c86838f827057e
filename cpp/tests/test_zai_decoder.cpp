// ZaiDecoder: the golden streams of upstream-protocol.md §4.9 end to end through the SseFramer,
// under every split of their bytes, and the document model, envelope, error and UTF-8 rules one
// at a time. Expected values come from the spec (expected.json) or are written out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "support.hpp"
#include "zaiproxy/sse_framer.hpp"
#include "zaiproxy/zai_decoder.hpp"

namespace zaiproxy {
namespace {

using testing::OwnedSourceEvent;
using testing::read_golden;
using testing::SourceCollector;
using Kind = SourceEvent::Kind;

// bytes → SseFramer → ZaiDecoder → collector, as the pipeline wires them.
struct ZaiPipeline : SseSink {
  SseFramer framer;
  ZaiDecoder decoder;
  SourceCollector out;
  std::vector<StreamError> framing_errors;

  explicit ZaiPipeline(ZaiDecoderOptions options = {}) : decoder(options) {}
  void on_event(const SseEvent& event) override { decoder.feed(event.data, out); }
  void on_error(const StreamError& error) override { framing_errors.push_back(error); }

  void feed(std::string_view bytes) { framer.feed(bytes, *this); }
  void finish() {
    framer.finish(*this);
    decoder.finish(out);
  }
};

// Feeds `bytes` cut at `cuts` (ascending offsets) and finishes.
void run(ZaiPipeline& pipeline, std::string_view bytes, const std::vector<size_t>& cuts = {}) {
  size_t from = 0;
  for (size_t cut : cuts) {
    pipeline.feed(bytes.substr(from, cut - from));
    from = cut;
  }
  pipeline.feed(bytes.substr(from));
  pipeline.finish();
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Thinking:
      return "Thinking";
    case Kind::Answer:
      return "Answer";
    case Kind::Snapshot:
      return "Snapshot";
    case Kind::Reasoning:
      return "Reasoning";
    case Kind::ToolBlock:
      return "ToolBlock";
    case Kind::Usage:
      return "Usage";
    case Kind::Error:
      return "Error";
    case Kind::End:
      return "End";
  }
  return "?";
}

// The events with consecutive text of the same kind and phase merged: what a consumer folds the
// stream into, independent of how the text was cut.
std::string fold(const std::vector<OwnedSourceEvent>& events) {
  std::string out;
  const OwnedSourceEvent* previous = nullptr;
  for (const auto& e : events) {
    const bool text_kind = e.kind == Kind::Thinking || e.kind == Kind::Answer;
    if (!(text_kind && previous && previous->kind == e.kind && previous->phase == e.phase)) {
      out += "\n";
      out += kind_name(e.kind);
      out += "/" + std::to_string(static_cast<int>(e.phase)) + ": ";
    }
    out += e.text;
    if (e.kind == Kind::ToolBlock) out += " name=" + e.tool_name + " arguments=" + e.tool_arguments;
    if (e.kind == Kind::Usage || e.kind == Kind::End)
      out += std::to_string(e.usage.prompt_tokens) + "/" +
             std::to_string(e.usage.completion_tokens) + "/" + std::to_string(e.usage.total_tokens);
    if (e.error) out += e.error->code + " " + e.error->message;
    previous = &e;
  }
  return out;
}

std::string folded_golden(const std::string& bytes, const std::vector<size_t>& cuts = {}) {
  ZaiPipeline pipeline;
  run(pipeline, bytes, cuts);
  EXPECT_TRUE(pipeline.framing_errors.empty());
  return fold(pipeline.out.events);
}

const nlohmann::json& expected() {
  static const nlohmann::json json = nlohmann::json::parse(read_golden("expected.json"));
  return json;
}

Usage expected_usage(const char* stream) {
  const auto& u = expected()[stream]["usage"];
  return Usage{u[0].get<int64_t>(), u[1].get<int64_t>(), u[2].get<int64_t>()};
}

void expect_usage(const SourceCollector& out, const char* stream) {
  const Usage want = expected_usage(stream);
  ASSERT_EQ(out.count(Kind::Usage), 1u);
  for (const auto& e : out.events) {
    if (e.kind != Kind::Usage) continue;
    EXPECT_EQ(e.usage.prompt_tokens, want.prompt_tokens);
    EXPECT_EQ(e.usage.completion_tokens, want.completion_tokens);
    EXPECT_EQ(e.usage.total_tokens, want.total_tokens);
  }
  EXPECT_EQ(out.events.back().usage.total_tokens, want.total_tokens);  // End carries it too
}

// Exactly one End, last.
void expect_clean_end(const SourceCollector& out) {
  ASSERT_FALSE(out.events.empty());
  EXPECT_EQ(out.events.back().kind, Kind::End);
  EXPECT_EQ(out.count(Kind::End), 1u);
  EXPECT_EQ(out.count(Kind::Error), 0u);
}

// The JSON of a ToolBlock: between the first '>' and `</glm_block>`.
nlohmann::json block_json(const std::string& block) {
  const size_t open_end = block.find('>');
  const size_t close = block.rfind("</glm_block>");
  return nlohmann::json::parse(block.substr(open_end + 1, close - open_end - 1));
}

const std::vector<const char*> kGoldenStreams = {
    "a_plain_answer.sse", "b_thinking_answer.sse",  "c_glm_block_tool.sse", "d_web_search.sse",
    "e1_error_426.sse",   "e2_error_403_model.sse", "e3_error_captcha.sse"};

// ───── golden streams ─────

TEST(ZaiGolden, APlainAnswer) {
  ZaiPipeline p;
  run(p, read_golden("a_plain_answer.sse"));
  EXPECT_EQ(p.out.text_of(Kind::Answer), expected()["a_plain_answer"]["content"]);
  EXPECT_EQ(p.out.text_of(Kind::Answer), "你好！有什么可以帮你的吗？");
  EXPECT_EQ(p.out.count(Kind::Thinking), 0u);
  EXPECT_EQ(p.out.count(Kind::Snapshot), 0u);
  EXPECT_EQ(p.out.count(Kind::ToolBlock), 0u);
  EXPECT_EQ(p.out.events[0].phase, Phase::Answer);
  expect_usage(p.out, "a_plain_answer");
  expect_clean_end(p.out);
  EXPECT_EQ(p.decoder.document(), "你好！有什么可以帮你的吗？");
  EXPECT_EQ(p.decoder.document_utf16_length(), 13u);
}

TEST(ZaiGolden, BThinkingAnswer) {
  ZaiPipeline p;
  run(p, read_golden("b_thinking_answer.sse"));
  EXPECT_EQ(p.out.text_of(Kind::Thinking), expected()["b_thinking_answer"]["raw_thinking"]);
  for (const auto& e : p.out.events) {
    if (e.kind == Kind::Thinking) {
      EXPECT_EQ(e.phase, Phase::Thinking);
    }
  }
  // The close of the thinking block rewinds to index 32: a snapshot, verbatim.
  ASSERT_EQ(p.out.count(Kind::Snapshot), 1u);
  const auto snapshot = std::find_if(p.out.events.begin(), p.out.events.end(),
                                     [](const auto& e) { return e.kind == Kind::Snapshot; });
  EXPECT_EQ(
      snapshot->text,
      "true\">\n> \n> \n> 用户在打招呼，我应该礼貌地回应。\n> \n> 简短即可。\n</details>\n你好");
  EXPECT_EQ(snapshot->phase, Phase::Answer);
  // Then the answer deltas; the final edit at 94 is an append.
  EXPECT_EQ(p.out.text_of(Kind::Answer), "！很高兴见到你。");
  EXPECT_EQ(p.out.count(Kind::ToolBlock), 0u);
  expect_usage(p.out, "b_thinking_answer");
  expect_clean_end(p.out);
  EXPECT_EQ(p.decoder.document(),
            "<details type=\"reasoning\" done=\"true\">\n> \n> \n> "
            "用户在打招呼，我应该礼貌地回应。\n> \n> 简短即可。\n</details>\n你好！很高兴见到你。");
}

TEST(ZaiGolden, CGlmBlockTool) {
  ZaiPipeline p;
  run(p, read_golden("c_glm_block_tool.sse"));
  EXPECT_EQ(p.out.text_of(Kind::Answer), expected()["c_glm_block_tool"]["content"]);
  EXPECT_EQ(p.out.text_of(Kind::Answer), "我来打开这个网页。\n\n");
  EXPECT_EQ(p.out.count(Kind::Snapshot), 0u);
  ASSERT_EQ(p.out.count(Kind::ToolBlock), 1u);
  // Reported once the phase-other edit at 187 finished it: before the usage event.
  ASSERT_GE(p.out.events.size(), 4u);
  EXPECT_EQ(p.out.events[1].kind, Kind::ToolBlock);
  EXPECT_EQ(p.out.events[1].phase, Phase::Other);
  EXPECT_EQ(p.out.events[2].kind, Kind::Usage);
  const std::string block = p.out.text_of(Kind::ToolBlock);
  EXPECT_EQ(block.rfind("<glm_block view=\"\">", 0), 0u);
  const nlohmann::json json = block_json(block);
  EXPECT_EQ(json["data"]["metadata"]["name"], expected()["c_glm_block_tool"]["tool_block_name"]);
  EXPECT_EQ(json["data"]["metadata"]["arguments"],
            expected()["c_glm_block_tool"]["tool_block_arguments"]);
  EXPECT_EQ(json["data"]["metadata"]["arguments"], "{\"url\":\"https://www.bilibili.com\"}");
  EXPECT_TRUE(json["data"]["metadata"]["result"].is_null());
  const OwnedSourceEvent& tool = p.out.events[1];
  EXPECT_EQ(tool.tool_name, expected()["c_glm_block_tool"]["tool_block_name"]);
  EXPECT_EQ(tool.tool_name, "browser_navigate");
  EXPECT_EQ(tool.tool_arguments, expected()["c_glm_block_tool"]["tool_block_arguments"]);
  EXPECT_EQ(tool.tool_arguments, "{\"url\":\"https://www.bilibili.com\"}");
  EXPECT_EQ(p.decoder.document(), "我来打开这个网页。\n\n" + block);
  expect_usage(p.out, "c_glm_block_tool");
  expect_clean_end(p.out);
}

TEST(ZaiGolden, DWebSearch) {
  ZaiPipeline p;
  run(p, read_golden("d_web_search.sse"));
  ASSERT_EQ(p.out.events.size(), 5u);
  EXPECT_EQ(p.out.events[0].kind, Kind::ToolBlock);
  EXPECT_EQ(block_json(p.out.events[0].text)["data"]["metadata"]["name"], "search");
  EXPECT_EQ(p.out.events[0].tool_name, expected()["d_web_search"]["tool_block_name"]);
  EXPECT_EQ(p.out.events[0].tool_arguments, "{\"queries\": [\"Redis 8 new features\"]}");
  EXPECT_EQ(p.out.events[1].kind, Kind::Answer);
  EXPECT_EQ(p.out.events[1].text, "\n\n");
  EXPECT_EQ(p.out.events[2].kind, Kind::Answer);
  EXPECT_EQ(p.out.events[2].text,
            "Redis 8 已正式发布【turn0search0】，新增向量集合等功能【turn0search1】。");
  EXPECT_EQ(p.out.text_of(Kind::Answer), expected()["d_web_search"]["content"]);
  expect_usage(p.out, "d_web_search");
  expect_clean_end(p.out);
}

void expect_golden_error(const char* file, const char* stream, int http_status) {
  ZaiPipeline p;
  run(p, read_golden(file));
  ASSERT_EQ(p.out.events.size(), 1u) << fold(p.out.events);
  const auto& e = p.out.events[0];
  ASSERT_EQ(e.kind, Kind::Error);
  ASSERT_TRUE(e.error.has_value());
  const auto& want = expected()[stream]["error"];
  EXPECT_EQ(e.error->origin, StreamError::Origin::Upstream);
  if (want["code"].is_number()) {
    EXPECT_TRUE(e.error->code_is_number);
    EXPECT_EQ(e.error->code, std::to_string(want["code"].get<int>()));
  } else {
    EXPECT_FALSE(e.error->code_is_number);
    EXPECT_EQ(e.error->code, want["code"].get<std::string>());
  }
  EXPECT_EQ(e.error->message, want["message"].get<std::string>());
  EXPECT_EQ(e.error->http_status, http_status);
  EXPECT_TRUE(p.decoder.ended());
}

TEST(ZaiGolden, E1Error426IsTheOperatorsProblem) {
  expect_golden_error("e1_error_426.sse", "e1_error_426", 502);
}
TEST(ZaiGolden, E2Error403PassesThrough) {
  expect_golden_error("e2_error_403_model.sse", "e2_error_403_model", 403);
}
TEST(ZaiGolden, E3CaptchaIsForbidden) {
  expect_golden_error("e3_error_captcha.sse", "e3_error_captcha", 403);
}

TEST(ZaiGolden, EverySplitIntoTwoFeedsGivesTheSameFold) {
  for (const char* name : kGoldenStreams) {
    const std::string bytes = read_golden(name);
    const std::string whole = folded_golden(bytes);
    for (size_t cut = 0; cut <= bytes.size(); ++cut)
      ASSERT_EQ(folded_golden(bytes, {cut}), whole) << name << " cut at " << cut;
  }
}

TEST(ZaiGolden, RandomSplitsGiveTheSameFold) {
  for (const char* name : kGoldenStreams) {
    const std::string bytes = read_golden(name);
    const std::string whole = folded_golden(bytes);
    for (unsigned seed = 1; seed <= 50; ++seed) {
      std::mt19937 random(seed);
      std::vector<size_t> cuts;
      for (size_t at = random() % 7; at < bytes.size(); at += 1 + random() % 23) cuts.push_back(at);
      ASSERT_EQ(folded_golden(bytes, cuts), whole) << name << " seed " << seed;
    }
  }
}

TEST(ZaiGolden, OneByteFeedsGiveTheSameFold) {
  for (const char* name : kGoldenStreams) {
    const std::string bytes = read_golden(name);
    std::vector<size_t> cuts;
    for (size_t at = 1; at < bytes.size(); ++at) cuts.push_back(at);
    EXPECT_EQ(folded_golden(bytes, cuts), folded_golden(bytes)) << name;
  }
}

// ───── direct feeding ─────

struct Decoded {
  ZaiDecoder decoder;
  SourceCollector out;
  explicit Decoded(ZaiDecoderOptions options = {}) : decoder(options) {}
  Decoded& feed(std::string_view payload) {
    decoder.feed(payload, out);
    return *this;
  }
  Decoded& finish() {
    decoder.finish(out);
    return *this;
  }
};

std::string delta(const std::string& text, const char* phase = "answer") {
  return R"({"type":"chat:completion","data":{"delta_content":")" + text + R"(","phase":")" +
         phase + "\"}}";
}

std::string edit(int64_t index, const std::string& text, const char* phase = "answer") {
  return R"({"type":"chat:completion","data":{"edit_index":)" + std::to_string(index) +
         R"(,"edit_content":")" + text + R"(","phase":")" + phase + "\"}}";
}

TEST(ZaiEnvelope, KeysInAnyOrder) {
  Decoded d;
  d.feed(R"({"data":{"phase":"answer","delta_content":"hi"},"type":"chat:completion"})");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "hi");
}

TEST(ZaiEnvelope, ObjectWithoutTypeIsTheDataItself) {
  Decoded d;
  d.feed(R"({"delta_content":"hi","phase":"answer"})");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "hi");
  d.feed(R"({"done":true})");
  expect_clean_end(d.out);
}

TEST(ZaiEnvelope, OtherTypesAreIgnored) {
  Decoded d;
  for (const char* type :
       {"status", "chat:title", "chat:tags", "notification", "conn:heartbeat", "something:new"})
    d.feed(std::string(R"({"type":")") + type +
           R"(","data":{"delta_content":"x","phase":"answer","done":true}})");
  EXPECT_TRUE(d.out.events.empty());
  EXPECT_FALSE(d.decoder.ended());
}

TEST(ZaiEnvelope, FinishTypeEnds) {
  Decoded d;
  d.feed(delta("a")).feed(R"({"type":"chat:completion:finish","data":{}})");
  expect_clean_end(d.out);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a");
}

TEST(ZaiEnvelope, DoneMarkersEnd) {
  for (const char* last :
       {R"({"type":"chat:completion","data":{"done":true}})",
        R"({"type":"chat:completion","data":{"phase":"done"}})",
        R"({"type":"chat:completion","data":{"phase":"finish"}})", "[DONE]", "  [DONE]\n"}) {
    Decoded d;
    d.feed(delta("a")).feed(last);
    EXPECT_TRUE(d.decoder.ended()) << last;
    expect_clean_end(d.out);
    // Nothing after the end, not even from finish().
    d.feed(delta("b")).finish();
    EXPECT_EQ(d.out.count(Kind::End), 1u);
    EXPECT_EQ(d.out.text_of(Kind::Answer), "a");
  }
}

TEST(ZaiEnvelope, EmptyPayloadIsIgnored) {
  Decoded d;
  d.feed("").feed(" \r\n");
  EXPECT_TRUE(d.out.events.empty());
  EXPECT_FALSE(d.decoder.ended());
}

TEST(ZaiEnvelope, EmptyStreamEndsAtFinish) {
  Decoded d;
  d.finish();
  ASSERT_EQ(d.out.events.size(), 1u);
  EXPECT_EQ(d.out.events[0].kind, Kind::End);
  EXPECT_TRUE(d.decoder.ended());
}

TEST(ZaiEnvelope, EofIsANormalEnd) {
  Decoded d;
  d.feed(delta("partial answer")).finish();
  EXPECT_EQ(d.out.text_of(Kind::Answer), "partial answer");
  expect_clean_end(d.out);
}

void expect_protocol_error(const std::string& payload) {
  Decoded d;
  d.feed(delta("before")).feed(payload).feed(delta("after")).finish();
  ASSERT_EQ(d.out.count(Kind::Error), 1u) << payload;
  const auto& e = d.out.events.back();
  ASSERT_EQ(e.kind, Kind::Error);
  EXPECT_EQ(e.error->origin, StreamError::Origin::Protocol);
  EXPECT_EQ(e.error->code, "invalid_upstream_event");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "before");
  EXPECT_EQ(d.out.count(Kind::End), 0u);
  EXPECT_TRUE(d.decoder.ended());
}

TEST(ZaiEnvelope, BadPayloadsAreProtocolErrors) {
  expect_protocol_error("not json");
  expect_protocol_error(R"({"type":"chat:completion","data":{"delta_content":"x")");  // truncated
  expect_protocol_error(R"({"type":"chat:completion","data":{"delta_content":"x"}} trailing)");
  expect_protocol_error(R"({"type":"chat:completion",})");
  expect_protocol_error(R"(["an array"])");
  expect_protocol_error(R"({"delta_content":"bad \x escape"})");
}

TEST(ZaiEnvelope, DeeplyNestedPayloadIsAProtocolErrorNotACrash) {
  std::string payload = R"({"type":"chat:completion","data":{"x":)";
  for (int i = 0; i < 200000; ++i) payload += "[{\"a\":";
  expect_protocol_error(payload);
  // Unknown but well-formed nesting within the limit is skipped.
  Decoded d;
  d.feed(R"({"type":"chat:completion","data":{"x":[[[{"y":[[]]}]]],"delta_content":"ok"}})");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "ok");
}

TEST(ZaiEnvelope, ProtocolErrorQuotesAShortSanitizedPrefix) {
  Decoded d;
  const std::string payload = "<html>\x01\n" + std::string(200, 'x');
  d.feed(payload);
  ASSERT_EQ(d.out.count(Kind::Error), 1u);
  const std::string& message = d.out.events[0].error->message;
  EXPECT_NE(message.find("<html>  xxx"), std::string::npos) << message;
  EXPECT_EQ(message.find(std::string(81, 'x')), std::string::npos);
  EXPECT_LT(message.size(), 80u + 64u);
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(ZaiEnvelope, ProtocolErrorQuoteNeverSplitsACharacter) {
  Decoded d;
  std::string payload;
  for (int i = 0; i < 40; ++i) payload += "你";  // 3 bytes each: 80 is not a boundary
  d.feed(payload);
  const std::string& message = d.out.events[0].error->message;
  std::string longest_quote;
  for (int i = 0; i < 26; ++i) longest_quote += "你";  // 78 bytes
  EXPECT_NE(message.find(longest_quote), std::string::npos);
  EXPECT_EQ(message.find(longest_quote + "你"), std::string::npos);
  EXPECT_EQ(message.find("\xEF\xBF\xBD"), std::string::npos);  // no U+FFFD from a cut
}

// ───── errors ─────

StreamError error_of(const std::string& payload) {
  Decoded d;
  d.feed(payload).feed(delta("ignored")).finish();
  EXPECT_EQ(d.out.events.size(), 1u) << payload;
  EXPECT_EQ(d.out.events[0].kind, Kind::Error);
  return d.out.events[0].error.value_or(StreamError{});
}

TEST(ZaiErrors, FoundAtEachLevel) {
  EXPECT_EQ(error_of(R"({"type":"chat:completion","error":{"code":500,"detail":"top"}})").message,
            "top");
  EXPECT_EQ(
      error_of(R"({"type":"chat:completion","data":{"error":{"code":500,"detail":"d"}}})").message,
      "d");
  EXPECT_EQ(
      error_of(R"({"type":"chat:completion","data":{"data":{"error":{"code":500,"detail":"dd"}}}})")
          .message,
      "dd");
  EXPECT_EQ(error_of(R"({"error":{"code":500,"detail":"no type"}})").message, "no type");
}

TEST(ZaiErrors, MessageFallsBackFromDetailToMessageToMsgToCode) {
  const auto with = [](const std::string& fields) {
    return error_of(R"({"type":"chat:completion","data":{"error":{)" + fields + "}}}");
  };
  EXPECT_EQ(with(R"("msg":"m3","message":"m2","detail":"m1","code":1)").message, "m1");
  EXPECT_EQ(with(R"("msg":"m3","message":"m2","code":1)").message, "m2");
  EXPECT_EQ(with(R"("msg":"m3","code":1)").message, "m3");
  EXPECT_EQ(with(R"("code":"SOME_CODE")").message, "SOME_CODE");
  EXPECT_EQ(with(R"("detail":[{"loc":"x"}],"message":"m2")").message, "m2");
}

TEST(ZaiErrors, HttpStatusSuggestions) {
  const auto status = [](const std::string& code) {
    return error_of(R"({"type":"chat:completion","data":{"error":{"code":)" + code +
                    R"(,"detail":"x"}}})")
        .http_status;
  };
  EXPECT_EQ(status("401"), 401);
  EXPECT_EQ(status("403"), 403);
  EXPECT_EQ(status("429"), 429);
  EXPECT_EQ(status("426"), 502);
  EXPECT_EQ(status("400"), 502);
  EXPECT_EQ(status("500"), 502);
  EXPECT_EQ(status("\"FRONTEND_CAPTCHA_REQUIRED\""), 403);
  EXPECT_EQ(status("\"INTERNAL_ERROR\""), 502);
  EXPECT_EQ(status("\"429\""), 502);  // only numbers pass through
}

TEST(ZaiErrors, CodeKinds) {
  const StreamError number = error_of(R"({"data":{"error":{"code":426}}})");
  EXPECT_EQ(number.code, "426");
  EXPECT_TRUE(number.code_is_number);
  EXPECT_EQ(number.origin, StreamError::Origin::Upstream);
  const StreamError text = error_of(R"({"data":{"error":{"code":"E1","detail":"d"}}})");
  EXPECT_EQ(text.code, "E1");
  EXPECT_FALSE(text.code_is_number);
}

TEST(ZaiErrors, NullErrorIsNoError) {
  Decoded d;
  d.feed(
      R"({"type":"chat:completion","data":{"error":null,"delta_content":"ok","phase":"answer"}})");
  EXPECT_EQ(d.out.count(Kind::Error), 0u);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "ok");
}

TEST(ZaiErrors, ErrorComesBeforeContentOfTheSameEvent) {
  Decoded d;
  d.feed(R"({"type":"chat:completion","data":{"delta_content":"x","error":{"code":1}}})");
  ASSERT_EQ(d.out.events.size(), 1u);
  EXPECT_EQ(d.out.events[0].kind, Kind::Error);
}

// ───── document model ─────

TEST(ZaiDocument, DeltasAppend) {
  Decoded d;
  d.feed(delta("Hello, ")).feed(delta("world"));
  EXPECT_EQ(d.decoder.document(), "Hello, world");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "Hello, world");
  EXPECT_EQ(d.decoder.document_utf16_length(), 12u);
}

TEST(ZaiDocument, EditAtTheEndIsAnAppend) {
  Decoded d;
  d.feed(delta("ab")).feed(edit(2, "cd"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "abcd");
  EXPECT_EQ(d.out.count(Kind::Snapshot), 0u);
}

TEST(ZaiDocument, EditBeyondTheEndIsClampedToAnAppend) {
  Decoded d;
  d.feed(delta("ab")).feed(edit(1000, "cd"));
  EXPECT_EQ(d.decoder.document(), "abcd");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "abcd");
}

TEST(ZaiDocument, EditWithoutIndexIsAnAppend) {
  Decoded d;
  d.feed(delta("ab")).feed(R"({"type":"chat:completion","data":{"edit_content":"cd"}})");
  EXPECT_EQ(d.decoder.document(), "abcd");
}

TEST(ZaiDocument, NegativeEditIndexIsClampedToZero) {
  Decoded d;
  d.feed(delta("ab")).feed(edit(-5, "xy"));
  EXPECT_EQ(d.decoder.document(), "xy");
  ASSERT_EQ(d.out.count(Kind::Snapshot), 1u);
  EXPECT_EQ(d.out.text_of(Kind::Snapshot), "xy");
}

TEST(ZaiDocument, EditExtendingTheDocumentReportsOnlyTheExtension) {
  Decoded d;
  d.feed(delta("Hello")).feed(edit(3, "lo world"));
  EXPECT_EQ(d.decoder.document(), "Hello world");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "Hello world");
  EXPECT_EQ(d.out.count(Kind::Snapshot), 0u);
}

TEST(ZaiDocument, RewritingEditIsASnapshotVerbatim) {
  Decoded d;
  d.feed(delta("Hello there")).feed(edit(6, "world"));
  EXPECT_EQ(d.decoder.document(), "Hello world");
  EXPECT_EQ(d.out.text_of(Kind::Snapshot), "world");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "Hello there");
  d.feed(delta("!"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "Hello there!");
}

TEST(ZaiDocument, RewritingEditInThinkingIsASnapshotToo) {
  Decoded d;
  d.feed(delta("abc", "thinking")).feed(edit(1, "X", "thinking"));
  ASSERT_EQ(d.out.count(Kind::Snapshot), 1u);
  EXPECT_EQ(d.out.events.back().phase, Phase::Thinking);
  EXPECT_EQ(d.out.text_of(Kind::Thinking), "abc");
}

TEST(ZaiDocument, PhaseIsKeptByEventsWithoutOne) {
  Decoded d;
  d.feed(delta("t", "thinking")).feed(R"({"type":"chat:completion","data":{"delta_content":"u"}})");
  EXPECT_EQ(d.out.text_of(Kind::Thinking), "tu");
}

TEST(ZaiDocument, UnknownPhasesAreOther) {
  Decoded d;
  d.feed(delta("a", "tool_response")).feed(delta("b", "brand_new"));
  ASSERT_EQ(d.out.events.size(), 2u);
  EXPECT_EQ(d.out.events[0].phase, Phase::Other);
  EXPECT_EQ(d.out.events[1].phase, Phase::Other);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "ab");
}

TEST(ZaiDocument, EditIndexCountsUtf16Units) {
  Decoded d;
  // 😀 is 4 UTF-8 bytes and 2 UTF-16 units; 你 is 3 bytes and 1 unit.
  d.feed(delta("a😀你b"));
  EXPECT_EQ(d.decoder.document_utf16_length(), 5u);
  d.feed(edit(4, "c"));  // after 你
  EXPECT_EQ(d.decoder.document(), "a😀你c");
  EXPECT_EQ(d.decoder.document_utf16_length(), 5u);
  d.feed(edit(3, "d"));  // after 😀
  EXPECT_EQ(d.decoder.document(), "a😀d");
  EXPECT_EQ(d.decoder.document_utf16_length(), 4u);
}

TEST(ZaiDocument, EditInsideASurrogatePairMovesBackToTheCodePoint) {
  Decoded d;
  d.feed(delta("a😀b")).feed(edit(2, "X"));  // index 2 is between the two halves of 😀
  EXPECT_EQ(d.decoder.document(), "aX");
  EXPECT_EQ(d.decoder.document_utf16_length(), 2u);
  EXPECT_EQ(d.out.text_of(Kind::Snapshot), "X");
}

TEST(ZaiDocument, EditNeverSplitsAMultiByteCharacter) {
  Decoded d;
  d.feed(delta("你好")).feed(edit(1, "们"));
  EXPECT_EQ(d.decoder.document(), "你们");
  d.feed(edit(0, "😀"));
  EXPECT_EQ(d.decoder.document(), "😀");
  EXPECT_EQ(d.decoder.document_utf16_length(), 2u);
}

TEST(ZaiDocument, EditsNearTheEndOfALongDocument) {
  Decoded d;
  std::string text;
  for (int i = 0; i < 500; ++i) text += "😀你a";  // 4 units each
  d.feed(delta(text));
  EXPECT_EQ(d.decoder.document_utf16_length(), 2000u);
  d.feed(edit(1999, "Z"));  // before the last 'a'
  EXPECT_EQ(d.decoder.document().substr(d.decoder.document().size() - 4), "你Z");
  d.feed(edit(1997, "Y"));  // inside the last 😀: back to its start
  EXPECT_EQ(d.decoder.document_utf16_length(), 1997u);
  EXPECT_EQ(d.decoder.document().back(), 'Y');
  d.feed(edit(5, "W"));  // inside the second 😀, walked from the front
  EXPECT_EQ(d.decoder.document(), "😀你aW");
  EXPECT_EQ(d.decoder.document_utf16_length(), 5u);
}

TEST(ZaiDocument, DeltaThenEditInOneEvent) {
  Decoded d;
  d.feed(delta("abc"));
  d.feed(
      R"({"type":"chat:completion","data":{"edit_content":"X","edit_index":4,"delta_content":"d"}})");
  EXPECT_EQ(d.decoder.document(), "abcdX");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "abcdX");
}

TEST(ZaiDocument, SizeCapFailsTheResponse) {
  Decoded d(ZaiDecoderOptions{16});
  d.feed(delta("0123456789")).feed(delta("0123456789")).feed(delta("more")).finish();
  ASSERT_EQ(d.out.count(Kind::Error), 1u);
  EXPECT_EQ(d.out.events.back().error->code, "upstream_response_too_large");
  EXPECT_EQ(d.out.events.back().error->origin, StreamError::Origin::Protocol);
  EXPECT_EQ(d.out.count(Kind::End), 0u);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "0123456789");
  EXPECT_LE(d.decoder.document().size(), 16u);
}

TEST(ZaiDocument, SizeCapAppliesToEdits) {
  Decoded d(ZaiDecoderOptions{16});
  d.feed(delta("0123456789")).feed(edit(2, "0123456789ABCDEF"));
  EXPECT_EQ(d.out.count(Kind::Error), 1u);
  Decoded fits(ZaiDecoderOptions{16});
  fits.feed(delta("0123456789")).feed(edit(0, "0123456789ABCDEF"));
  EXPECT_EQ(fits.out.count(Kind::Error), 0u);
}

// ───── usage ─────

TEST(ZaiUsage, MissingTotalIsTheSum) {
  Decoded d;
  d.feed(
      R"({"type":"chat:completion","data":{"usage":{"prompt_tokens":3,"completion_tokens":4}}})");
  ASSERT_EQ(d.out.count(Kind::Usage), 1u);
  EXPECT_EQ(d.out.events[0].usage.total_tokens, 7);
}

TEST(ZaiUsage, EmptyUsageIsNotReportedAndTheLastNonEmptyIsKept) {
  Decoded d;
  d.feed(R"({"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})");
  d.feed(R"({"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}})");
  d.feed(R"({"usage":null})");
  d.feed(R"({"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11,"x":{}}})");
  d.finish();
  EXPECT_EQ(d.out.count(Kind::Usage), 2u);
  EXPECT_EQ(d.out.events.back().kind, Kind::End);
  EXPECT_EQ(d.out.events.back().usage.total_tokens, 11);
}

TEST(ZaiUsage, UsageComesBeforeTheEndOfTheSameEvent) {
  Decoded d;
  d.feed(
      R"({"type":"chat:completion","data":{"done":true,"usage":{"prompt_tokens":1},"delta_content":"x"}})");
  ASSERT_EQ(d.out.events.size(), 3u);
  EXPECT_EQ(d.out.events[0].kind, Kind::Answer);
  EXPECT_EQ(d.out.events[1].kind, Kind::Usage);
  EXPECT_EQ(d.out.events[2].kind, Kind::End);
}

// ───── UTF-8 and surrogates ─────

TEST(ZaiUtf8, SurrogatePairSplitAcrossDeltasIsJoined) {
  Decoded d;
  d.feed(delta("a\\ud83d")).feed(delta("\\ude00b")).finish();
  EXPECT_EQ(d.out.text_of(Kind::Answer),
            "a\xF0\x9F\x98\x80"
            "b");
  EXPECT_EQ(d.decoder.document_utf16_length(), 4u);
}

TEST(ZaiUtf8, UnpairedPendingSurrogateBecomesReplacement) {
  Decoded d;
  d.feed(delta("a\\ud83d")).feed(delta("b")).finish();
  EXPECT_EQ(d.out.text_of(Kind::Answer),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(ZaiUtf8, PendingSurrogateAtTheEndBecomesReplacement) {
  Decoded d;
  d.feed(delta("a\\ud83d")).finish();
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a\xEF\xBF\xBD");
  expect_clean_end(d.out);
}

TEST(ZaiUtf8, PendingSurrogateBeforeAnEditIsFlushed) {
  Decoded d;
  d.feed(delta("ab\\ud83d")).feed(edit(3, "c"));
  EXPECT_EQ(d.decoder.document(),
            "ab\xEF\xBF\xBD"
            "c");
}

TEST(ZaiUtf8, PendingSurrogateSurvivesEventsWithoutContent) {
  Decoded d;
  d.feed(delta("\\ud83d")).feed(R"({"usage":{"prompt_tokens":1}})").feed(delta("\\ude00"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "\xF0\x9F\x98\x80");
}

TEST(ZaiUtf8, LoneLowSurrogateAndInvalidBytesBecomeReplacement) {
  Decoded d;
  d.feed(delta("x\\udc00y")).feed(delta("\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80|\xE4\xBD"));
  EXPECT_EQ(d.out.text_of(Kind::Answer),
            "x\xEF\xBF\xBDy"
            "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD");
}

TEST(ZaiUtf8, DocumentUtf16LengthCountsEveryKindOfContent) {
  Decoded d;
  d.feed(delta("plain")).feed(delta("你好😀")).feed(delta("\\u00e9\\n\\\"q\\\""));
  d.feed(delta("\\ud83d")).feed(delta("\\ude00")).feed(delta("\xFF\xE4\xBD"));
  d.feed(edit(3, "é😀"));
  EXPECT_EQ(d.decoder.document(), "pla" + std::string("é😀"));
  EXPECT_EQ(d.decoder.document_utf16_length(), 6u);
  d.feed(delta("\xF0\x9F\x98\x80x"));
  EXPECT_EQ(d.decoder.document_utf16_length(), 9u);
}

TEST(ZaiEnvelope, EscapedTypeAndPhaseAreDecodedBeforeComparing) {
  Decoded d;
  d.feed(R"({"type":"chat:\u0063ompletion","data":{"delta_content":"t","phase":"th\u0069nking"}})");
  d.feed(R"({"type":"chat:completion","data":{"delta_content":"a","phase":"answ\u0065r"}})");
  EXPECT_EQ(d.out.text_of(Kind::Thinking), "t");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a");
}

// ───── glm_block ─────

TEST(ZaiGlmBlock, PartialOpenTagIsHeldUntilDecided) {
  Decoded d;
  d.feed(delta("abc<glm"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "abc");
  d.feed(delta("_block view=\\\"\\\">{}"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "abc");
  d.feed(delta("</glm_block>tail"));
  ASSERT_EQ(d.out.count(Kind::ToolBlock), 1u);
  EXPECT_EQ(d.out.text_of(Kind::ToolBlock), "<glm_block view=\"\">{}</glm_block>");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "abctail");
}

TEST(ZaiGlmBlock, HeldPrefixThatIsNotABlockIsReleased) {
  Decoded d;
  d.feed(delta("a <gl"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a ");
  d.feed(delta("ad"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a <glad");
  d.feed(delta("x<"));
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a <gladx");
  d.finish();  // the end decides: it was text
  EXPECT_EQ(d.out.text_of(Kind::Answer), "a <gladx<");
}

TEST(ZaiGlmBlock, ThinkingTextIsNotHeld) {
  Decoded d;
  d.feed(delta("a <gl", "thinking"));
  EXPECT_EQ(d.out.text_of(Kind::Thinking), "a <gl");
}

TEST(ZaiGlmBlock, ToolCallPhaseKeepsTheBlockOpenEvenWithAClosingTag) {
  Decoded d;
  d.feed(delta("x")).feed(edit(1, "<glm_block>{\\\"a\\\": 1}</glm_block>", "tool_call"));
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 0u);
  d.feed(edit(18, "2}</glm_block>", "tool_call"));  // rewrites inside the block
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 0u);
  d.feed(edit(32, "\\n", "answer"));
  ASSERT_EQ(d.out.count(Kind::ToolBlock), 1u);
  EXPECT_EQ(d.out.text_of(Kind::ToolBlock), "<glm_block>{\"a\": 2}</glm_block>");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "x\n");
  EXPECT_EQ(d.out.count(Kind::Snapshot), 0u);
}

TEST(ZaiGlmBlock, EndReportsACompleteBlockAndDropsAnUnfinishedOne) {
  Decoded complete;
  complete.feed(edit(0, "<glm_block>{}</glm_block>", "tool_call")).finish();
  EXPECT_EQ(complete.out.text_of(Kind::ToolBlock), "<glm_block>{}</glm_block>");
  expect_clean_end(complete.out);

  Decoded unfinished;
  unfinished.feed(delta("a")).feed(edit(1, "<glm_block>{\\\"half", "tool_call")).finish();
  EXPECT_EQ(unfinished.out.count(Kind::ToolBlock), 0u);
  EXPECT_EQ(unfinished.out.text_of(Kind::Answer), "a");
  expect_clean_end(unfinished.out);
}

TEST(ZaiGlmBlock, EditBeforeTheBlockCancelsIt) {
  Decoded d;
  d.feed(delta("hi ")).feed(edit(3, "<glm_block>{", "tool_call"));
  d.feed(edit(0, "bye", "answer")).feed(delta(" now")).finish();
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 0u);
  EXPECT_EQ(d.out.text_of(Kind::Snapshot), "bye");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "hi  now");
  EXPECT_EQ(d.decoder.document(), "bye now");
}

TEST(ZaiGlmBlock, SnapshotStopsAtABlockItOpens) {
  Decoded d;
  d.feed(delta("old text")).feed(edit(0, "new <glm_block>{", "tool_call"));
  EXPECT_EQ(d.out.text_of(Kind::Snapshot), "new ");
  d.feed(edit(16, "}</glm_block> after", "other"));
  EXPECT_EQ(d.out.text_of(Kind::ToolBlock), "<glm_block>{}</glm_block>");
  EXPECT_EQ(d.out.text_of(Kind::Answer), "old text after");
}

TEST(ZaiGlmBlock, TwoBlocksInOneDocument) {
  Decoded d;
  d.feed(delta("<glm_block>1</glm_block>mid<glm_block>2</glm_block>end"));
  ASSERT_EQ(d.out.events.size(), 4u);
  EXPECT_EQ(d.out.events[0].text, "<glm_block>1</glm_block>");
  EXPECT_EQ(d.out.events[1].text, "mid");
  EXPECT_EQ(d.out.events[2].text, "<glm_block>2</glm_block>");
  EXPECT_EQ(d.out.events[3].text, "end");
}

TEST(ZaiGlmBlock, ClosingTagSplitAcrossDeltas) {
  Decoded d;
  d.feed(delta("<glm_block>{}</glm_bl")).feed(delta("ock>"));
  EXPECT_EQ(d.out.text_of(Kind::ToolBlock), "<glm_block>{}</glm_block>");
}

// ───── tool use reported by a glm_block ─────

// An answer delta carrying `content` as it is (JSON-escaped here).
std::string append_event(const std::string& content) {
  return nlohmann::json{{"type", "chat:completion"},
                        {"data", {{"delta_content", content}, {"phase", "answer"}}}}
      .dump();
}

// The one ToolBlock that appending `block` gives.
OwnedSourceEvent tool_block_of(const std::string& block) {
  Decoded d;
  d.feed(append_event(block)).finish();
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 1u) << block;
  for (const auto& e : d.out.events)
    if (e.kind == Kind::ToolBlock) return e;
  return {};
}

TEST(ZaiToolUse, NameAndArgumentsComeFromTheMetadata) {
  const nlohmann::json block_json = {{"name", "not this"},
                                     {"type", "mcp"},
                                     {"data",
                                      {{"name", "nor this"},
                                       {"metadata",
                                        {{"id", "call_1"},
                                         {"arguments", R"({"url":"https://例子.cn/?q=\"a\"\n"})"},
                                         {"mcp_server", {{"name", "mcp-server"}}},
                                         {"name", "open_url"}}},
                                       {"browser", nullptr}}}};
  const std::string block = "<glm_block view=\"\">" + block_json.dump() + "</glm_block>";
  const OwnedSourceEvent tool = tool_block_of(block);
  EXPECT_EQ(tool.text, block);
  EXPECT_EQ(tool.tool_name, "open_url");
  EXPECT_EQ(tool.tool_arguments, R"({"url":"https://例子.cn/?q=\"a\"\n"})");
}

TEST(ZaiToolUse, ObjectArgumentsArePassedAsTheirText) {
  const std::string arguments = R"({"s": "}]\"{", "n": [1, {"x": null}], "e": {}})";
  const OwnedSourceEvent tool = tool_block_of(R"(<glm_block>{"data": {"metadata": {"name": "f",)"
                                              R"( "arguments" :  )" +
                                              arguments + R"( , "result": null}}}</glm_block>)");
  EXPECT_EQ(tool.tool_name, "f");
  EXPECT_EQ(tool.tool_arguments, arguments);
}

TEST(ZaiToolUse, NameFallsBackToTheToolCallNameAttribute) {
  EXPECT_EQ(tool_block_of(R"(<glm_block view="" tool_call_name="open_url">)"
                          R"({"data":{"metadata":{"arguments":"{}"}}}</glm_block>)")
                .tool_name,
            "open_url");
  EXPECT_EQ(tool_block_of(R"(<glm_block last_tool_call_name="x" tool_call_name="y">{}</glm_block>)")
                .tool_name,
            "y");
  EXPECT_EQ(tool_block_of(R"(<glm_block last_tool_call_name="x">{}</glm_block>)").tool_name, "");
  EXPECT_EQ(tool_block_of(R"(<glm_block tool_call_name="unclosed>{}</glm_block>)").tool_name, "");
  // The metadata wins over the attribute.
  EXPECT_EQ(tool_block_of(R"(<glm_block tool_call_name="attribute">)"
                          R"({"data":{"metadata":{"name":"metadata"}}}</glm_block>)")
                .tool_name,
            "metadata");
}

TEST(ZaiToolUse, UnreadableBlockJsonGivesNoName) {
  for (const char* json : {"", "{not json", R"({"data":{"metadata":{"name":"x"}}} trailing)",
                           R"({"data":{"metadata":{"name":"x"}})", R"(["data"])"}) {
    const std::string block =
        std::string(R"(<glm_block tool_call_name="x">)") + json + "</glm_block>";
    const OwnedSourceEvent tool = tool_block_of(block);
    EXPECT_EQ(tool.text, block);
    EXPECT_EQ(tool.tool_name, "") << json;
    EXPECT_EQ(tool.tool_arguments, "") << json;
  }
}

TEST(ZaiToolUse, MembersOfOtherTypesAreNotRead) {
  const OwnedSourceEvent wrong_types =
      tool_block_of(R"(<glm_block>{"data":{"metadata":{"name":5,"arguments":[1]}}}</glm_block>)");
  EXPECT_EQ(wrong_types.tool_name, "");
  EXPECT_EQ(wrong_types.tool_arguments, "");
  EXPECT_EQ(tool_block_of(R"(<glm_block>{"data":{"metadata":"m"}}</glm_block>)").tool_name, "");
  EXPECT_EQ(
      tool_block_of(R"(<glm_block>{"data":[{"metadata":{"name":"x"}}]}</glm_block>)").tool_name,
      "");
}

TEST(ZaiToolUse, EscapedKeysAndValuesAreDecoded) {
  const OwnedSourceEvent tool =
      tool_block_of(R"(<glm_block>{"d\u0061ta":{"metadata":{"n\u0061me":"brows\u0065r",)"
                    R"("arguments":"{\"k\":\"\ud83d\ude00\"}"}}}</glm_block>)");
  EXPECT_EQ(tool.tool_name, "browser");
  EXPECT_EQ(tool.tool_arguments, "{\"k\":\"😀\"}");
  // An object under an escaped key cannot be located in the text: no arguments.
  EXPECT_EQ(tool_block_of(R"(<glm_block>{"data":{"metadata":{"name":"f",)"
                          R"("argum\u0065nts":{"a":1}}}}</glm_block>)")
                .tool_arguments,
            "");
}

// ───── tool calls streamed as delta_name / delta_arguments ─────

// A `chat:completion` event whose `data` has the raw JSON members `members`.
std::string data_event(const std::string& members) {
  return R"({"type":"chat:completion","data":{)" + members + "}}";
}

std::string call_start(const std::string& name, const std::string& arguments) {
  return data_event(R"("phase":"tool_call","delta_name":")" + name + R"(","delta_arguments":")" +
                    arguments + R"(","metadata":{"tool_call_id":"call_)" + name + R"("})");
}

std::string call_arguments(const std::string& arguments) {
  return data_event(R"("phase":"tool_call","delta_arguments":")" + arguments + R"(")");
}

const std::string kToolResponse =
    data_event(R"("phase":"tool_response","tool_name":"get_weather","status":"completed")");

// "name arguments" of every ToolBlock, one a line.
std::string tool_calls(const SourceCollector& out) {
  std::string calls;
  for (const auto& e : out.events)
    if (e.kind == Kind::ToolBlock) calls += e.tool_name + " " + e.tool_arguments + "\n";
  return calls;
}

TEST(ZaiToolCall, OneCallEndedByAPhaseChange) {
  Decoded d;
  d.feed(delta("Checking.")).feed(call_start("get_weather", R"({\")"));
  d.feed(call_arguments(R"(city\":\"Par)"));
  d.feed(data_event(R"("delta_arguments":"is\"}")"));  // an event without a phase keeps it
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 0u);
  d.feed(kToolResponse).feed(delta("Sunny.")).finish();
  ASSERT_EQ(d.out.events.size(), 4u) << fold(d.out.events);
  const OwnedSourceEvent& call = d.out.events[1];
  EXPECT_EQ(call.kind, Kind::ToolBlock);
  EXPECT_EQ(call.phase, Phase::ToolCall);
  EXPECT_EQ(call.text, "");
  EXPECT_EQ(call.tool_name, "get_weather");
  EXPECT_EQ(call.tool_arguments, R"({"city":"Paris"})");
  EXPECT_EQ(d.out.events[2].text, "Sunny.");
  expect_clean_end(d.out);
  EXPECT_EQ(d.decoder.document(), "Checking.Sunny.");
}

TEST(ZaiToolCall, TheNextNameStartsANewCall) {
  Decoded d;
  d.feed(call_start("a", R"({\"x\":)")).feed(call_arguments("1}"));
  d.feed(call_start("b", "")).feed(call_arguments("{}"));
  EXPECT_EQ(tool_calls(d.out), "a {\"x\":1}\n");
  d.feed(delta("done", "answer"));
  EXPECT_EQ(tool_calls(d.out), "a {\"x\":1}\nb {}\n");
}

TEST(ZaiToolCall, TheEndCompletesTheCallBeforeEnd) {
  for (const std::string& last :
       {std::string("[DONE]"), data_event(R"("phase":"done","done":true)"),
        data_event(R"("done":true)"), data_event(R"("phase":"finish")"),
        std::string(R"({"type":"chat:completion:finish","data":{}})")}) {
    Decoded d;
    d.feed(call_start("f", "{}")).feed(last);
    EXPECT_EQ(tool_calls(d.out), "f {}\n") << last;
    expect_clean_end(d.out);
    EXPECT_EQ(d.out.events.size(), 2u);
  }
  Decoded at_eof;
  at_eof.feed(call_start("f", "{")).feed(call_arguments("}")).finish();
  EXPECT_EQ(tool_calls(at_eof.out), "f {}\n");
  expect_clean_end(at_eof.out);
  // The arguments of a done event still belong to the call.
  Decoded done_with_arguments;
  done_with_arguments.feed(call_start("f", "{"));
  done_with_arguments.feed(data_event(R"("delta_arguments":"}","done":true)"));
  EXPECT_EQ(tool_calls(done_with_arguments.out), "f {}\n");
  expect_clean_end(done_with_arguments.out);
}

TEST(ZaiToolCall, ArgumentsSplitInsideACharacterAreJoined) {
  Decoded d;
  d.feed(call_start("f", R"({\"q\":\"\ud83d)")).feed(call_arguments(R"(\ude00\u4f60)"));
  d.feed(call_arguments(R"(\")")).feed(call_arguments(R"(})")).finish();
  EXPECT_EQ(tool_calls(d.out), "f {\"q\":\"😀你\"}\n");
}

TEST(ZaiToolCall, SurrogateLeftUnpairedBecomesReplacement) {
  Decoded ended_by_phase;
  ended_by_phase.feed(call_start("f", R"(\ud83d)")).feed(kToolResponse);
  EXPECT_EQ(tool_calls(ended_by_phase.out), "f \xEF\xBF\xBD\n");
  Decoded followed_by_text;
  followed_by_text.feed(call_start("f", R"(\ud83d)")).feed(call_arguments("x")).finish();
  EXPECT_EQ(tool_calls(followed_by_text.out), "f \xEF\xBF\xBDx\n");
  Decoded at_end;
  at_end.feed(call_start("f", R"(\ud83d)")).finish();
  EXPECT_EQ(tool_calls(at_end.out), "f \xEF\xBF\xBD\n");
}

TEST(ZaiToolCall, StrayFieldsAreIgnored) {
  Decoded d;
  d.feed(call_arguments("{}"));  // no call to extend
  d.feed(data_event(R"("phase":"answer","delta_name":"f","delta_arguments":"{}")"));
  d.feed(delta("text")).finish();
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 0u);
  EXPECT_EQ(d.out.text_of(Kind::Answer), "text");
  expect_clean_end(d.out);
}

TEST(ZaiToolCall, ContentOfToolCallEventsIsReportedAsBefore) {
  Decoded d;
  d.feed(data_event(R"("phase":"tool_call","delta_name":"f","delta_content":"a")"));
  d.feed(data_event(R"("delta_arguments":"{}","delta_content":"b")")).feed(kToolResponse);
  ASSERT_EQ(d.out.events.size(), 3u) << fold(d.out.events);
  EXPECT_EQ(d.out.events[0].text, "a");
  EXPECT_EQ(d.out.events[0].phase, Phase::ToolCall);
  EXPECT_EQ(d.out.events[1].text, "b");
  EXPECT_EQ(tool_calls(d.out), "f {}\n");
}

TEST(ZaiToolCall, OtherEnvelopesDoNotEndTheCall) {
  Decoded d;
  d.feed(call_start("f", "{"));
  d.feed(R"({"type":"conn:heartbeat","data":{"phase":"answer"}})");
  d.feed(R"({"type":"chat:completion","data":{"usage":{"prompt_tokens":1}}})");
  d.feed(call_arguments("}"));
  EXPECT_EQ(d.out.count(Kind::ToolBlock), 0u);
  d.finish();
  EXPECT_EQ(tool_calls(d.out), "f {}\n");
}

TEST(ZaiToolCall, ArgumentsAreBounded) {
  Decoded d(ZaiDecoderOptions{16});
  d.feed(call_start("f", "0123456789")).feed(call_arguments("012345"));
  EXPECT_EQ(d.out.count(Kind::Error), 0u);
  d.feed(call_arguments("x")).finish();
  ASSERT_EQ(d.out.events.size(), 1u);
  EXPECT_EQ(d.out.events[0].kind, Kind::Error);
  EXPECT_EQ(d.out.events[0].error->code, "upstream_response_too_large");
  EXPECT_EQ(d.out.events[0].error->origin, StreamError::Origin::Protocol);
}

TEST(ZaiToolCall, AnErrorDropsTheOpenCall) {
  Decoded d;
  d.feed(call_start("f", "{}")).feed(data_event(R"("error":{"code":500,"detail":"x"})")).finish();
  ASSERT_EQ(d.out.events.size(), 1u);
  EXPECT_EQ(d.out.events[0].kind, Kind::Error);
}

// ───── tool streams under every split ─────

std::string sse(const std::vector<std::string>& payloads) {
  std::string bytes;
  for (const auto& payload : payloads) bytes += "data: " + payload + "\n\n";
  return bytes;
}

std::vector<std::string> tool_streams() {
  return {
      sse({delta("Checking."), call_start("get_weather", R"({\"city\":)"),
           call_arguments(R"(\"Paris\"})"), kToolResponse, delta("Sunny."),
           data_event(R"("phase":"done","done":true)")}),
      sse({call_start("a", R"({\"q\":\"\ud83d)"), call_arguments(R"(\ude00\"})"),
           call_start("b", "{}"), "[DONE]"}),
      sse({call_start("f", "{"), call_arguments("}")}),  // ended by EOF
      sse({append_event("a <glm_block tool_call_name=\"open_url\">{\"data\": "),
           append_event("{\"metadata\": {\"arguments\": {\"url\": \"u\"}}}}</glm_"),
           append_event("block> b")}),
  };
}

TEST(ZaiToolStreams, EverySplitGivesTheSameEvents) {
  for (const std::string& bytes : tool_streams()) {
    const std::string whole = folded_golden(bytes);
    EXPECT_NE(whole.find("ToolBlock"), std::string::npos) << whole;
    std::vector<size_t> every_byte;
    for (size_t cut = 1; cut < bytes.size(); ++cut) {
      ASSERT_EQ(folded_golden(bytes, {cut}), whole) << bytes << " cut at " << cut;
      every_byte.push_back(cut);
    }
    EXPECT_EQ(folded_golden(bytes, every_byte), whole) << bytes;
  }
}

TEST(ZaiToolStreams, WhatEachStreamGives) {
  const std::vector<std::string> streams = tool_streams();
  const std::vector<std::string> expected_calls = {"get_weather {\"city\":\"Paris\"}\n",
                                                   "a {\"q\":\"😀\"}\nb {}\n", "f {}\n",
                                                   "open_url {\"url\": \"u\"}\n"};
  for (size_t i = 0; i < streams.size(); ++i) {
    ZaiPipeline p;
    run(p, streams[i]);
    EXPECT_EQ(tool_calls(p.out), expected_calls[i]) << i;
    expect_clean_end(p.out);
  }
}

}  // namespace
}  // namespace zaiproxy
