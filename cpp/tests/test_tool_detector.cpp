// ToolDetector against toolcall-and-think.md A3.4 and A5.2: the conformance cases A01–A30, each fed
// as listed, whole, one code point per delta, one byte per delta and in random splits, with the
// latency assertions of A01/A03/A17/A18 and the C.5 invariants checked on every run; then the
// behaviour around them (reasoning, UpstreamTool, parallel_tool_calls, errors, limits) and the
// trigger helpers of tools.hpp. Expected results are written out by hand from the spec.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "utf8.hpp"
#include "zaiproxy/tool_detector.hpp"
#include "zaiproxy/tools.hpp"

namespace zaiproxy {
namespace {

using Kind = ResponseEvent::Kind;

const std::string T = "<Function_AB1c_Start/>";
const std::string W = R"({"city":"Paris"})";

// BLK(name, json) of the spec's conventions.
std::string blk(const std::string& name, const std::string& json) {
  return "<function_calls>\n<function_call>\n<tool>" + name + "</tool>\n<args_json><![CDATA[" +
         json + "]]></args_json>\n</function_call>\n</function_calls>";
}

// T and a block with one call of w whose children after `<tool>` are `args`.
std::string call_w(const std::string& args) {
  return T + "<function_calls><function_call><tool>w</tool>" + args +
         "</function_call></function_calls>";
}

ToolOptions options(ToolChoice choice = ToolChoice::Auto, std::string choice_name = "") {
  ToolOptions o;
  o.tools = {{"get_weather", "", "{}"}, {"w", "", "{}"}};
  o.choice = choice;
  o.choice_name = std::move(choice_name);
  o.trigger = T;
  return o;
}

// ───── what the client sees ─────

struct Recorded {
  Kind kind;
  std::string text;
  bool rendered_reasoning;
  std::string tool_name, tool_arguments;
  FinishReason finish;
};

struct Collector : ResponseSink {
  std::vector<Recorded> events;
  void on_event(const ResponseEvent& e) override {
    events.push_back({e.kind, std::string(e.text), e.rendered_reasoning, std::string(e.tool_name),
                      std::string(e.tool_arguments), e.finish});
  }
  std::string text() const {
    std::string out;
    for (const Recorded& e : events) {
      if (e.kind == Kind::Text) out += e.text;
    }
    return out;
  }
  // Runs of Text ("C:") and Reasoning ("R:") merged, since chunking is not normative; then
  // "TC:name args", "FIN:reason", "ERR", in order.
  std::vector<std::string> transcript() const {
    std::vector<std::string> out;
    Kind last = Kind::Usage;
    for (const Recorded& e : events) {
      switch (e.kind) {
        case Kind::Text:
        case Kind::Reasoning:
          if (last != e.kind) out.push_back(e.kind == Kind::Text ? "C:" : "R:");
          out.back() += e.text;
          break;
        case Kind::ToolCall:
          out.push_back("TC:" + e.tool_name + " " + e.tool_arguments);
          break;
        case Kind::Finish:
          out.push_back(std::string("FIN:") + finish_reason_name(e.finish));
          break;
        case Kind::Error:
          out.push_back("ERR");
          break;
        case Kind::UpstreamTool:
          out.push_back("UPSTREAM:" + e.tool_name);
          break;
        case Kind::Usage:
          out.push_back("USAGE");
          break;
      }
      last = e.kind;
    }
    return out;
  }
};

std::string C(const std::string& text) { return "C:" + text; }
std::string R(const std::string& text) { return "R:" + text; }
std::string TC(const std::string& name, const std::string& args) {
  return "TC:" + name + " " + args;
}
const std::string FIN_STOP = "FIN:stop";
const std::string FIN_TOOL_CALLS = "FIN:tool_calls";
const std::string FIN_LENGTH = "FIN:length";

ResponseEvent text_event(std::string_view text, bool rendered_reasoning = false) {
  ResponseEvent e;
  e.kind = Kind::Text;
  e.text = text;
  e.rendered_reasoning = rendered_reasoning;
  return e;
}

ResponseEvent finish_event(FinishReason reason) {
  ResponseEvent e;
  e.kind = Kind::Finish;
  e.finish = reason;
  return e;
}

ResponseEvent upstream_tool(std::string_view name, std::string_view arguments) {
  ResponseEvent e;
  e.kind = Kind::UpstreamTool;
  e.tool_name = name;
  e.tool_arguments = arguments;
  return e;
}

struct Outcome {
  Collector out;
  std::vector<std::string> text_after_piece;  // all Text emitted once each piece was fed
};

Outcome run(const std::vector<std::string>& pieces, const ToolOptions& tool_options,
            FinishReason upstream = FinishReason::Stop) {
  ToolDetector detector(tool_options);
  Outcome r;
  for (const std::string& piece : pieces) {
    detector.feed(text_event(piece), r.out);
    r.text_after_piece.push_back(r.out.text());
  }
  detector.feed(finish_event(upstream), r.out);
  return r;
}

// ───── chunkings ─────

std::string joined(const std::vector<std::string>& pieces) {
  std::string all;
  for (const std::string& p : pieces) all += p;
  return all;
}

size_t code_point_length(const std::string& text, size_t at) {
  auto lead = static_cast<unsigned char>(text[at]);
  return lead < 0x80 ? 1 : utf8::sequence_length(text.data() + at, text.size() - at);
}

std::vector<std::string> per_code_point(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    size_t n = code_point_length(text, at);
    out.push_back(text.substr(at, n));
    at += n;
  }
  return out;
}

std::vector<std::string> per_byte(const std::string& text) {
  std::vector<std::string> out;
  for (char c : text) out.emplace_back(1, c);
  return out;
}

// Random cuts at code point boundaries, pieces of 1–40 bytes.
std::vector<std::string> random_split(const std::string& text, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.size(), at + 1 + rng() % 40);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.push_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

bool is_valid_utf8(const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    size_t n = code_point_length(text, at);
    if (n == 0) return false;
    at += n;
  }
  return true;
}

