// ThinkLayer against toolcall-and-think.md B2: the conformance cases B01–B18 in all six modes,
// latency tests L1/L2, chunk-boundary invariance and the response-level events.
//
// Expected outputs are written from (R, A, N) of B2.3 with the formulas of the B2.2 table, spelled
// out here; B01 is also checked against the fully rendered strings of the spec.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "support.hpp"
#include "think_adapters.hpp"
#include "zaiproxy/think_layer.hpp"

namespace zaiproxy {
namespace {

using testing::OwnedResponseEvent;
using testing::ResponseCollector;
using Kind = ResponseEvent::Kind;

constexpr ThinkMode kAllModes[] = {ThinkMode::Reasoning, ThinkMode::Think, ThinkMode::Quote,
                                   ThinkMode::Details,   ThinkMode::Drop,  ThinkMode::Raw};

// ───── inputs ─────

enum class In { Th, An, Ed, Other, Rc, C, Tool };

struct Step {
  In kind;
  std::string text;
  double at = 0;  // the clock from this step on
};

Step th(std::string text, double at = 0) { return {In::Th, std::move(text), at}; }
Step an(std::string text, double at = 0) { return {In::An, std::move(text), at}; }
Step ed(std::string text, double at = 0) { return {In::Ed, std::move(text), at}; }
Step other(std::string text, double at = 0) { return {In::Other, std::move(text), at}; }
Step rc(std::string text, double at = 0) { return {In::Rc, std::move(text), at}; }
Step c(std::string text, double at = 0) { return {In::C, std::move(text), at}; }
Step tool(std::string text, double at = 0) { return {In::Tool, std::move(text), at}; }

SourceEvent source_event(const Step& step) {
  SourceEvent event;
  event.text = step.text;
  switch (step.kind) {
    case In::Th:
      event.kind = SourceEvent::Kind::Thinking;
      event.phase = Phase::Thinking;
      break;
    case In::An:
      event.kind = SourceEvent::Kind::Answer;
      event.phase = Phase::Answer;
      break;
    case In::Ed:
      event.kind = SourceEvent::Kind::Snapshot;
      event.phase = Phase::Answer;
      break;
    case In::Other:  // a tail edit at edit_index == doc length is reported as appended text
      event.kind = SourceEvent::Kind::Answer;
      event.phase = Phase::Other;
      break;
    case In::Rc:
      event.kind = SourceEvent::Kind::Reasoning;
      break;
    case In::C:
      event.kind = SourceEvent::Kind::Answer;
      break;
    case In::Tool:
      event.kind = SourceEvent::Kind::ToolBlock;
      event.phase = Phase::ToolCall;
      break;
  }
  return event;
}

const std::string kOpen25 =
    "<details type=\"reasoning\" done=\"false\" view=\"\" last_tool_call_name=\"\">\n"
    "<summary>Thinking\u2026</summary>\n> ";
const std::string kOpen = "<details type=\"reasoning\" done=\"false\">";  // `…` of the table

struct Case {
  std::string id;
  ThinkSource source;
  std::vector<Step> steps;
  double end_at;  // the clock when End arrives
  std::string R, A;
  int N;
};

const std::string kToolXml =
    "<function_calls>\n<function_call>\n<tool>get_weather</tool>\n"
    "<args_json><![CDATA[{\"city\":\"Paris\"}]]></args_json>\n</function_call>\n"
    "</function_calls>";

std::vector<Case> conformance_cases() {
  const ThinkSource Z = ThinkSource::Zai, G = ThinkSource::Generic;
  return {
      {"B01",
       Z,
       {th(kOpen25), th("The user says hi."), th("\n> \n> I should greet"), th(" back."),
        ed("true\" duration=\"3\" view=\"\" last_tool_call_name=\"\">\n<summary>Thought for 3 "
           "seconds</summary>\n> The user says hi.\n> \n> I should greet back.\n</details>\nHello",
           10),
        an("! How can", 10), an(" I help?", 10)},
       10,
       "The user says hi.\n\nI should greet back.",
       "Hello! How can I help?",
       3},
      {"B02",
       Z,
       {th("<details type=\"reasoning\" done=\"false\">\n> \n> \n>"), th(" The user says hi."),
        th("\n> \n> I should greet back."),
        ed("true\">\n> \n> \n> The user says hi.\n> \n> I should greet back.\n</details>\nHello",
           2),
        an("! How can I help?", 2), other(" Bye.", 2)},
       2,
       "The user says hi.\n\nI should greet back.",
       "Hello! How can I help? Bye.",
       2},
      {"B03",
       Z,
       {th(kOpen + "\n> A\n"), th(">"), th(" B\n>"), th("C"),
        ed("true\" duration=\"1\">\n> A\n> B\n>C\n</details>\nok", 5)},
       5,
       "A\nB\nC",
       "ok",
       1},
      {"B04",
       Z,
       {th("<details type=\"reas"), th("oning\" done=\"false\">\n> x"),
        ed("true\" duration=\"1\">\n> x\n</details>\ny", 5)},
       5,
       "x",
       "y",
       1},
      {"B05",
       Z,
       {th(kOpen + "\n> part one"),
        ed("true\" duration=\"4\">\n> part one, part two.\n</details>\nAnswer", 9)},
       9,
       "part one, part two.",
       "Answer",
       4},
      {"B06",
       Z,
       {th(kOpen + "\n> alpha"), ed("true\" duration=\"1\">\n> beta\n</details>\nAnswer", 5)},
       5,
       "alpha",
       "Answer",
       1},
      {"B07",
       Z,
       {th(kOpen + "\n> use </details> to close"),
        ed("true\" duration=\"1\">\n> use </details> to close\n</details>\nDone", 5)},
       5,
       "use </details> to close",
       "Done",
       1},
      {"B08", Z, {an("\nPlain answer")}, 0, "", "\nPlain answer", 1},
      {"B09",
       Z,
       {th(kOpen + "\n> r"), ed("true\" duration=\"1\">\n> r\n</details>\n", 5),
        an("\n\nLate answer", 5)},
       5,
       "r",
       "Late answer",
       1},
      {"B10", Z, {th(kOpen + "\n> unfinished  ")}, 5, "unfinished", "", 5},
      {"B11",
       Z,
       {th(kOpen + "\n> 嗯，用户"), th("说😀"),
        ed("true\" duration=\"1\">\n> 嗯，用户说😀\n</details>\n你好！", 5)},
       5,
       "嗯，用户说😀",
       "你好！",
       1},
      {"B12",
       Z,
       {th(kOpen + "\n> a  "), th("  \n"), ed("true\" duration=\"1\">\n> a    \n</details>\nb", 5)},
       5,
       "a",
       "b",
       1},
      {"B13",
       G,
       {c("<think>\nLet me "), c("think.</th"), c("ink>\n\nThe answer is 4.", 1)},
       1,
       "Let me think.",
       "The answer is 4.",
       1},
      {"B14",
       G,
       {c("Answer: use <think> tags</think> ok")},
       0,
       "",
       "Answer: use <think> tags</think> ok",
       1},
      {"B15", G, {c("<think>still thinking")}, 7, "still thinking", "", 7},
      {"B16", G, {c("<th"), c("ink>r</think>a")}, 0, "r", "a", 1},
      {"B17",
       G,
       {rc("Thinking..."), rc(" more"), c("Hi", 3), c("!", 3)},
       3,
       "Thinking... more",
       "Hi!",
       3},
      {"B18",
       Z,
       {th(kOpen + "\n> I will output <Function_AB1c_Start/> then the block."),
        ed("true\" duration=\"2\">\n> I will output <Function_AB1c_Start/> then the block.\n"
           "</details>\nChecking the weather.\n<Func",
           6),
        an("tion_AB1c_Start/>\n" + kToolXml, 6)},
       6,
       "I will output <Function_AB1c_Start/> then the block.",
       "Checking the weather.\n<Function_AB1c_Start/>\n" + kToolXml,
       2},
  };
}

// ───── expected output, from (R, A, N) and the B2.2 table ─────

struct Expected {
  std::string reasoning;  // the reasoning channel
  std::string rendered;   // Text rendered from reasoning (rendered_reasoning = true)
  std::string answer;     // Text of the answer
};

std::string replace_newlines(const std::string& text, const std::string& with) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n') {
      out += with;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string concat_inputs(const Case& test_case, In kind) {
  std::string out;
  for (const auto& step : test_case.steps)
    if (step.kind == kind) out += step.text;
  return out;
}

Expected expected_output(const Case& tc, ThinkMode mode) {
  const std::string& R = tc.R;
  const std::string& A = tc.A;
  const std::string N = std::to_string(tc.N);
  switch (mode) {
    case ThinkMode::Reasoning:
      return {R, "", A};
    case ThinkMode::Drop:
      return {"", "", A};
    case ThinkMode::Think:
      if (R.empty()) return {"", "", A};
      return {"", "<think>\n" + R + "\n</think>\n\n", A};
    case ThinkMode::Quote:
      if (R.empty()) return {"", "", A};
      return {"", "> " + replace_newlines(R, "\n> ") + "\n\n", A};
    case ThinkMode::Details:
      if (R.empty()) return {"", "", A};
      return {"",
              "<details type=\"reasoning\" open><div>\n\n" + R + "\n\n</div><summary>Thought for " +
                  N + " seconds</summary></details>\n\n",
              A};
    case ThinkMode::Raw: {
      if (tc.source == ThinkSource::Generic)  // no transformation at all
        return {concat_inputs(tc, In::Rc), "", concat_inputs(tc, In::C)};
      std::string raw = concat_inputs(tc, In::Th);
      if (raw.empty()) return {"", "", A};
      return {"", raw + (raw.back() == '\n' ? "" : "\n") + "</details>\n", A};
    }
  }
  return {};
}

// ───── running ─────

struct FakeClock {
  double now = 0;
  std::function<double()> function() {
    return [this] { return now; };
  }
};

using Splitter = std::function<std::vector<std::string>(const std::string&)>;

// The length of the UTF-8 sequence starting with `lead`.
size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  return 4;
}

std::vector<std::string> whole(const std::string& text) { return {text}; }

std::vector<std::string> per_code_point(const std::string& text) {
  std::vector<std::string> pieces;
  for (size_t i = 0; i < text.size();) {
    size_t n = sequence_length(static_cast<unsigned char>(text[i]));
    pieces.push_back(text.substr(i, n));
    i += n;
  }
  return pieces;
}

Splitter random_splits(unsigned seed) {
  auto engine = std::make_shared<std::mt19937>(seed);
  return [engine](const std::string& text) {
    std::vector<std::string> pieces;
    std::string current;
    std::uniform_int_distribution<int> cut(0, 3);
    for (const std::string& code_point : per_code_point(text)) {
      current += code_point;
      if (cut(*engine) == 0) {
        pieces.push_back(current);
        current.clear();
      }
    }
    if (!current.empty() || pieces.empty()) pieces.push_back(current);
    return pieces;
  };
}

ThinkOptions options_for(ThinkSource source, ThinkMode mode, FakeClock& clock) {
  ThinkOptions options;
  options.mode = mode;
  options.source = source;
  options.clock = clock.function();
  return options;
}

// Feeds the steps (splitting text events, never snapshots: an edit is atomic), then End.
ResponseCollector run_case(const Case& tc, ThinkMode mode, const Splitter& split = whole) {
  FakeClock clock;
  ThinkLayer layer(options_for(tc.source, mode, clock));
  ResponseCollector out;
  for (const auto& step : tc.steps) {
    clock.now = step.at;
    std::vector<std::string> pieces =
        step.kind == In::Ed || step.kind == In::Tool ? whole(step.text) : split(step.text);
    for (const auto& piece : pieces) {
      Step part = step;
      part.text = piece;
      layer.feed(source_event(part), out);
    }
  }
  clock.now = tc.end_at;
  SourceEvent end;
  end.kind = SourceEvent::Kind::End;
  layer.feed(end, out);
  return out;
}

bool valid_utf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    size_t n = lead < 0x80           ? 1
               : (lead >> 5) == 0x6  ? 2
               : (lead >> 4) == 0xE  ? 3
               : (lead >> 3) == 0x1E ? 4
                                     : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

std::string text_where(const ResponseCollector& out, bool rendered_reasoning) {
  std::string text;
  for (const auto& e : out.events)
    if (e.kind == Kind::Text && e.rendered_reasoning == rendered_reasoning) text += e.text;
  return text;
}

// Everything C.5 and the output contract ask of any run.
void check_output(const ResponseCollector& out, const Expected& expected) {
  EXPECT_EQ(out.reasoning(), expected.reasoning);
  EXPECT_EQ(text_where(out, true), expected.rendered);
  EXPECT_EQ(text_where(out, false), expected.answer);
  EXPECT_EQ(out.text(), expected.rendered + expected.answer);  // reasoning comes first
  ASSERT_FALSE(out.events.empty());
  EXPECT_EQ(out.events.back().kind, Kind::Finish);
  EXPECT_EQ(out.count(Kind::Finish), 1u);
  EXPECT_EQ(out.events.back().finish, FinishReason::Stop);
  for (const auto& e : out.events) {
    if (e.kind == Kind::Text || e.kind == Kind::Reasoning) {
      EXPECT_FALSE(e.text.empty()) << "empty text emitted";
      EXPECT_TRUE(valid_utf8(e.text)) << "invalid UTF-8 piece: " << e.text;
    }
    if (e.kind == Kind::Reasoning) {
      EXPECT_FALSE(e.rendered_reasoning);
    }
  }
}

// ───── B2.3 conformance, every case in every mode ─────

TEST(ThinkLayerConformance, EveryCaseInEveryMode) {
  for (const Case& tc : conformance_cases()) {
    for (ThinkMode mode : kAllModes) {
      SCOPED_TRACE(tc.id + " mode " + think_mode_name(mode));
      check_output(run_case(tc, mode), expected_output(tc, mode));
    }
  }
}

TEST(ThinkLayerConformance, OneEventPerCodePoint) {
  for (const Case& tc : conformance_cases()) {
    for (ThinkMode mode : kAllModes) {
      SCOPED_TRACE(tc.id + " mode " + think_mode_name(mode));
      check_output(run_case(tc, mode, per_code_point), expected_output(tc, mode));
    }
  }
}

TEST(ThinkLayerConformance, RandomSplits) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    for (const Case& tc : conformance_cases()) {
      for (ThinkMode mode : kAllModes) {
        SCOPED_TRACE(tc.id + " mode " + think_mode_name(mode) + " seed " + std::to_string(seed));
        check_output(run_case(tc, mode, random_splits(seed)), expected_output(tc, mode));
      }
    }
  }
}

