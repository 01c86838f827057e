// The `<function_calls>` parser against toolcall-and-think.md A2.3: both call forms, names,
// args_json (CDATA, entities, fences, JSON string literals), legacy args, the invoke form, and
// what it refuses. Every expected value is written out by hand.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "function_calls_parser.hpp"

namespace zaiproxy::tool {
namespace {

// name + compact arguments per call; empty when the parse fails.
std::vector<std::pair<std::string, std::string>> parse(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::optional<std::vector<ParsedCall>> calls = parse_function_calls(body);
  if (!calls) return out;
  for (const ParsedCall& call : *calls)
    out.emplace_back(call.name, to_compact_json(call.arguments));
  return out;
}

using Calls = std::vector<std::pair<std::string, std::string>>;

// One `<function_call>` named w whose children after `<tool>` are `args`.
std::string call_w(std::string_view args) {
  return "<function_call><tool>w</tool>" + std::string(args) + "</function_call>";
}

TEST(FunctionCallsParser, ToolifyFormWithCdata) {
  EXPECT_EQ(parse("\n<function_call>\n<tool>get_weather</tool>\n"
                  "<args_json><![CDATA[{\"city\": \"Paris\", \"days\": 2}]]></args_json>\n"
                  "</function_call>\n"),
            (Calls{{"get_weather", R"({"city":"Paris","days":2})"}}));
}

TEST(FunctionCallsParser, SeveralCallsInOrder) {
  EXPECT_EQ(parse(call_w("<args_json>{\"a\":1}</args_json>") +
                  "\n<function_call><tool>x</tool></function_call>"),
            (Calls{{"w", R"({"a":1})"}, {"x", "{}"}}));
}

TEST(FunctionCallsParser, NameElementTrimmedAndDecoded) {
  EXPECT_EQ(parse("<function_call><name>  a&amp;b\n</name></function_call>"),
            (Calls{{"a&b", "{}"}}));
  EXPECT_EQ(parse("<function_call><tool> <![CDATA[w]]> </tool></function_call>"),
            (Calls{{"w", "{}"}}));
}

TEST(FunctionCallsParser, KeyOrderKeptAndUtf8NotEscaped) {
  EXPECT_EQ(parse(call_w("<args_json>{\"z\":1,\"a\":{\"y\":[true,null],\"b\":\"北京 😀\"}}"
                         "</args_json>")),
            (Calls{{"w", R"({"z":1,"a":{"y":[true,null],"b":"北京 😀"}})"}}));
  EXPECT_EQ(parse(call_w(R"(<args_json>{"s":"\u5317\n\"q\""}</args_json>)")),
            (Calls{{"w", R"({"s":"北\n\"q\""})"}}));
}

TEST(FunctionCallsParser, EntitiesDecodedOutsideCdata) {  // A19
  EXPECT_EQ(
      parse(call_w(R"(<args_json>{"html":"&lt;b&gt; &amp; &#x4E2D;&#20013;&apos;"}</args_json>)")),
      (Calls{{"w", R"({"html":"<b> & 中中'"})"}}));
  EXPECT_EQ(parse(call_w("<args_json>{&quot;a&quot;:1}</args_json>")),
            (Calls{{"w", R"({"a":1})"}}));
}

TEST(FunctionCallsParser, UnknownEntitiesStayVerbatim) {
  EXPECT_EQ(parse(call_w(R"(<args_json>{"a":"&nbsp; &#xD800; &#0; &x & ;"}</args_json>)")),
            (Calls{{"w", R"({"a":"&nbsp; &#xD800; &#0; &x & ;"})"}}));
}

TEST(FunctionCallsParser, CdataIsVerbatim) {
  EXPECT_EQ(parse(call_w(R"(<args_json><![CDATA[{"a":"&lt;</args_json>"}]]></args_json>)")),
            (Calls{{"w", R"({"a":"&lt;</args_json>"})"}}));
}

TEST(FunctionCallsParser, CdataSectionsConcatenated) {  // A29: "]]>" written as ]]]]><![CDATA[>
  EXPECT_EQ(parse(call_w(R"(<args_json><![CDATA[{"html":"]]]]><![CDATA[>"}]]></args_json>)")),
            (Calls{{"w", R"({"html":"]]>"})"}}));
  // Text between the sections is not part of the payload.
  EXPECT_EQ(parse(call_w("<args_json> <![CDATA[{\"a\":]]> x <![CDATA[2}]]> </args_json>")),
            (Calls{{"w", R"({"a":2})"}}));
}

TEST(FunctionCallsParser, JsonStringsOpaqueOutsideCdata) {  // A12
  EXPECT_EQ(
      parse(call_w(
          R"(<args_json>{"html":"<b>x</b> </function_call> </args_json> \" &"}</args_json>)")),
      (Calls{{"w", R"({"html":"<b>x</b> </function_call> </args_json> \" &"})"}}));
}

TEST(FunctionCallsParser, FencesStripped) {  // A22
  EXPECT_EQ(parse(call_w("<args_json>```json\n{\"html\":\"1\"}\n```</args_json>")),
            (Calls{{"w", R"({"html":"1"})"}}));
  EXPECT_EQ(parse(call_w("<args_json>\n```\n{\"html\":\"1\"}```\n</args_json>")),
            (Calls{{"w", R"({"html":"1"})"}}));
}

TEST(FunctionCallsParser, EmptyPayloadIsEmptyObject) {  // A23
  EXPECT_EQ(parse(call_w("<args_json></args_json>")), (Calls{{"w", "{}"}}));
  EXPECT_EQ(parse(call_w("<args_json> \n </args_json>")), (Calls{{"w", "{}"}}));
  EXPECT_EQ(parse(call_w("<args_json><![CDATA[]]></args_json>")), (Calls{{"w", "{}"}}));
}

TEST(FunctionCallsParser, NonObjectPayloadIsReturnedForTheValidator) {  // A24
  EXPECT_EQ(parse(call_w("<args_json>[1]</args_json>")), (Calls{{"w", "[1]"}}));
  EXPECT_EQ(parse(call_w("<args_json>\"s\"</args_json>")), (Calls{{"w", "\"s\""}}));
}

TEST(FunctionCallsParser, InvalidPayloadFailsTheWholeParse) {  // A13
  EXPECT_EQ(parse(call_w("<args_json>{bad}</args_json>") +
                  "<function_call><tool>x</tool></function_call>"),
            Calls{});
  EXPECT_EQ(parse(call_w("<args_json>{\"a\":1}{\"b\":2}</args_json>")), Calls{});
}

TEST(FunctionCallsParser, LegacyArgs) {  // A20
  EXPECT_EQ(parse(call_w("<args><html>\"1\"</html><n>2</n></args>")),
            (Calls{{"w", R"({"html":"1","n":2})"}}));
  EXPECT_EQ(
      parse(call_w("<args>\n  <q> hello world </q>\n  <o>{\"k\":[1]}</o>\n  "
                   "<e>a &lt; b</e><c><![CDATA[<raw>]]></c><-i>true</-i>\n</args>")),
      (Calls{{"w", R"({"q":"hello world","o":{"k":[1]},"e":"a < b","c":"<raw>","-i":true})"}}));
}

TEST(FunctionCallsParser, InvokeForm) {  // A21
  EXPECT_EQ(parse("<invoke name=\"w\"><parameter name=\"html\">a &amp; b</parameter>"
                  "<parameter name=\"n\">[1,2]</parameter></invoke>"),
            (Calls{{"w", R"({"html":"a & b","n":[1,2]})"}}));
  EXPECT_EQ(parse("\n<invoke  name = 'get_weather' >\n<parameter name='city'> <![CDATA[Paris]]> "
                  "</parameter>\n</invoke>\n<invoke name=\"w\"></invoke>"),
            (Calls{{"get_weather", R"({"city":"Paris"})"}, {"w", "{}"}}));
}

TEST(FunctionCallsParser, FormsMix) {
  EXPECT_EQ(parse(call_w("") + "<invoke name=\"x\"></invoke>"), (Calls{{"w", "{}"}, {"x", "{}"}}));
}

TEST(FunctionCallsParser, RefusesMalformedMarkup) {
  EXPECT_EQ(parse(""), Calls{});                                                // no call
  EXPECT_EQ(parse(" \n "), Calls{});                                            // no call
  EXPECT_EQ(parse("text " + call_w("")), Calls{});                              // stray text
  EXPECT_EQ(parse(call_w("") + " text"), Calls{});                              // stray text
  EXPECT_EQ(parse("<function_call><tool>w</tool>"), Calls{});                   // unclosed call
  EXPECT_EQ(parse("<function_call><tool>w</function_call>"), Calls{});          // unclosed tool
  EXPECT_EQ(parse("<function_call><args_json>{}</args_json></function_call>"),  // no name
            Calls{});
  EXPECT_EQ(parse(call_w("<args_json>{}")), Calls{});                         // unclosed args_json
  EXPECT_EQ(parse(call_w("<args_json><![CDATA[{}</args_json>")), Calls{});    // unclosed CDATA
  EXPECT_EQ(parse(call_w("<args_json>{\"a\":\"x}</args_json>")), Calls{});    // unclosed string
  EXPECT_EQ(parse(call_w("<other>1</other>")), Calls{});                      // unknown child
  EXPECT_EQ(parse(call_w("<args><k>1</j></args>")), Calls{});                 // mismatched tag
  EXPECT_EQ(parse("<function_call id=\"1\"><tool>w</tool></function_call>"),  // attribute
            Calls{});
  EXPECT_EQ(parse("<invoke><parameter name=\"k\">1</parameter></invoke>"), Calls{});  // no name
  EXPECT_EQ(parse("<invoke name=\"w\"><parameter>1</parameter></invoke>"), Calls{});
  EXPECT_EQ(parse("<invoke name=\"w\">"), Calls{});
}

TEST(FunctionCallsParser, DeepNestingRefusedNotCrashing) {
  std::string deep(100000, '[');
  EXPECT_EQ(parse(call_w("<args_json>{\"a\":" + deep + "}</args_json>")), Calls{});
  // A value that cannot be JSON stays a string, whatever it looks like.
  EXPECT_EQ(parse(call_w("<args><k>" + deep + "</k></args>")),
            (Calls{{"w", "{\"k\":\"" + deep + "\"}"}}));
}

TEST(FunctionCallsParser, FiveMegabyteArgument) {
  std::string big;
  for (int i = 0; big.size() < 5'000'000; ++i)
    big += "line " + std::to_string(i) + " 北京 <b>&</b>\\n";
  std::string expected = R"({"text":")" + big + R"("})";
  EXPECT_EQ(parse(call_w("<args_json><![CDATA[" + expected + "]]></args_json>")),
            (Calls{{"w", expected}}));
  // Outside CDATA the markup sits inside a JSON string literal, and `&<` is no entity.
  EXPECT_EQ(parse(call_w("<args_json>" + expected + "</args_json>")), (Calls{{"w", expected}}));
}

}  // namespace
}  // namespace zaiproxy::tool