// C.5: no empty text, valid UTF-8 when the input was cut at code points, arguments always a JSON
// object, exactly one Finish and it comes last.
void expect_invariants(const Collector& out, bool cut_at_code_points) {
  size_t finishes = 0;
  for (const Recorded& e : out.events) {
    if (e.kind == Kind::Text) {
      EXPECT_FALSE(e.text.empty()) << "empty Text event";
      if (cut_at_code_points) {
        EXPECT_TRUE(is_valid_utf8(e.text)) << "invalid UTF-8: " << e.text;
      }
    }
    if (e.kind == Kind::ToolCall) {
      auto args = nlohmann::json::parse(e.tool_arguments, nullptr, false);
      EXPECT_TRUE(args.is_object()) << e.tool_arguments;
    }
    finishes += e.kind == Kind::Finish;
  }
  EXPECT_EQ(finishes, 1u);
  ASSERT_FALSE(out.events.empty());
  EXPECT_EQ(out.events.back().kind, Kind::Finish);
}

// R1 latency rule: un-emitted answer text ≤ its trailing whitespace + len(T)−1 + 8.
void expect_latency(const std::vector<std::string>& pieces, const Outcome& r) {
  std::string fed;
  for (size_t i = 0; i < pieces.size(); ++i) {
    fed += pieces[i];
    const std::string& emitted = r.text_after_piece[i];
    ASSERT_EQ(fed.compare(0, emitted.size(), emitted), 0) << "emitted text is not a prefix";
    size_t trailing_ws = 0;
    while (trailing_ws < fed.size() &&
           std::string(" \t\r\n").find(fed[fed.size() - 1 - trailing_ws]) != std::string::npos) {
      ++trailing_ws;
    }
    EXPECT_LE(fed.size() - emitted.size(), trailing_ws + T.size() - 1 + 8) << "after piece " << i;
  }
}

// ───── A5.2 ─────

struct Case {
  std::string id;
  std::vector<std::string> deltas;
  std::vector<std::string> expected;
  FinishReason upstream = FinishReason::Stop;
  ToolOptions tool_options = options();
  bool answer_text_only = false;  // no trigger outside think: the latency rule applies throughout
};