// B01 as the spec spells it out.
TEST(ThinkLayerConformance, B01FullyRendered) {
  const Case b01 = conformance_cases()[0];
  ASSERT_EQ(b01.id, "B01");
  struct Row {
    ThinkMode mode;
    std::string reasoning, content;
  };
  const Row rows[] = {
      {ThinkMode::Reasoning, "The user says hi.\n\nI should greet back.", "Hello! How can I help?"},
      {ThinkMode::Think, "",
       "<think>\nThe user says hi.\n\nI should greet back.\n</think>\n\nHello! How can I help?"},
      {ThinkMode::Quote, "",
       "> The user says hi.\n> \n> I should greet back.\n\nHello! How can I help?"},
      {ThinkMode::Details, "",
       "<details type=\"reasoning\" open><div>\n\nThe user says hi.\n\nI should greet "
       "back.\n\n</div><summary>Thought for 3 seconds</summary></details>\n\nHello! How can I "
       "help?"},
      {ThinkMode::Drop, "", "Hello! How can I help?"},
      {ThinkMode::Raw, "",
       "<details type=\"reasoning\" done=\"false\" view=\"\" last_tool_call_name=\"\">\n"
       "<summary>Thinking\u2026</summary>\n> The user says hi.\n> \n> I should greet "
       "back.\n</details>\nHello! How can I help?"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(think_mode_name(row.mode));
    ResponseCollector out = run_case(b01, row.mode);
    EXPECT_EQ(out.reasoning(), row.reasoning);
    EXPECT_EQ(out.text(), row.content);
  }
}

// B10's own notes, and B18 in think mode as the spec writes it.
TEST(ThinkLayerConformance, SpelledOutNotes) {
  auto cases = conformance_cases();
  const Case& b10 = cases[9];
  ASSERT_EQ(b10.id, "B10");
  EXPECT_EQ(run_case(b10, ThinkMode::Think).text(), "<think>\nunfinished\n</think>\n\n");
  ResponseCollector dropped = run_case(b10, ThinkMode::Drop);
  ASSERT_EQ(dropped.events.size(), 1u);
  EXPECT_EQ(dropped.events[0].kind, Kind::Finish);

  const Case& b18 = cases[17];
  ASSERT_EQ(b18.id, "B18");
  ResponseCollector out = run_case(b18, ThinkMode::Think);
  EXPECT_EQ(text_where(out, true),
            "<think>\nI will output <Function_AB1c_Start/> then the block.\n</think>\n\n");
  EXPECT_EQ(text_where(out, false), "Checking the weather.\n<Function_AB1c_Start/>\n" + kToolXml);
}

// ───── latency ─────

// L1: in reasoning mode a thinking delta that adds non-whitespace is out before the next event.
TEST(ThinkLayerLatency, L1ReasoningIsNotHeld) {
  auto cases = conformance_cases();
  const Case& b01 = cases[0];
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Reasoning, clock));
  ResponseCollector out;
  const char* after_each[] = {"", "The user says hi.", "The user says hi.\n\nI should greet",
                              "The user says hi.\n\nI should greet back."};
  for (size_t i = 0; i < 4; ++i) {
    layer.feed(source_event(b01.steps[i]), out);
    EXPECT_EQ(out.reasoning(), after_each[i]) << "after th #" << i;
  }

  // Per code point: every body character other than a quote marker is out at once.
  for (const char* id : {"B01", "B02", "B11", "B18"}) {
    SCOPED_TRACE(id);
    const Case* tc = nullptr;
    for (const auto& candidate : cases)
      if (candidate.id == id) tc = &candidate;
    ASSERT_NE(tc, nullptr);
    ThinkLayer per_char(options_for(ThinkSource::Zai, ThinkMode::Reasoning, clock));
    ResponseCollector seen;
    // B01 and B02 open with a step holding only the opener (and a summary); the others have
    // the body right after the opener's `>`.
    std::string thinking = concat_inputs(*tc, In::Th);
    size_t body_from = std::string(id) == "B01" || std::string(id) == "B02"
                           ? tc->steps[0].text.size()
                           : thinking.find('>') + 1;
    size_t position = 0;
    for (const auto& step : tc->steps) {
      if (step.kind != In::Th) break;
      for (const std::string& piece : per_code_point(step.text)) {
        Step part = step;
        part.text = piece;
        per_char.feed(source_event(part), seen);
        bool body_character = position >= body_from && piece != ">" && piece != " " &&
                              piece != "\n" && piece != "\t" && piece != "\r";
        position += piece.size();
        if (!body_character) continue;
        std::string reasoning = seen.reasoning();
        ASSERT_GE(reasoning.size(), piece.size()) << "held: " << piece;
        EXPECT_EQ(reasoning.substr(reasoning.size() - piece.size()), piece) << "held: " << piece;
      }
    }
  }
}

