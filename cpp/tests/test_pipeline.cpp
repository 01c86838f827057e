// The whole Pipeline, bytes in → bytes out, under the sanitizers: the golden streams of
// upstream-protocol.md §4.9 in every output format and think mode, split at every byte, and bad
// input that must end in a defined result or a defined error, never a crash.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "output_oracle.hpp"
#include "support.hpp"
#include "zaiproxy/pipeline.hpp"

namespace zaiproxy {
namespace {

using nlohmann::json;

constexpr OutputFormat kOutputs[] = {OutputFormat::OpenAiSse, OutputFormat::OpenAiJson,
                                     OutputFormat::AnthropicSse, OutputFormat::AnthropicJson};
constexpr ThinkMode kModes[] = {ThinkMode::Reasoning, ThinkMode::Think, ThinkMode::Quote,
                                ThinkMode::Details,   ThinkMode::Drop,  ThinkMode::Raw};
constexpr const char* kStreams[] = {"a_plain_answer",  "b_thinking_answer", "c_glm_block_tool",
                                    "d_web_search",    "e1_error_426",      "e2_error_403_model",
                                    "e3_error_captcha"};
constexpr int kClockSeconds = 2;

// What a client ends up with, whatever the output format.
struct Outcome {
  std::string content;
  std::string reasoning;
  std::optional<std::string> finish;  // in OpenAI names
  std::optional<json> error;
  std::vector<std::string> problems;  // broken format rules found by the oracle
};

std::string openai_finish(const std::string& stop_reason) {
  if (stop_reason == "end_turn") return "stop";
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  return stop_reason;
}

Outcome read_output(OutputFormat format, const std::string& bytes) {
  Outcome o;
  switch (format) {
    case OutputFormat::OpenAiSse: {
      auto s = testing::parse_openai_sse(bytes);
      o = {s.content, s.reasoning, s.finish_reason, s.error, s.problems};
      break;
    }
    case OutputFormat::OpenAiJson: {
      auto d = testing::parse_openai_json(bytes);
      o = {d.content, d.reasoning.value_or(""), d.finish_reason, d.error, d.problems};
      break;
    }
    case OutputFormat::AnthropicSse: {
      auto s = testing::parse_anthropic_sse(bytes);
      o = {s.text, s.thinking, std::nullopt, s.error, s.problems};
      if (s.stop_reason) o.finish = openai_finish(*s.stop_reason);
      break;
    }
    case OutputFormat::AnthropicJson: {
      auto d = testing::parse_anthropic_json(bytes);
      o = {d.text, d.thinking, std::nullopt, d.error, d.problems};
      if (d.stop_reason) o.finish = openai_finish(*d.stop_reason);
      break;
    }
  }
  return o;
}

PipelineOptions options_for(OutputFormat format, ThinkMode mode) {
  PipelineOptions options;
  options.output = format;
  options.think.mode = mode;
  // The clock advances kClockSeconds between the first and every later reading.
  options.think.clock = [calls = 0]() mutable {
    return calls++ == 0 ? 100.0 : 100.0 + kClockSeconds;
  };
  options.response.model = "GLM-4.5";
  options.response.id = "fixed-id";
  options.response.created = 1773300000;
  options.response.include_usage = true;
  options.response.reasoning_field = mode == ThinkMode::Reasoning;
  return options;
}

// Feeds `stream` cut at `cuts` (ascending byte offsets) and returns everything written.
std::string run(Pipeline& pipeline, std::string_view stream, const std::vector<size_t>& cuts = {}) {
  std::string out;
  size_t start = 0;
  for (size_t cut : cuts) {
    pipeline.feed(stream.substr(start, cut - start), out);
    start = cut;
  }
  pipeline.feed(stream.substr(start), out);
  pipeline.finish(out);
  return out;
}

Outcome run_stream(OutputFormat format, ThinkMode mode, std::string_view stream,
                   const std::vector<size_t>& cuts = {}) {
  Pipeline pipeline(options_for(format, mode));
  return read_output(format, run(pipeline, stream, cuts));
}

// The B2.2 renderer table, written out independently of the code under test.
std::pair<std::string, std::string> rendered(ThinkMode mode, const std::string& r,
                                             const std::string& a, const std::string& raw) {
  if (r.empty()) return {a, ""};
  const std::string n = std::to_string(kClockSeconds);
  switch (mode) {
    case ThinkMode::Reasoning:
      return {a, r};
    case ThinkMode::Think:
      return {"<think>\n" + r + "\n</think>\n\n" + a, ""};
    case ThinkMode::Quote: {
      std::string quoted = "> ";
      for (char c : r) quoted += c == '\n' ? std::string("\n> ") : std::string(1, c);
      return {quoted + "\n\n" + a, ""};
    }
    case ThinkMode::Details:
      return {"<details type=\"reasoning\" open><div>\n\n" + r + "\n\n</div><summary>Thought for " +
                  n + " seconds</summary></details>\n\n" + a,
              ""};
    case ThinkMode::Drop:
      return {a, ""};
    case ThinkMode::Raw:
      return {raw + (raw.back() == '\n' ? "" : "\n") + "</details>\n" + a, ""};
  }
  return {a, r};
}

const json& expected() {
  static const json e = json::parse(testing::read_golden("expected.json"));
  return e;
}

void expect_golden(const std::string& name, OutputFormat format, ThinkMode mode,
                   const Outcome& got) {
  SCOPED_TRACE(name + " / " + std::to_string(static_cast<int>(format)) + " / " +
               think_mode_name(mode));
  const json& e = expected().at(name);
  EXPECT_TRUE(got.problems.empty()) << testing::describe(got.problems);
  if (!e.at("error").is_null()) {
    ASSERT_TRUE(got.error.has_value());
    EXPECT_NE(got.error->at("message").get<std::string>().find(
                  e.at("error").at("message").get<std::string>()),
              std::string::npos);
    EXPECT_FALSE(got.finish.has_value());
    return;
  }
  const auto [content, reasoning] =
      rendered(mode, e.at("reasoning"), e.at("content"), e.value("raw_thinking", ""));
  EXPECT_FALSE(got.error.has_value());
  EXPECT_EQ(got.content, content);
  EXPECT_EQ(got.reasoning, reasoning);
  EXPECT_EQ(got.finish, "stop");
}

TEST(PipelineGolden, EveryStreamInEveryOutputAndThinkMode) {
  for (const char* name : kStreams) {
    const std::string stream = testing::read_golden(std::string(name) + ".sse");
    for (OutputFormat format : kOutputs)
      for (ThinkMode mode : kModes)
        expect_golden(name, format, mode, run_stream(format, mode, stream));
  }
}

TEST(PipelineGolden, UsageAndErrorsReachThePipelineState) {
  for (const char* name : kStreams) {
    Pipeline pipeline(options_for(OutputFormat::OpenAiSse, ThinkMode::Reasoning));
    run(pipeline, testing::read_golden(std::string(name) + ".sse"));
    const json& e = expected().at(name);
    if (e.at("usage").is_null()) {
      EXPECT_TRUE(pipeline.usage().empty()) << name;
    } else {
      EXPECT_EQ(pipeline.usage().prompt_tokens, e.at("usage")[0]) << name;
      EXPECT_EQ(pipeline.usage().completion_tokens, e.at("usage")[1]) << name;
      EXPECT_EQ(pipeline.usage().total_tokens, e.at("usage")[2]) << name;
    }
    if (e.at("error").is_null()) {
      EXPECT_FALSE(pipeline.error().has_value()) << name;
      EXPECT_EQ(pipeline.finish_reason(), FinishReason::Stop) << name;
    } else {
      ASSERT_TRUE(pipeline.error().has_value()) << name;
      EXPECT_EQ(pipeline.error()->message, e.at("error").at("message")) << name;
      const json& code = e.at("error").at("code");
      EXPECT_EQ(pipeline.error()->code,
                code.is_number() ? std::to_string(code.get<int>()) : code.get<std::string>())
          << name;
      EXPECT_FALSE(pipeline.finish_reason().has_value()) << name;
    }
  }
}

TEST(PipelineGolden, SplitAtEveryByteGivesTheSameResult) {
  for (const char* name : kStreams) {
    const std::string stream = testing::read_golden(std::string(name) + ".sse");
    for (OutputFormat format : {OutputFormat::OpenAiSse, OutputFormat::AnthropicSse})
      for (ThinkMode mode : {ThinkMode::Reasoning, ThinkMode::Think})
        for (size_t cut = 1; cut < stream.size(); ++cut) {
          SCOPED_TRACE("cut at byte " + std::to_string(cut));
          expect_golden(name, format, mode, run_stream(format, mode, stream, {cut}));
          if (::testing::Test::HasFailure()) return;
        }
  }
}

TEST(PipelineGolden, RandomSplitsGiveTheSameResult) {
  std::mt19937 rng(20261121);
  for (const char* name : kStreams) {
    const std::string stream = testing::read_golden(std::string(name) + ".sse");
    for (int round = 0; round < 30; ++round) {
      std::vector<size_t> cuts;
      for (size_t at = 0;;) {
        at += 1 + rng() % 40;
        if (at >= stream.size()) break;
        cuts.push_back(at);
      }
      for (OutputFormat format : kOutputs)
        for (ThinkMode mode : kModes)
          expect_golden(name, format, mode, run_stream(format, mode, stream, cuts));
    }
  }
}

// ── bad input ──
std::string answer_event(const std::string& json_string_body) {
  return "data: {\"type\":\"chat:completion\",\"data\":{\"phase\":\"answer\",\"delta_content\":\"" +
         json_string_body + "\"}}\n\n";
}
const std::string kDone =
    "data: {\"type\":\"chat:completion\",\"data\":{\"phase\":\"done\",\"done\":true}}\n\n";

TEST(PipelineBadInput, EmptyStreamIsAnEmptyAnswer) {
  for (OutputFormat format : kOutputs) {
    Outcome o = run_stream(format, ThinkMode::Reasoning, "");
    EXPECT_TRUE(o.problems.empty()) << testing::describe(o.problems);
    EXPECT_EQ(o.content, "");
    EXPECT_FALSE(o.error.has_value());
    EXPECT_EQ(o.finish, "stop");
  }
}

TEST(PipelineBadInput, UndecodableEventsFailTheResponseInTheClientsShape) {
  const std::string bad_payloads[] = {
      "data: {\"type\":\"chat:completion\",\"data\":{\"delta_content\":\"trunc\n\n",
      "data: not json at all\n\n", "data: {]\n\n", "data: {\"a\":1}}\n\n"};
  for (const std::string& bad : bad_payloads)
    for (OutputFormat format : kOutputs) {
      Pipeline pipeline(options_for(format, ThinkMode::Reasoning));
      Outcome o = read_output(
          format, run(pipeline, answer_event("before") + bad + answer_event("after") + kDone));
      EXPECT_TRUE(o.problems.empty()) << testing::describe(o.problems);
      ASSERT_TRUE(o.error.has_value()) << bad;
      EXPECT_EQ(o.content.find("after"), std::string::npos);
      ASSERT_TRUE(pipeline.error().has_value());
      EXPECT_EQ(pipeline.error()->origin, StreamError::Origin::Protocol);
    }
}

TEST(PipelineBadInput, InvalidUtf8BecomesReplacementCharacters) {
  Outcome o = run_stream(OutputFormat::OpenAiSse, ThinkMode::Reasoning,
                         answer_event("a\xff\xc3"
                                      "b\xed\xa0\x80") +
                             kDone);
  EXPECT_TRUE(o.problems.empty()) << testing::describe(o.problems);  // nlohmann checks UTF-8
  EXPECT_EQ(o.content,
            "a\xef\xbf\xbd\xef\xbf\xbd"
            "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(PipelineBadInput, EditIndexBeyondTheDocumentAppends) {
  const std::string edit =
      "data: {\"type\":\"chat:completion\",\"data\":{\"phase\":\"other\",\"edit_index\":99999,"
      "\"edit_content\":\"def\"}}\n\n";
  Outcome o =
      run_stream(OutputFormat::OpenAiSse, ThinkMode::Reasoning, answer_event("abc") + edit + kDone);
  EXPECT_EQ(o.content, "abcdef");
}

TEST(PipelineBadInput, TenMegabyteLine) {
  std::string big;
  for (int i = 0; i < 10 * 1024 * 1024 / 3; ++i) big += "\xe5\xad\x97";  // 字
  const std::string stream = answer_event(big) + kDone;
  {  // over the default 8 MiB cap: a clean protocol error, nothing after it
    Pipeline pipeline(options_for(OutputFormat::AnthropicSse, ThinkMode::Reasoning));
    Outcome o = read_output(OutputFormat::AnthropicSse, run(pipeline, stream, {65536, 1 << 20}));
    EXPECT_TRUE(o.problems.empty()) << testing::describe(o.problems);
    ASSERT_TRUE(o.error.has_value());
    EXPECT_EQ(pipeline.error()->code, "sse_line_too_long");
  }
  {  // under a larger cap it is just a long answer
    PipelineOptions options = options_for(OutputFormat::OpenAiSse, ThinkMode::Reasoning);
    options.framing.max_line_bytes = 16u << 20;
    Pipeline pipeline(std::move(options));
    Outcome o = read_output(OutputFormat::OpenAiSse, run(pipeline, stream, {65536, 1 << 20}));
    EXPECT_EQ(o.content, big);
  }
}

// Random bytes, random JSON-ish fragments and random cuts: whatever comes in, the output is a
// well-formed response of the chosen format (the oracle checks every rule) and nothing crashes.
TEST(PipelineBadInput, RandomInputAlwaysGivesWellFormedOutput) {
  const std::string fragments[] = {
      "data: ",
      "{\"type\":\"chat:completion\",\"data\":{",
      "}}",
      "\"phase\":\"thinking\",",
      "\"phase\":\"answer\",",
      "\"delta_content\":\"<details type=\\\"reasoning\\\">\\n> x\"",
      "\"edit_index\":32,\"edit_content\":\"true\\\">\\n</details>\\nA\"",
      "\"delta_content\":\"<glm_block \"",
      "\"done\":true",
      "\n\n",
      "\r\n",
      "\n",
      "[DONE]",
      ":",
      "\xff",
      "\xe5\xad",
      "\\ud83d",
      ","};
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string stream;
    const size_t pieces = rng() % 40;
    for (size_t i = 0; i < pieces; ++i) {
      if (rng() % 5 == 0)
        stream += static_cast<char>(rng() % 256);
      else
        stream += fragments[rng() % std::size(fragments)];
    }
    std::vector<size_t> cuts;
    for (size_t at = 0; stream.size() > 1;) {
      at += 1 + rng() % 16;
      if (at >= stream.size()) break;
      cuts.push_back(at);
    }
    for (OutputFormat format : kOutputs)
      for (ThinkMode mode : {ThinkMode::Reasoning, ThinkMode::Think, ThinkMode::Raw}) {
        Outcome o = run_stream(format, mode, stream, cuts);
        ASSERT_TRUE(o.problems.empty())
            << "round " << round << ": " << testing::describe(o.problems);
        EXPECT_TRUE(o.error.has_value() || o.finish.has_value()) << "round " << round;
      }
  }
}

}  // namespace
}  // namespace zaiproxy