std::vector<Case> conformance_cases() {
  const std::string a03 = "Let me check.\n" + T + "\n" + blk("get_weather", W);
  const std::string a03_1 = "Let me check.\n<Func", a03_2 = "tion_AB1c_St",
                    a03_3 = "art/>\n<function_calls>\n<functio";
  const std::string a08 =
      T +
      "<function_calls>\n<function_call>\n<tool>get_weather</tool>\n"
      "<args_json><![CDATA[{\"city\":\"A\"}]]></args_json>\n</function_call>\n"
      "<function_call>\n<tool>w</tool>\n<args_json><![CDATA[{\"html\":\"x\"}]]></args_json>\n"
      "</function_call>\n</function_calls>";
  const std::string a13 =
      T +
      "<function_calls><function_call><tool>w</tool><args_json>{bad}</args_json>"
      "</function_call></function_calls>";
  const std::string a15 =
      T +
      "<function_calls><function_call><tool>w</tool><args_json>{\"html\":\"1\"}</args_json>"
      "</function_call>";
  const std::string a16 =
      T + "<function_calls><function_call><tool>w</tool><args_json>{\"html\":\"1";
  const std::string xs(5000, 'x');

  std::vector<Case> cases = {
      {"A01", {"Hello", " world"}, {C("Hello world"), FIN_STOP}},
      {"A02",
       {"Let me check.\n" + T + "\n" + blk("get_weather", W)},
       {C("Let me check."), TC("get_weather", R"({"city":"Paris"})"), FIN_TOOL_CALLS}},
      {"A03",
       {a03_1, a03_2, a03_3, a03.substr(a03_1.size() + a03_2.size() + a03_3.size())},
       {C("Let me check."), TC("get_weather", R"({"city":"Paris"})"), FIN_TOOL_CALLS}},
      {"A04", {"a <Function_AB1c_Stop/> b"}, {C("a <Function_AB1c_Stop/> b"), FIN_STOP}},
      {"A05",
       {"<think>I might emit " + T + " later</think>The answer is 4."},
       {C("<think>I might emit <Function_AB1c_Start/> later</think>The answer is 4."), FIN_STOP}},
      {"A06",
       {"<thi", "nk>x <Function", "_AB1c_Start/></th", "ink>done"},
       {C("<think>x <Function_AB1c_Start/></think>done"), FIN_STOP}},
      {"A07",
       {"<think>plan</think>\n" + T + "\n" + blk("get_weather", W)},
       {C("<think>plan</think>"), TC("get_weather", R"({"city":"Paris"})"), FIN_TOOL_CALLS}},
      {"A08",
       {a08},
       {TC("get_weather", R"({"city":"A"})"), TC("w", R"({"html":"x"})"), FIN_TOOL_CALLS}},
      {"A09",
       {T + blk("get_weather", W) + "\nI have called the tool."},
       {TC("get_weather", R"({"city":"Paris"})"), FIN_TOOL_CALLS}},
      {"A10",
       {T + blk("get_weather", R"({"city":"A"})"),
        "\n" + T + blk("get_weather", R"({"city":"B"})")},
       {TC("get_weather", R"({"city":"A"})"), TC("get_weather", R"({"city":"B"})"),
        FIN_TOOL_CALLS}},
      {"A11",
       {T + "<function_calls><function_call><tool>w</tool><args_json><![CDATA[{\"html\":\"a"
            "</function_calls>",
        "b\"}]]></args_json></function_call></function_calls>"},
       {TC("w", R"({"html":"a</function_calls>b"})"), FIN_TOOL_CALLS}},
      {"A12",
       {call_w(R"(<args_json>{"html":"<b>x</b> </function_call> &"}</args_json>)")},
       {TC("w", R"({"html":"<b>x</b> </function_call> &"})"), FIN_TOOL_CALLS}},
      {"A13", {a13, " tail"}, {C(a13 + " tail"), FIN_STOP}},
      {"A14", {T + blk("nope", "{}")}, {C(T + blk("nope", "{}")), FIN_STOP}},
      {"A15", {a15}, {TC("w", R"({"html":"1"})"), FIN_TOOL_CALLS}},
      {"A16", {a16}, {C(a16), FIN_LENGTH}, FinishReason::Length},
      {"A17",
       {"Sure. " + T + "\nActually no tool is needed."},
       {C("Sure. <Function_AB1c_Start/>\nActually no tool is needed."), FIN_STOP}},
      {"A18", {T + xs, "y"}, {C(T + xs + "y"), FIN_STOP}},
      {"A19",
       {call_w(R"(<args_json>{"html":"&lt;b&gt; &amp; &#x4E2D;"}</args_json>)")},
       {TC("w", R"({"html":"<b> & 中"})"), FIN_TOOL_CALLS}},
      {"A20",
       {call_w(R"(<args><html>"1"</html><n>2</n></args>)")},
       {TC("w", R"({"html":"1","n":2})"), FIN_TOOL_CALLS}},
      {"A21",
       {T + "<function_calls><invoke name=\"w\"><parameter name=\"html\">a &amp; b</parameter>"
            "<parameter name=\"n\">[1,2]</parameter></invoke></function_calls>"},
       {TC("w", R"({"html":"a & b","n":[1,2]})"), FIN_TOOL_CALLS}},
      {"A22",
       {call_w("<args_json>```json\n{\"html\":\"1\"}\n```</args_json>")},
       {TC("w", R"({"html":"1"})"), FIN_TOOL_CALLS}},
      {"A23", {call_w("<args_json></args_json>")}, {TC("w", "{}"), FIN_TOOL_CALLS}},
      {"A24",
       {call_w("<args_json>[1]</args_json>")},
       {C(call_w("<args_json>[1]</args_json>")), FIN_STOP}},
      {"A25",
       {"x " + T + blk("w", "{}")},
       {C("x " + T + blk("w", "{}")), FIN_STOP},
       FinishReason::Stop,
       options(ToolChoice::None),
       true},
      {"A26",
       {T + blk("get_weather", W)},
       {C(T + blk("get_weather", W)), FIN_STOP},
       FinishReason::Stop,
       options(ToolChoice::Named, "w")},
      {"A27",
       {"你好，", "我查一下。\n<Fun",
        "ction_AB1c_Start/>" + blk("get_weather", R"({"city":"北京"})")},
       {C("你好，我查一下。"), TC("get_weather", R"({"city":"北京"})"), FIN_TOOL_CALLS}},
      {"A28", {"Done.\n\n"}, {C("Done.\n\n"), FIN_STOP}},
      {"A29",
       {call_w(R"(<args_json><![CDATA[{"html":"]]]]><![CDATA[>"}]]></args_json>)")},
       {TC("w", R"({"html":"]]>"})"), FIN_TOOL_CALLS}},
      {"A30",
       {"<think>never closed " + T + blk("w", "{}")},
       {C("<think>never closed " + T + blk("w", "{}")), FIN_STOP}},
  };
  for (Case& c : cases) {
    if (c.id == "A01" || c.id == "A04" || c.id == "A05" || c.id == "A06" || c.id == "A28" ||
        c.id == "A30") {
      c.answer_text_only = true;
    }
  }
  return cases;
}