// L2: in B13, after "think.</th" the reasoning is "Let me think." and "</th" is held.
TEST(ThinkLayerLatency, L2PartialCloseTagIsHeld) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Generic, ThinkMode::Reasoning, clock));
  ResponseCollector out;
  layer.feed(source_event(c("<think>\nLet me ")), out);
  EXPECT_EQ(out.reasoning(), "Let me");  // the trailing space waits for what follows
  layer.feed(source_event(c("think.</th")), out);
  EXPECT_EQ(out.reasoning(), "Let me think.");
  EXPECT_EQ(out.text(), "");
  layer.feed(source_event(c("ink>\n\nThe answer is 4.")), out);
  EXPECT_EQ(out.reasoning(), "Let me think.");
  EXPECT_EQ(out.text(), "The answer is 4.");
}

// ───── durations and the clock ─────

std::string details_close(const ResponseCollector& out) {
  std::string rendered = text_where(out, true);
  size_t at = rendered.find("<summary>");
  return at == std::string::npos ? "" : rendered.substr(at);
}

TEST(ThinkLayerDuration, ClockRoundsHalfUpWithMinimumOne) {
  struct Row {
    double elapsed;
    const char* summary;
  };
  const Row rows[] = {{2.5, "<summary>Thought for 3 seconds</summary></details>\n\n"},
                      {2.49, "<summary>Thought for 2 seconds</summary></details>\n\n"},
                      {0.2, "<summary>Thought for 1 seconds</summary></details>\n\n"},
                      {0.0, "<summary>Thought for 1 seconds</summary></details>\n\n"}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.elapsed);
    Case tc{"clock",
            ThinkSource::Zai,
            {th(kOpen + "\n> r", 100), an("a", 100 + row.elapsed)},
            0,
            "r",
            "a",
            0};
    ResponseCollector out = run_case(tc, ThinkMode::Details);
    EXPECT_EQ(details_close(out), row.summary);
  }
}