void check(const Case& c, const std::vector<std::string>& pieces, bool cut_at_code_points) {
  Outcome r = run(pieces, c.tool_options, c.upstream);
  EXPECT_EQ(r.out.transcript(), c.expected);
  expect_invariants(r.out, cut_at_code_points);
  if (c.answer_text_only) expect_latency(pieces, r);
}

TEST(ToolDetectorConformance, DeltasAsListed) {
  for (const Case& c : conformance_cases()) {
    SCOPED_TRACE(c.id);
    check(c, c.deltas, true);
  }
}

TEST(ToolDetectorConformance, WholeInOneDelta) {
  for (const Case& c : conformance_cases()) {
    SCOPED_TRACE(c.id);
    check(c, {joined(c.deltas)}, true);
  }
}

TEST(ToolDetectorConformance, OneDeltaPerCodePoint) {  // A31
  for (const Case& c : conformance_cases()) {
    SCOPED_TRACE(c.id);
    check(c, per_code_point(joined(c.deltas)), true);
  }
}

TEST(ToolDetectorConformance, OneDeltaPerByte) {
  for (const Case& c : conformance_cases()) {
    SCOPED_TRACE(c.id);
    check(c, per_byte(joined(c.deltas)), false);
  }
}

TEST(ToolDetectorConformance, RandomSplits) {
  for (const Case& c : conformance_cases()) {
    for (uint32_t seed = 1; seed <= 25; ++seed) {
      SCOPED_TRACE(c.id + " seed " + std::to_string(seed));
      check(c, random_split(joined(c.deltas), seed), true);
    }
  }
}

// ───── latency assertions of A5.2 ─────

TEST(ToolDetectorLatency, A01HelloGoesOutAtOnce) {
  Outcome r = run({"Hello", " world"}, options());
  EXPECT_EQ(r.text_after_piece[0], "Hello");
}

TEST(ToolDetectorLatency, A03OnlyTheTextBeforeTheHeldTriggerPrefix) {
  std::string all = "Let me check.\n" + T + "\n" + blk("get_weather", W);
  std::vector<std::string> pieces = {"Let me check.\n<Func", "tion_AB1c_St",
                                     "art/>\n<function_calls>\n<functio"};
  pieces.push_back(all.substr(joined(pieces).size()));
  Outcome r = run(pieces, options());
  EXPECT_EQ(r.text_after_piece[0], "Let me check.");
  EXPECT_EQ(r.text_after_piece[1], "Let me check.");
  EXPECT_EQ(r.text_after_piece[2], "Let me check.");
  EXPECT_EQ(r.out.events[1].kind, Kind::ToolCall);  // emitted with the piece that completes it
}

TEST(ToolDetectorLatency, A17DroppedWhitespaceComesBackAtTheEnd) {
  std::vector<std::string> pieces = {"Sure. " + T + "\nActually no tool is needed."};
  Outcome r = run(pieces, options());
  EXPECT_EQ(r.text_after_piece[0], "Sure.");
  EXPECT_EQ(r.out.text(), "Sure. " + T + "\nActually no tool is needed.");
}

TEST(ToolDetectorLatency, A18PreambleLimitFlushesBeforeTheEnd) {
  std::string xs(5000, 'x');
  Outcome r = run({T + xs, "y"}, options());
  EXPECT_EQ(r.text_after_piece[0], T + xs);
  EXPECT_EQ(r.text_after_piece[1], T + xs + "y");
}

TEST(ToolDetectorLatency, PreambleLimitCountsBytesAfterTheTrigger) {
  std::string within(4096, 'x');
  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event(T + within), out);
  EXPECT_EQ(out.text(), "");  // 4,096 bytes may still precede <function_calls>
  detector.feed(text_event("x"), out);
  EXPECT_EQ(out.text(), T + within + "x");
}

// ───── reasoning is never scanned (C.5 rule 3, R8) ─────

TEST(ToolDetectorReasoning, TriggerInReasoningNeverFires) {
  ToolDetector detector(options());
  Collector out;
  ResponseEvent reasoning;
  reasoning.kind = Kind::Reasoning;
  std::string call = T + blk("w", "{}");
  reasoning.text = call;
  detector.feed(reasoning, out);
  detector.feed(text_event(call, /*rendered_reasoning=*/true), out);
  detector.feed(text_event("Answer."), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{R(call), C(call + "Answer."), FIN_STOP}));
  EXPECT_TRUE(out.events[1].rendered_reasoning);
}

TEST(ToolDetectorReasoning, TriggerSplitAcrossRenderedReasoningAndAnswerDoesNotFire) {
  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event("<think>\nI will write <Func", true), out);
  detector.feed(text_event("tion_AB1c_Start/>" + blk("w", "{}")), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(),
            (std::vector<std::string>{
                C("<think>\nI will write <Function_AB1c_Start/>" + blk("w", "{}")), FIN_STOP}));
}

TEST(ToolDetectorReasoning, HeldAnswerTextGoesOutBeforeRenderedReasoning) {
  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event("a \n<Fu"), out);
  detector.feed(text_event("<think>x</think>", true), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{C("a \n<Fu<think>x</think>"), FIN_STOP}));
}

TEST(ToolDetectorReasoning, ReasoningDuringACallIsForwardedAtOnce) {  // R8
  ToolDetector detector(options());
  Collector out;
  std::string all = "Hi\n" + T + blk("w", R"({"a":1})");
  detector.feed(text_event(all.substr(0, 40)), out);
  ResponseEvent reasoning;
  reasoning.kind = Kind::Reasoning;
  reasoning.text = "still thinking";
  detector.feed(reasoning, out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{C("Hi"), R("still thinking")}));
  detector.feed(text_event(all.substr(40)), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{C("Hi"), R("still thinking"),
                                                        TC("w", R"({"a":1})"), FIN_TOOL_CALLS}));
}

// ───── triggers that must not fire ─────

TEST(ToolDetectorTrigger, ForgedVariantsStayText) {
  for (const std::string& forged :
       {std::string("<Function_AB1c_Start />"), std::string("<Function_XYZ9_Start/>"),
        std::string("<function_AB1c_Start/>"), std::string("<Function_AB1c_Start>")}) {
    SCOPED_TRACE(forged);
    std::string input = "x\n" + forged + "\n" + blk("w", "{}");
    for (const auto& pieces : {std::vector<std::string>{input}, per_code_point(input)}) {
      Outcome r = run(pieces, options());
      EXPECT_EQ(r.out.transcript(), (std::vector<std::string>{C(input), FIN_STOP}));
    }
  }
}