TEST(ThinkLayerDuration, UpstreamStatesTheDuration) {
  // A fractional attribute is rounded half up; the clock (9 s here) is not used.
  Case fractional{"fractional",
                  ThinkSource::Zai,
                  {th(kOpen + "\n> r"), ed("true\" duration=\"2.5\">\n> r\n</details>\na", 9)},
                  9,
                  "r",
                  "a",
                  0};
  EXPECT_EQ(details_close(run_case(fractional, ThinkMode::Details)),
            "<summary>Thought for 3 seconds</summary></details>\n\n");
  // Without the attribute, the summary of the snapshot states it.
  Case summary{
      "summary",
      ThinkSource::Zai,
      {th(kOpen25 + "r"),
       ed("true\" view=\"\">\n<summary>Thought for 7 seconds</summary>\n> r\n</details>\na", 9)},
      9,
      "r",
      "a",
      0};
  EXPECT_EQ(details_close(run_case(summary, ThinkMode::Details)),
            "<summary>Thought for 7 seconds</summary></details>\n\n");

  EXPECT_EQ(think::parse_duration_attribute("true\" duration=\"32\" view=\"\">"), 32.0);
  EXPECT_EQ(think::parse_duration_attribute("true\" duration=\"1.25\">"), 1.25);
  EXPECT_FALSE(think::parse_duration_attribute("true\" duration=\"x\">"));
  EXPECT_FALSE(think::parse_duration_attribute("true\">"));
  EXPECT_EQ(think::parse_thought_for(">Thought for 1 second"), 1.0);
  EXPECT_FALSE(think::parse_thought_for(">Thinking\u2026"));
}