TEST(ToolDetectorTrigger, NoToolsMeansNoDetection) {
  ToolOptions no_tools = options();
  no_tools.tools.clear();
  std::string input = "x\n" + T + blk("w", "{}");
  Outcome r = run({input}, no_tools);
  EXPECT_EQ(r.out.transcript(), (std::vector<std::string>{C(input), FIN_STOP}));
}

TEST(ToolDetectorTrigger, StrayThinkCloseDoesNotDisarm) {
  Outcome r = run({"</think>\n" + T + blk("w", "{}")}, options());
  EXPECT_EQ(r.out.transcript(),
            (std::vector<std::string>{C("</think>"), TC("w", "{}"), FIN_TOOL_CALLS}));
}

TEST(ToolDetectorTrigger, AtMost256BytesOfWhitespaceAreHeldAndDropped) {
  std::string input = std::string(1000, '\n') + T + blk("w", "{}");
  for (const auto& pieces : {std::vector<std::string>{input}, per_byte(input)}) {
    Outcome r = run(pieces, options());
    EXPECT_EQ(r.out.transcript(),
              (std::vector<std::string>{C(std::string(744, '\n')), TC("w", "{}"), FIN_TOOL_CALLS}));
  }
  // A long run of blank-line tokens streams through in linear time.
  ToolDetector detector(options());
  Collector out;
  for (int i = 0; i < 200000; ++i) detector.feed(text_event("\n"), out);
  EXPECT_EQ(out.text().size(), 200000u - 256u);
  detector.finish(out);
  EXPECT_EQ(out.text().size(), 200000u);
}

TEST(ToolDetectorTrigger, ProcessTriggerIsTheDefault) {
  ToolOptions o = options();
  o.trigger.clear();
  std::string input = "a " + process_trigger() + blk("w", "{}");
  Outcome r = run({input}, o);
  EXPECT_EQ(r.out.transcript(), (std::vector<std::string>{C("a"), TC("w", "{}"), FIN_TOOL_CALLS}));
}

// ───── failures, re-arming and R6 ─────

TEST(ToolDetectorFallback, FailedBlockIsTextAndALaterBlockStillWorks) {
  std::string input = T + blk("nope", "{}") + "\n" + T + blk("w", "{}");
  for (const auto& pieces : {std::vector<std::string>{input}, per_byte(input)}) {
    Outcome r = run(pieces, options());
    EXPECT_EQ(r.out.transcript(),
              (std::vector<std::string>{C(T + blk("nope", "{}")), TC("w", "{}"), FIN_TOOL_CALLS}));
  }
}

TEST(ToolDetectorFallback, TextBeforeFunctionCallsFails) {
  std::string input = "a\n" + T + "\nnote\n" + blk("w", "{}");
  Outcome r = run({input}, options());
  EXPECT_EQ(r.out.transcript(), (std::vector<std::string>{C(input), FIN_STOP}));
}

TEST(ToolDetectorFallback, FailedBlockAfterCallsIsDiscarded) {  // R6
  Outcome r = run({T + blk("w", "{}") + "\n" + T + blk("nope", "{}") + " trailing"}, options());
  EXPECT_EQ(r.out.transcript(), (std::vector<std::string>{TC("w", "{}"), FIN_TOOL_CALLS}));
}

TEST(ToolDetectorFallback, OversizedBlockIsTextAndDetectionReArms) {
  ToolOptions small = options();
  small.max_call_bytes = 160;  // the second block, 142 bytes, fits
  std::string big = call_w(R"(<args_json>{"a":")" + std::string(300, 'x') + R"("}</args_json>)");
  std::string input = big + " then " + T + blk("w", "{}");
  for (const auto& pieces :
       {std::vector<std::string>{input}, per_byte(input), random_split(input, 7)}) {
    Outcome r = run(pieces, small);
    EXPECT_EQ(r.out.transcript(),
              (std::vector<std::string>{C(big + " then"), TC("w", "{}"), FIN_TOOL_CALLS}));
  }
}

TEST(ToolDetectorFallback, LenientCloseNeedsOnlyWhitespaceAfterTheLastCall) {
  std::string open = T + "<function_calls><function_call><tool>w</tool></function_call>";
  EXPECT_EQ(run({open + "\n "}, options()).out.transcript(),
            (std::vector<std::string>{TC("w", "{}"), FIN_TOOL_CALLS}));
  EXPECT_EQ(run({open + "\nand"}, options()).out.transcript(),
            (std::vector<std::string>{C(open + "\nand"), FIN_STOP}));
  EXPECT_EQ(run({open}, options(), FinishReason::Length).out.transcript(),
            (std::vector<std::string>{C(open), FIN_LENGTH}));
  std::string unclosed = T + "<function_calls><function_call><tool>w</tool>";
  EXPECT_EQ(run({unclosed}, options()).out.transcript(),
            (std::vector<std::string>{C(unclosed), FIN_STOP}));
}

TEST(ToolDetectorFallback, NamedChoiceAcceptsItsTool) {
  Outcome r = run({T + blk("w", "{}")}, options(ToolChoice::Named, "w"));
  EXPECT_EQ(r.out.transcript(), (std::vector<std::string>{TC("w", "{}"), FIN_TOOL_CALLS}));
}

// ───── parallel_tool_calls = false ─────

TEST(ToolDetectorParallel, OnlyTheFirstCallIsKept) {
  ToolOptions single = options();
  single.parallel_tool_calls = false;
  std::string two_calls = T +
                          "<function_calls><function_call><tool>get_weather</tool></function_call>"
                          "<function_call><tool>w</tool></function_call></function_calls>";
  EXPECT_EQ(run({two_calls}, single).out.transcript(),
            (std::vector<std::string>{TC("get_weather", "{}"), FIN_TOOL_CALLS}));
  EXPECT_EQ(run({T + blk("w", R"({"n":1})") + T + blk("w", R"({"n":2})")}, single).out.transcript(),
            (std::vector<std::string>{TC("w", R"({"n":1})"), FIN_TOOL_CALLS}));

  ToolDetector detector(single);
  Collector out;
  detector.feed(upstream_tool("w", R"({"n":1})"), out);
  detector.feed(upstream_tool("w", R"({"n":2})"), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{TC("w", R"({"n":1})"), FIN_TOOL_CALLS}));
}

// ───── the upstream's native tool use ─────

std::vector<std::string> upstream_transcript(const ToolOptions& tool_options, std::string_view name,
                                             std::string_view arguments,
                                             FinishReason upstream = FinishReason::ToolCalls) {
  ToolDetector detector(tool_options);
  Collector out;
  detector.feed(upstream_tool(name, arguments), out);
  detector.feed(finish_event(upstream), out);
  return out.transcript();
}

TEST(ToolDetectorUpstreamTool, OfferedToolBecomesACallWithCompactArguments) {
  EXPECT_EQ(
      upstream_transcript(options(), "get_weather", "{ \"city\" : \"北京\", \"n\" : [1, 2] }"),
      (std::vector<std::string>{TC("get_weather", R"({"city":"北京","n":[1,2]})"),
                                FIN_TOOL_CALLS}));
  EXPECT_EQ(upstream_transcript(options(), "w", " ", FinishReason::Stop),
            (std::vector<std::string>{TC("w", "{}"), FIN_TOOL_CALLS}));
}

TEST(ToolDetectorUpstreamTool, EverythingElseIsDropped) {
  const std::vector<std::string> dropped = {FIN_STOP};
  EXPECT_EQ(upstream_transcript(options(), "search", R"({"q":"x"})"), dropped);  // internal
  EXPECT_EQ(upstream_transcript(options(), "W", "{}"), dropped);                 // case-sensitive
  EXPECT_EQ(upstream_transcript(options(), "w", "[1]"), dropped);                // not an object
  EXPECT_EQ(upstream_transcript(options(), "w", R"({"a":)"), dropped);           // not JSON
  EXPECT_EQ(upstream_transcript(options(ToolChoice::None), "w", "{}"), dropped);
  EXPECT_EQ(upstream_transcript(options(ToolChoice::Named, "get_weather"), "w", "{}"), dropped);
  ToolOptions no_tools = options();
  no_tools.tools.clear();
  EXPECT_EQ(upstream_transcript(no_tools, "w", "{}"), dropped);
}

TEST(ToolDetectorUpstreamTool, HeldTextGoesOutFirstAndTextAfterTheCallIsDropped) {
  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event("Let me check.\n"), out);
  detector.feed(upstream_tool("w", "{}"), out);
  detector.feed(text_event("Done."), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(),
            (std::vector<std::string>{C("Let me check.\n"), TC("w", "{}"), FIN_TOOL_CALLS}));
}

// ───── errors, usage and the end ─────