// ───── response-level events ─────

StreamError upstream_error() {
  StreamError error;
  error.code = "500";
  error.message = "boom";
  return error;
}

TEST(ThinkLayerEvents, UsagePassesThroughImmediately) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Think, clock));
  ResponseCollector out;
  layer.feed(source_event(th(kOpen + "\n> abc  ")), out);
  SourceEvent usage;
  usage.kind = SourceEvent::Kind::Usage;
  usage.phase = Phase::Other;
  usage.usage = {11, 22, 33};
  layer.feed(usage, out);
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].text, "<think>\nabc");
  EXPECT_EQ(out.events[1].kind, Kind::Usage);
  EXPECT_EQ(out.events[1].usage.prompt_tokens, 11);
  EXPECT_EQ(out.events[1].usage.completion_tokens, 22);
  EXPECT_EQ(out.events[1].usage.total_tokens, 33);
  // Usage does not end the reasoning.
  layer.feed(source_event(th(" def")), out);
  EXPECT_EQ(out.events.back().text, "   def");
}

TEST(ThinkLayerEvents, ErrorMidReasoningClosesTheBlockFirst) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Think, clock));
  ResponseCollector out;
  layer.feed(source_event(th(kOpen + "\n> abc")), out);
  StreamError error = upstream_error();
  SourceEvent failure;
  failure.kind = SourceEvent::Kind::Error;
  failure.error = &error;
  layer.feed(failure, out);
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[0].kind, Kind::Text);
  EXPECT_EQ(out.events[0].text, "<think>\nabc");
  EXPECT_TRUE(out.events[0].rendered_reasoning);
  EXPECT_EQ(out.events[1].kind, Kind::Text);
  EXPECT_EQ(out.events[1].text, "\n</think>\n\n");
  EXPECT_TRUE(out.events[1].rendered_reasoning);
  EXPECT_EQ(out.events[2].kind, Kind::Error);
  ASSERT_TRUE(out.events[2].error.has_value());
  EXPECT_EQ(out.events[2].error->message, "boom");
  // Nothing after the Error.
  layer.feed(source_event(an("late")), out);
  SourceEvent end;
  end.kind = SourceEvent::Kind::End;
  layer.feed(end, out);
  layer.finish(out);
  EXPECT_EQ(out.events.size(), 3u);
}

TEST(ThinkLayerEvents, EndCarriesTheFinishReason) {
  struct Row {
    const char* upstream;
    FinishReason expected;
  };
  const Row rows[] = {{"", FinishReason::Stop},
                      {"stop", FinishReason::Stop},
                      {"length", FinishReason::Length},
                      {"tool_calls", FinishReason::ToolCalls},
                      {"content_filter", FinishReason::ContentFilter}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.upstream);
    FakeClock clock;
    ThinkLayer layer(options_for(ThinkSource::Generic, ThinkMode::Think, clock));
    ResponseCollector out;
    layer.feed(source_event(c("<think>cut")), out);
    SourceEvent end;
    end.kind = SourceEvent::Kind::End;
    end.finish_reason = row.upstream;
    layer.feed(end, out);
    EXPECT_EQ(out.text(), "<think>\ncut\n</think>\n\n");
    ASSERT_EQ(out.events.back().kind, Kind::Finish);
    EXPECT_EQ(out.events.back().finish, row.expected);
  }
}

TEST(ThinkLayerEvents, NothingAfterFinish) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Reasoning, clock));
  ResponseCollector out;
  layer.feed(source_event(an("hi")), out);
  SourceEvent end;
  end.kind = SourceEvent::Kind::End;
  end.finish_reason = "length";
  layer.feed(end, out);
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[1].finish, FinishReason::Length);
  layer.feed(source_event(th(kOpen + "\n> more")), out);
  layer.feed(source_event(an("more")), out);
  SourceEvent usage;
  usage.kind = SourceEvent::Kind::Usage;
  layer.feed(usage, out);
  layer.feed(end, out);
  layer.finish(out);
  EXPECT_EQ(out.events.size(), 2u);
}

TEST(ThinkLayerEvents, FinishWithoutEndActsLikeEnd) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Quote, clock));
  ResponseCollector out;
  layer.feed(source_event(th(kOpen + "\n> line one\n> line two  ")), out);
  layer.finish(out);
  layer.finish(out);  // idempotent
  EXPECT_EQ(out.text(), "> line one\n> line two\n\n");
  EXPECT_EQ(out.count(Kind::Finish), 1u);
  EXPECT_EQ(out.events.back().finish, FinishReason::Stop);
}

// ───── z.ai adapter details ─────

ResponseCollector run_steps(ThinkSource source, ThinkMode mode, const std::vector<Step>& steps) {
  Case tc{"steps", source, steps, 0, "", "", 0};
  return run_case(tc, mode);
}

TEST(ThinkLayerZai, ThinkingAfterTheAnswerStartsANewBlock) {
  auto out = run_steps(ThinkSource::Zai, ThinkMode::Think,
                       {th(kOpen + "\n> one"), ed("true\">\n> one\n</details>\nA1"),
                        th(kOpen + "\n> two"), ed("true\">\n> two\n</details>\nA2")});
  EXPECT_EQ(out.text(), "<think>\none\n</think>\n\nA1<think>\ntwo\n</think>\n\nA2");
}

TEST(ThinkLayerZai, ToolBlockEndsTheReasoning) {
  auto out = run_steps(
      ThinkSource::Zai, ThinkMode::Think,
      {th(kOpen + "\n> plan  "), tool("<glm_block view=\"\">{}</glm_block>"), an("Result")});
  EXPECT_EQ(out.text(), "<think>\nplan\n</think>\n\nResult");
  EXPECT_EQ(text_where(out, false), "Result");
}

SourceEvent tool_use(std::string_view block, std::string_view name, std::string_view arguments) {
  SourceEvent event;
  event.kind = SourceEvent::Kind::ToolBlock;
  event.phase = Phase::ToolCall;
  event.text = block;
  event.tool_name = name;
  event.tool_arguments = arguments;
  return event;
}

// The kinds of the events, in order, e.g. "Text Text UpstreamTool".
std::string kinds_of(const ResponseCollector& out) {
  std::string kinds;
  for (const auto& e : out.events) {
    if (!kinds.empty()) kinds += ' ';
    kinds += e.kind == Kind::Reasoning      ? "Reasoning"
             : e.kind == Kind::Text         ? "Text"
             : e.kind == Kind::UpstreamTool ? "UpstreamTool"
             : e.kind == Kind::Finish       ? "Finish"
                                            : "Other";
  }
  return kinds;
}