TEST(ToolDetectorEnd, ErrorMidCallGivesTheBlockBackFirst) {
  StreamError failure;
  ResponseEvent error;
  error.kind = Kind::Error;
  error.error = &failure;
  std::string half = T + "<function_calls><function_call>";

  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event("Hi\n" + half), out);
  detector.feed(error, out);
  detector.feed(text_event("ignored"), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{C("Hi\n" + half), "ERR"}));

  ToolDetector after_call(options());
  Collector out2;
  after_call.feed(text_event(T + blk("w", "{}") + "\n" + half), out2);
  after_call.feed(error, out2);
  EXPECT_EQ(out2.transcript(), (std::vector<std::string>{TC("w", "{}"), "ERR"}));

  ToolDetector held(options());
  Collector out3;
  held.feed(text_event("Hello \n<Fu"), out3);
  held.feed(error, out3);
  EXPECT_EQ(out3.transcript(), (std::vector<std::string>{C("Hello \n<Fu"), "ERR"}));
}

TEST(ToolDetectorEnd, UsagePassesThroughAtOnce) {
  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event(T + "<function_calls>"), out);
  ResponseEvent usage;
  usage.kind = Kind::Usage;
  usage.usage.total_tokens = 7;
  detector.feed(usage, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, Kind::Usage);
}

TEST(ToolDetectorEnd, UpstreamToolCallsWithoutACallIsAStop) {
  EXPECT_EQ(run({"text"}, options(), FinishReason::ToolCalls).out.transcript(),
            (std::vector<std::string>{C("text"), FIN_STOP}));
  EXPECT_EQ(run({"text"}, options(), FinishReason::ContentFilter).out.transcript(),
            (std::vector<std::string>{C("text"), "FIN:content_filter"}));
}

TEST(ToolDetectorEnd, FinishWithoutAFinishEventAndNothingAfterTheEnd) {
  ToolDetector detector(options());
  Collector out;
  detector.feed(text_event("a\n"), out);
  detector.finish(out);
  detector.feed(text_event("b"), out);
  detector.feed(finish_event(FinishReason::Length), out);
  detector.finish(out);
  EXPECT_EQ(out.transcript(), (std::vector<std::string>{C("a\n"), FIN_STOP}));
}

// ───── tools.hpp ─────

// `<Function_` + `length` characters of [A-Za-z0-9] + `_Start/>`.
bool has_trigger_form(const std::string& trigger, size_t length) {
  const std::string head = "<Function_", tail = "_Start/>";
  if (trigger.size() != head.size() + length + tail.size()) return false;
  if (trigger.compare(0, head.size(), head) != 0) return false;
  if (trigger.compare(head.size() + length, tail.size(), tail) != 0) return false;
  for (size_t i = head.size(); i < head.size() + length; ++i) {
    char c = trigger[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

TEST(Tools, FindIsExactAndCaseSensitive) {
  ToolOptions o = options();
  ASSERT_NE(o.find("w"), nullptr);
  EXPECT_EQ(o.find("w")->name, "w");
  EXPECT_EQ(o.find("W"), nullptr);
  EXPECT_EQ(o.find("get_weathe"), nullptr);
}

TEST(Tools, MakeTriggerFormAndSeed) {
  EXPECT_TRUE(has_trigger_form(make_trigger(), 4));
  EXPECT_EQ(make_trigger(42), make_trigger(42));
  std::set<std::string> distinct;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::string trigger = make_trigger(seed);
    EXPECT_TRUE(has_trigger_form(trigger, 4)) << trigger;
    distinct.insert(trigger);
  }
  EXPECT_GT(distinct.size(), 15u);
  EXPECT_TRUE(has_trigger_form(make_trigger(7, 9), 9));
  EXPECT_THROW(make_trigger(7, 0), std::invalid_argument);
}

TEST(Tools, ProcessTriggerIsStableAndCanBePinned) {
  const std::string& first = process_trigger();
  EXPECT_TRUE(has_trigger_form(first, 4));
  EXPECT_EQ(&process_trigger(), &first);
  for (const char* bad :
       {"", "<Function__Start/>", "<Function_ab-c_Start/>", "<Function_abc_Start />",
        "<function_abc_Start/>", "x<Function_abc_Start/>"}) {
    EXPECT_THROW(set_process_trigger(bad), std::invalid_argument) << bad;
  }
  set_process_trigger("<Function_Pinned42_Start/>");
  EXPECT_EQ(process_trigger(), "<Function_Pinned42_Start/>");
}

}  // namespace
}  // namespace zaiproxy