TEST(ThinkLayerZai, ToolBlockDuringReasoningClosesItThenReportsTheTool) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Think, clock));
  ResponseCollector out;
  layer.feed(source_event(th(kOpen + "\n> plan")), out);
  layer.feed(tool_use("<glm_block>…</glm_block>", "browser_navigate", R"({"url":"https://x"})"),
             out);
  layer.feed(source_event(an("Result")), out);
  layer.finish(out);
  EXPECT_EQ(kinds_of(out), "Text Text UpstreamTool Text Finish");
  EXPECT_EQ(out.events[1].text, "\n</think>\n\n");  // the closing piece comes first
  EXPECT_TRUE(out.events[1].rendered_reasoning);
  EXPECT_EQ(out.events[2].tool_name, "browser_navigate");
  EXPECT_EQ(out.events[2].tool_arguments, R"({"url":"https://x"})");
  EXPECT_EQ(out.events[2].text, "");
  EXPECT_EQ(out.text(), "<think>\nplan\n</think>\n\nResult");
}

TEST(ThinkLayerZai, ToolBlockEndsReasoningInEveryMode) {
  for (ThinkMode mode : kAllModes) {
    SCOPED_TRACE(think_mode_name(mode));
    FakeClock clock;
    ThinkLayer layer(options_for(ThinkSource::Zai, mode, clock));
    ResponseCollector out;
    layer.feed(source_event(th(kOpen + "\n> plan")), out);
    const size_t before_tool = out.events.size();
    layer.feed(tool_use("", "search", "{}"), out);
    ASSERT_GT(out.events.size(), before_tool);
    EXPECT_EQ(out.events.back().kind, Kind::UpstreamTool);
    EXPECT_EQ(out.events.back().tool_name, "search");
    // Answer text after the tool is not reasoning.
    layer.feed(source_event(an("A")), out);
    EXPECT_EQ(out.events.back().text, "A");
    EXPECT_FALSE(out.events.back().rendered_reasoning);
  }
}

TEST(ThinkLayerZai, ToolBlockOutsideReasoningOnlyReportsTheTool) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Reasoning, clock));
  ResponseCollector out;
  layer.feed(source_event(an("Let me look. ")), out);
  layer.feed(tool_use("", "search", R"({"q":"x"})"), out);
  layer.feed(source_event(an("Found.")), out);
  EXPECT_EQ(kinds_of(out), "Text UpstreamTool Text");
  EXPECT_EQ(out.events[1].tool_arguments, R"({"q":"x"})");
}

TEST(ThinkLayerZai, ToolBlockWithoutANameReportsNothing) {
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Reasoning, clock));
  ResponseCollector out;
  layer.feed(source_event(th(kOpen + "\n> plan")), out);
  layer.feed(tool_use("<glm_block>{broken</glm_block>", "", ""), out);
  layer.feed(source_event(an("A")), out);
  EXPECT_EQ(out.count(Kind::UpstreamTool), 0u);
  EXPECT_EQ(out.reasoning(), "plan");  // the block still ended the reasoning
  EXPECT_EQ(out.text(), "A");
}

TEST(ThinkLayerZai, SnapshotAfterTheTransitionIsIgnored) {
  auto out = run_steps(
      ThinkSource::Zai, ThinkMode::Reasoning,
      {th(kOpen + "\n> r"), ed("true\">\n> r\n</details>\nHello"), ed("rewritten"), an(" world")});
  EXPECT_EQ(out.reasoning(), "r");
  EXPECT_EQ(out.text(), "Hello world");
}

TEST(ThinkLayerZai, TransitionWithoutDetailsCloseKeepsTheAnswerVerbatim) {
  auto out = run_steps(ThinkSource::Zai, ThinkMode::Raw, {th(kOpen + "\n> r  "), an("  answer")});
  EXPECT_EQ(out.text(), kOpen + "\n> r  \n</details>\n  answer");
  out = run_steps(ThinkSource::Zai, ThinkMode::Reasoning, {th(kOpen + "\n> r  "), an("  answer")});
  EXPECT_EQ(out.reasoning(), "r");
  EXPECT_EQ(out.text(), "  answer");
}

TEST(ThinkLayerZai, ThinkingWithoutOpenerIsBody) {
  auto out = run_steps(ThinkSource::Zai, ThinkMode::Reasoning, {th("<det"), th("ail> x"), an("a")});
  EXPECT_EQ(out.reasoning(), "<detail> x");
  out = run_steps(ThinkSource::Zai, ThinkMode::Reasoning, {th("plain thought"), an("a")});
  EXPECT_EQ(out.reasoning(), "plain thought");
}

TEST(ThinkLayerZai, SummaryIsDroppedOnlyAtTheStart) {
  auto out = run_steps(ThinkSource::Zai, ThinkMode::Reasoning,
                       {th(kOpen + "\n<sum"), th("mary>Thinking\u2026</sum"), th("mary>\n> x "),
                        th("<summary>kept</summary>"), an("a")});
  EXPECT_EQ(out.reasoning(), "x <summary>kept</summary>");
  out =
      run_steps(ThinkSource::Zai, ThinkMode::Reasoning, {th(kOpen + "\n> <sum"), th("s"), an("a")});
  EXPECT_EQ(out.reasoning(), "<sums");
}

// Past the cap the stream is not kept, so a tail that only the snapshot has is not released.
TEST(ThinkLayerZai, ReconciliationIsSkippedPastTheCap) {
  const std::string line(4095, 'x');
  FakeClock clock;
  ThinkLayer layer(options_for(ThinkSource::Zai, ThinkMode::Reasoning, clock));
  ResponseCollector out;
  layer.feed(source_event(th(kOpen + "\n> ")), out);
  size_t total = 0;
  std::string body;
  while (total <= think::ZaiAdapter::kReconcileCap) {
    layer.feed(source_event(th(line + "\n")), out);
    body += "> " + line + "\n";
    total += line.size() + 1;
  }
  layer.feed(source_event(ed("true\">\n" + body + "> tail\n</details>\na")), out);
  std::string reasoning = out.reasoning();
  EXPECT_EQ(reasoning.size(), total - 1);  // the final "\n" was held and dropped
  EXPECT_EQ(reasoning.find("tail"), std::string::npos);
  EXPECT_EQ(out.text(), "a");
}

// ───── generic adapters ─────

TEST(ThinkLayerGeneric, UnclosedTagAtTheEndIsReasoning) {
  auto out = run_steps(ThinkSource::Generic, ThinkMode::Reasoning, {c("  <think>a</th")});
  EXPECT_EQ(out.reasoning(), "a</th");
  EXPECT_EQ(out.text(), "");
  out = run_steps(ThinkSource::Generic, ThinkMode::Reasoning, {c("  <thi")});
  EXPECT_EQ(out.reasoning(), "");
  EXPECT_EQ(out.text(), "  <thi");
}

TEST(ThinkLayerGeneric, InlineTagsAreTextOnceAReasoningFieldWasSeen) {
  auto out = run_steps(ThinkSource::Generic, ThinkMode::Think, {rc("why"), c("<think>x</think>y")});
  EXPECT_EQ(out.text(), "<think>\nwhy\n</think>\n\n<think>x</think>y");
}

TEST(ThinkLayerGeneric, InlineThinkCanBeTurnedOff) {
  FakeClock clock;
  ThinkOptions options = options_for(ThinkSource::Generic, ThinkMode::Reasoning, clock);
  options.inline_think = false;
  ThinkLayer layer(options);
  ResponseCollector out;
  layer.feed(source_event(c("<think>x</think>y")), out);
  layer.finish(out);
  EXPECT_EQ(out.reasoning(), "");
  EXPECT_EQ(out.text(), "<think>x</think>y");
}

TEST(ThinkLayerGeneric, ReasoningFieldIsVerbatim) {
  auto out = run_steps(ThinkSource::Generic, ThinkMode::Quote,
                       {rc("  two\nlines  "), c(""), c(" answer ")});
  EXPECT_EQ(out.text(), ">   two\n> lines  \n\n answer ");
}

// ───── answer pass-through ─────

// Where each piece of answer text points: a pass-through hands on a view of the input itself.
struct AnswerViews final : ResponseSink {
  std::vector<std::string_view> answers;
  void on_event(const ResponseEvent& event) override {
    if (event.kind == Kind::Text && !event.rendered_reasoning) answers.push_back(event.text);
  }
};

// Feeds `steps` and returns the answer views. Only the views into `steps` are compared, so a
// step's text must outlive the call: the steps are the caller's.
std::vector<std::string_view> answer_views(ThinkSource source, ThinkMode mode,
                                           const std::vector<Step>& steps) {
  FakeClock clock;
  ThinkLayer layer(options_for(source, mode, clock));
  AnswerViews out;
  for (const Step& step : steps) layer.feed(source_event(step), out);
  layer.finish(out);
  return out.answers;
}

// Answer text goes out as it came, one piece per event and without a copy, before and after a
// reasoning block; only the leading space after an empty transition (B09) is cut off.
TEST(ThinkLayerAnswer, PassesAnswerTextThroughUncopied) {
  const auto same_view = [](std::string_view a, std::string_view b) {
    return a.data() == b.data() && a.size() == b.size();
  };
  for (ThinkMode mode : kAllModes) {
    SCOPED_TRACE(think_mode_name(mode));
    const std::vector<Step> zai = {an("before"), th(kOpen + "\n> r"),
                                   ed("true\">\n> r\n</details>\n"), an("  after"), an(" again")};
    auto views = answer_views(ThinkSource::Zai, mode, zai);
    ASSERT_EQ(views.size(), 3u);
    EXPECT_TRUE(same_view(views[0], zai[0].text));
    EXPECT_TRUE(same_view(views[1], std::string_view(zai[3].text).substr(2)));
    EXPECT_TRUE(same_view(views[2], zai[4].text));

    const std::vector<Step> inline_think = {c("<think>r</think>"), c("  a"), c(" b")};
    views = answer_views(ThinkSource::Generic, mode, inline_think);
    if (mode == ThinkMode::Raw) {  // no inline tags in raw: everything is answer
      ASSERT_EQ(views.size(), 3u);
      EXPECT_TRUE(same_view(views[0], inline_think[0].text));
    } else {
      ASSERT_EQ(views.size(), 2u);
      EXPECT_TRUE(same_view(views[0], std::string_view(inline_think[1].text).substr(2)));
      EXPECT_TRUE(same_view(views[1], inline_think[2].text));
    }

    const std::vector<Step> fields = {c("a"), rc("r"), c("b"), c("c")};
    views = answer_views(ThinkSource::Generic, mode, fields);
    ASSERT_EQ(views.size(), 3u);
    EXPECT_TRUE(same_view(views[0], fields[0].text));
    EXPECT_TRUE(same_view(views[1], fields[2].text));
    EXPECT_TRUE(same_view(views[2], fields[3].text));
  }
}

// ───── mode names ─────

TEST(ThinkMode, NamesRoundTrip) {
  for (ThinkMode mode : kAllModes) EXPECT_EQ(parse_think_mode(think_mode_name(mode)), mode);
  EXPECT_EQ(parse_think_mode("strip"), ThinkMode::Quote);
  EXPECT_FALSE(parse_think_mode("Think"));
  EXPECT_FALSE(parse_think_mode(""));
}

}  // namespace
}  // namespace zaiproxy
