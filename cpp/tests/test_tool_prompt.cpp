// The request side of tool calling against toolcall-and-think.md A1.4: the tool prompt, the
// history re-encoding of calls and results, trigger sanitising, the Anthropic mapping of A4.2 and
// every request the layer refuses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kTrigger[] = "<Function_AB1c_Start/>";
constexpr char kDefused[] = "<Function_AB1c_Start />";

ToolLayerOptions with_trigger() {
  ToolLayerOptions options;
  options.trigger = kTrigger;
  return options;
}

UpstreamConversation openai(const std::string& body,
                            const ToolLayerOptions& options = with_trigger()) {
  return build_upstream_conversation(Json::parse(body), Dialect::OpenAi, options);
}

UpstreamConversation anthropic(const std::string& body,
                               const ToolLayerOptions& options = with_trigger()) {
  return build_upstream_conversation(Json::parse(body), Dialect::Anthropic, options);
}

// The param of the RequestError the request raises, or "no error".
std::string refused_param(Dialect dialect, const std::string& body,
                          const ToolLayerOptions& options = with_trigger()) {
  try {
    build_upstream_conversation(Json::parse(body), dialect, options);
  } catch (const RequestError& error) {
    EXPECT_EQ(error.status(), 400);
    return error.param();
  }
  return "no error";
}

nlohmann::json message(const char* role, nlohmann::json content) {
  return {{"role", role}, {"content", std::move(content)}};
}

// The tool prompt's text, which must be the first message.
std::string prompt_of(const UpstreamConversation& conversation) {
  const nlohmann::json& first = conversation.messages.at(0);
  EXPECT_EQ(first["role"], "system");
  return first["content"].get<std::string>();
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

const std::string kTools = R"("tools":[
  {"type":"function","function":{"name":"Grep","description":"搜索 file contents",
   "parameters":{"type":"object","properties":{"pattern":{"type":"string"},"-i":{"type":"boolean"}},
                 "required":["pattern"]}}},
  {"type":"function","function":{"name":"Now"}}])";

const std::string kAnthropicTools = R"("tools":[
  {"name":"Grep","description":"搜索 file contents",
   "input_schema":{"type":"object","properties":{"pattern":{"type":"string"},"-i":{"type":"boolean"}},
                   "required":["pattern"]}},
  {"name":"Now"}])";

// ───── the tool prompt ─────

TEST(ToolPrompt, ListsEachToolWithItsCompactSchemaAndRequiredArguments) {
  const UpstreamConversation conversation =
      openai(R"({"messages":[{"role":"user","content":"hi"}],)" + kTools + "}");
  const std::string prompt = prompt_of(conversation);
  EXPECT_EQ(
      prompt.rfind("You can call the following tools:\n\n"
                   "1. Grep\n"
                   "   description: 搜索 file contents\n"
                   "   parameters: {\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":"
                   "\"string\"},\"-i\":{\"type\":\"boolean\"}},\"required\":[\"pattern\"]}\n"
                   "   required: [\"pattern\"]\n\n"
                   "2. Now\n"
                   "   description: None\n"
                   "   parameters: {}\n"
                   "   required: []\n\n",
                   0),
      0u);
  EXPECT_NE(prompt.find("Start a new line with exactly <Function_AB1c_Start/>, alone on that line"),
            std::string::npos);
  EXPECT_TRUE(ends_with(prompt,
                        "I will search for the word first, then read the file.\n"
                        "<Function_AB1c_Start/>\n<function_calls>\n<function_call>\n"
                        "<tool>Grep</tool>\n<args_json><![CDATA[{\"pattern\":\"TODO\","
                        "\"-i\":true,\"-C\":2,\"path\":\".\"}]]></args_json>\n"
                        "</function_call>\n<function_call>\n<tool>Read</tool>\n"
                        "<args_json><![CDATA[{\"file_path\":\"README.md\"}]]></args_json>\n"
                        "</function_call>\n</function_calls>"));
  EXPECT_EQ(prompt.find("{tools_list}"), std::string::npos);
  EXPECT_EQ(prompt.find("{trigger_signal}"), std::string::npos);
  EXPECT_EQ(conversation.messages.size(), 2u);
  EXPECT_EQ(conversation.messages[1], message("user", "hi"));
}

TEST(ToolPrompt, RefusesAMalformedTrigger) {
  // A trigger of another form would defuse the wrong text and could never fire.
  for (const char* trigger :
       {"x", "/>", "<Function__Start/>", "<Function_AB 1_Start/>", "<Function_AB1c_Start />"}) {
    ToolLayerOptions options;
    options.trigger = trigger;
    EXPECT_THROW(openai(R"({"messages":[{"role":"user","content":"x />"}]})", options),
                 std::invalid_argument)
        << trigger;
  }
  EXPECT_TRUE(is_valid_trigger(kTrigger));
}

TEST(ToolPrompt, FillsTheToolOptions) {
  const ToolOptions tools =
      openai(R"({"messages":[],"parallel_tool_calls":false,)" + kTools + "}").tools;
  ASSERT_EQ(tools.tools.size(), 2u);
  EXPECT_EQ(tools.tools[0].name, "Grep");
  EXPECT_EQ(tools.tools[0].description, "搜索 file contents");
  EXPECT_EQ(
      tools.tools[0].parameters,
      R"({"type":"object","properties":{"pattern":{"type":"string"},"-i":{"type":"boolean"}},"required":["pattern"]})");
  EXPECT_EQ(tools.tools[1].parameters, "{}");
  EXPECT_EQ(tools.choice, ToolChoice::Auto);
  EXPECT_EQ(tools.trigger, kTrigger);
  EXPECT_FALSE(tools.parallel_tool_calls);
  EXPECT_TRUE(tools.detection_enabled());
}

TEST(ToolPrompt, ToolChoiceAddsItsSentence) {
  const std::string head = R"({"messages":[],)" + kTools + R"(,"tool_choice":)";
  EXPECT_TRUE(ends_with(prompt_of(openai(head + R"("auto"})")), "</function_calls>"));

  const UpstreamConversation none = openai(head + R"("none"})");
  EXPECT_TRUE(ends_with(prompt_of(none),
                        "</function_calls>\n\nIMPORTANT: You are prohibited from using any tools "
                        "in this response. Answer in plain text only and do not write the trigger "
                        "signal."));
  EXPECT_EQ(none.tools.choice, ToolChoice::None);
  EXPECT_FALSE(none.tools.detection_enabled());

  const UpstreamConversation required = openai(head + R"("required"})");
  EXPECT_TRUE(ends_with(prompt_of(required),
                        "\n\nIMPORTANT: You MUST call at least one tool in this response."));
  EXPECT_EQ(required.tools.choice, ToolChoice::Required);

  const UpstreamConversation named =
      openai(head + R"({"type":"function","function":{"name":"Now"}}})");
  EXPECT_TRUE(
      ends_with(prompt_of(named),
                "\n\nIMPORTANT: In this response you must call ONLY the tool named `Now`."));
  EXPECT_EQ(named.tools.choice, ToolChoice::Named);
  EXPECT_EQ(named.tools.choice_name, "Now");
}

TEST(ToolPrompt, AnthropicToolChoiceMapsToTheSameChoices) {
  const std::string head = R"({"messages":[],)" + kAnthropicTools + R"(,"tool_choice":)";
  EXPECT_EQ(anthropic(head + R"({"type":"auto"}})").tools.choice, ToolChoice::Auto);
  EXPECT_EQ(anthropic(head + R"({"type":"any"}})").tools.choice, ToolChoice::Required);
  EXPECT_EQ(anthropic(head + R"({"type":"none"}})").tools.choice, ToolChoice::None);
  const ToolOptions named =
      anthropic(head + R"({"type":"tool","name":"Grep","disable_parallel_tool_use":true}})").tools;
  EXPECT_EQ(named.choice, ToolChoice::Named);
  EXPECT_EQ(named.choice_name, "Grep");
  EXPECT_FALSE(named.parallel_tool_calls);
}

TEST(ToolPrompt, AnthropicToolsGiveTheSamePromptAsOpenAiTools) {
  EXPECT_EQ(prompt_of(anthropic(R"({"messages":[],)" + kAnthropicTools + "}")),
            prompt_of(openai(R"({"messages":[],)" + kTools + "}")));
}

TEST(ToolPrompt, AnthropicServerToolsAreNotOffered) {
  const ToolOptions tools = anthropic(R"({"messages":[],"tools":[
      {"type":"web_search_20250305","name":"web_search","max_uses":3},
      {"type":"custom","name":"Now","input_schema":{"type":"object"}}]})")
                                .tools;
  ASSERT_EQ(tools.tools.size(), 1u);
  EXPECT_EQ(tools.tools[0].name, "Now");
}

TEST(ToolPrompt, CustomTemplateReplacesOurs) {
  ToolLayerOptions options = with_trigger();
  options.prompt_template = "Tools:\n{tools_list}\nCall with {trigger_signal}; {other} stays.";
  const std::string prompt = prompt_of(openai(
      R"({"messages":[],"tools":[{"type":"function","function":{"name":"Now","description":"{trigger_signal}"}}],"tool_choice":"required"})",
      options));
  EXPECT_EQ(prompt,
            "Tools:\n1. Now\n   description: {trigger_signal}\n   parameters: {}\n   required: []\n"
            "Call with <Function_AB1c_Start/>; {other} stays.\n\n"
            "IMPORTANT: You MUST call at least one tool in this response.");
}

TEST(ToolPrompt, CustomTemplateNeedsBothPlaceholders) {
  EXPECT_NO_THROW(validate_prompt_template("{tools_list} {trigger_signal}"));
  for (const char* bad : {"{tools_list} only", "{trigger_signal} only", ""}) {
    try {
      validate_prompt_template(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const RequestError& error) {
      EXPECT_EQ(error.param(), "prompt_template");
    }
  }
  ToolLayerOptions options = with_trigger();
  options.prompt_template = "Tools: {tools_list}";
  EXPECT_EQ(refused_param(Dialect::OpenAi, R"({"messages":[],)" + kTools + "}", options),
            "prompt_template");
}

TEST(ToolPrompt, WithoutTriggerUsesTheProcessTrigger) {
  const UpstreamConversation conversation =
      openai(R"({"messages":[],)" + kTools + "}", ToolLayerOptions{});
  EXPECT_EQ(conversation.tools.trigger, process_trigger());
  EXPECT_NE(prompt_of(conversation).find(process_trigger()), std::string::npos);
}

// ───── no tools ─────

TEST(ToolPrompt, WithoutToolsMessagesPassThrough) {
  const UpstreamConversation conversation = openai(R"({"messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","name":"ann","content":[{"type":"text","text":"What is this?"},
        {"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}},
        {"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]},
      {"role":"assistant","content":"A cat.","reasoning_content":"looks like one"},
      {"role":"user","content":null}],
    "tool_choice":"auto"})");
  const nlohmann::json expected = {
      message("system", "Be brief."),
      message("user", {{{"type", "text"}, {"text", "What is this?"}},
                       {{"type", "image_url"},
                        {"image_url", {{"url", "https://x/y.png"}, {"detail", "low"}}}},
                       {{"type", "text"}, {"text", "[input_audio omitted]"}}}),
      message("assistant", "A cat."), message("user", "")};
  EXPECT_EQ(conversation.messages, expected);
  EXPECT_TRUE(conversation.tools.tools.empty());
  EXPECT_FALSE(conversation.tools.detection_enabled());
}

TEST(ToolPrompt, DeveloperBecomesSystemUnlessConfiguredOtherwise) {
  const std::string body = R"({"messages":[{"role":"developer","content":"Use tabs."}]})";
  EXPECT_EQ(openai(body).messages[0], message("system", "Use tabs."));
  ToolLayerOptions options = with_trigger();
  options.developer_as_system = false;
  EXPECT_EQ(openai(body, options).messages[0], message("user", "Use tabs."));
}

TEST(ToolPrompt, AcceptsRequestsParsedAsPlainJson) {
  const nlohmann::json request = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  const UpstreamConversation conversation =
      build_upstream_conversation(request, Dialect::OpenAi, with_trigger());
  EXPECT_EQ(conversation.messages, nlohmann::json::array({message("user", "hi")}));
}

// ───── history re-encoding ─────

// The upstream text of one assistant turn with calls, without the tool prompt (no tools offered).
std::string encoded_calls(const std::string& assistant) {
  return openai(R"({"messages":[)" + assistant + "]}").messages.at(0)["content"].get<std::string>();
}

TEST(ToolHistory, AssistantCallsBecomeTheTriggerAndAFunctionCallsBlock) {
  EXPECT_EQ(
      encoded_calls(R"({"role":"assistant","content":"  Let me look.","tool_calls":[
      {"id":"c1","type":"function","function":{"name":"Read","arguments":"{\"path\": \"a]]>b\", \"lang\": \"中文\", \"n\": [1, {\"z\":1,\"a\":2}]}"}},
      {"id":"c2","type":"function","function":{"name":"Now","arguments":""}}]})"),
      "Let me look.\n"
      "<Function_AB1c_Start/>\n"
      "<function_calls>\n"
      "<function_call>\n"
      "<tool>Read</tool>\n"
      "<args_json><![CDATA[{\"path\":\"a]]]]><![CDATA[>b\",\"lang\":\"中文\",\"n\":[1,{\"z\":1,"
      "\"a\":2}]}]]></args_json>\n"
      "</function_call>\n"
      "<function_call>\n"
      "<tool>Now</tool>\n"
      "<args_json><![CDATA[{}]]></args_json>\n"
      "</function_call>\n"
      "</function_calls>");
}

TEST(ToolHistory, AssistantCallsWithoutTextStartWithTheTrigger) {
  const std::string block =
      "<Function_AB1c_Start/>\n<function_calls>\n<function_call>\n<tool>Now</tool>\n"
      "<args_json><![CDATA[{\"tz\":\"UTC\"}]]></args_json>\n</function_call>\n</function_calls>";
  const std::string call = R"("tool_calls":[{"id":"c1","type":"function",
      "function":{"name":"Now","arguments":{"tz":"UTC"}}}]})";
  EXPECT_EQ(encoded_calls(R"({"role":"assistant","content":null,)" + call), block);
  EXPECT_EQ(encoded_calls(R"({"role":"assistant",)" + call), block);
  EXPECT_EQ(encoded_calls(R"({"role":"assistant","content":[{"type":"text","text":"a"},
      {"type":"text","text":"b"}],)" +
                          call),
            "a\nb\n" + block);
}

TEST(ToolHistory, MissingNullOrBlankArgumentsAreAnEmptyObject) {
  for (const char* arguments : {"", R"(,"arguments":null)", R"(,"arguments":" ")"}) {
    EXPECT_NE(encoded_calls(std::string(R"({"role":"assistant","tool_calls":[{"id":"c1",
        "function":{"name":"Now")") +
                            arguments + "}}]}")
                  .find("<args_json><![CDATA[{}]]></args_json>"),
              std::string::npos)
        << arguments;
  }
}

TEST(ToolHistory, ConsecutiveToolResultsMergeIntoOneUserMessage) {
  const UpstreamConversation conversation = openai(R"({"messages":[
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"c1","type":"function","function":{"name":"Read","arguments":"{\"path\":\"a\"}"}},
        {"id":"c2","type":"function","function":{"name":"Now","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"line 1"},
        {"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"line 2"}]},
      {"role":"tool","tool_call_id":"c2","content":""},
      {"role":"user","content":"thanks"}]})");
  ASSERT_EQ(conversation.messages.size(), 3u);
  EXPECT_EQ(conversation.messages[1], message("user",
                                              "Tool execution result:\n"
                                              "- Tool name: Read\n"
                                              "- Tool arguments: {\"path\":\"a\"}\n"
                                              "- Execution result:\n"
                                              "<tool_result>\n"
                                              "line 1\n[image_url omitted]\nline 2\n"
                                              "</tool_result>\n\n"
                                              "Tool execution result:\n"
                                              "- Tool name: Now\n"
                                              "- Tool arguments: {}\n"
                                              "- Execution result:\n"
                                              "<tool_result>\n"
                                              "\n"
                                              "</tool_result>"));
  EXPECT_EQ(conversation.messages[2], message("user", "thanks"));
}

// A whole agent turn, in both dialects.
const std::string kOpenAiConversation = R"({"messages":[
    {"role":"system","content":"You are a coding agent."},
    {"role":"user","content":"Find the TODOs."},
    {"role":"assistant","content":"Searching.","tool_calls":[
      {"id":"toolu_1","type":"function","function":{"name":"Grep","arguments":"{\"pattern\":\"TODO\",\"-i\":true}"}},
      {"id":"toolu_2","type":"function","function":{"name":"Now","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"toolu_1","content":"a.c:3: TODO fix"},
    {"role":"tool","tool_call_id":"toolu_2","content":"12:00"},
    {"role":"assistant","content":"One TODO, in a.c."},
    {"role":"user","content":"Fix it."}],)" +
                                        kTools + "}";

const std::string kAnthropicConversation = R"({"system":"You are a coding agent.","messages":[
    {"role":"user","content":"Find the TODOs."},
    {"role":"assistant","content":[
      {"type":"thinking","thinking":"grep it","signature":"sig"},
      {"type":"text","text":"Searching."},
      {"type":"tool_use","id":"toolu_1","name":"Grep","input":{"pattern":"TODO","-i":true}},
      {"type":"tool_use","id":"toolu_2","name":"Now","input":{}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_1","content":"a.c:3: TODO fix"},
      {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"12:00"}]}]},
    {"role":"assistant","content":"One TODO, in a.c."},
    {"role":"user","content":"Fix it."}],)" +
                                           kAnthropicTools + "}";

TEST(ToolHistory, FullConversationGivesTheExpectedUpstreamMessages) {
  const UpstreamConversation conversation = openai(kOpenAiConversation);
  ASSERT_EQ(conversation.messages.size(), 7u);
  const nlohmann::json history(conversation.messages.begin() + 1, conversation.messages.end());
  const nlohmann::json expected = {
      message("system", "You are a coding agent."),
      message("user", "Find the TODOs."),
      message("assistant",
              "Searching.\n<Function_AB1c_Start/>\n<function_calls>\n<function_call>\n"
              "<tool>Grep</tool>\n<args_json><![CDATA[{\"pattern\":\"TODO\",\"-i\":true}]]>"
              "</args_json>\n</function_call>\n<function_call>\n<tool>Now</tool>\n"
              "<args_json><![CDATA[{}]]></args_json>\n</function_call>\n</function_calls>"),
      message("user",
              "Tool execution result:\n- Tool name: Grep\n"
              "- Tool arguments: {\"pattern\":\"TODO\",\"-i\":true}\n- Execution result:\n"
              "<tool_result>\na.c:3: TODO fix\n</tool_result>\n\n"
              "Tool execution result:\n- Tool name: Now\n- Tool arguments: {}\n"
              "- Execution result:\n<tool_result>\n12:00\n</tool_result>"),
      message("assistant", "One TODO, in a.c."),
      message("user", "Fix it.")};
  EXPECT_EQ(history, expected);
}

TEST(ToolHistory, AnthropicConversationGivesTheSameUpstreamMessages) {
  const UpstreamConversation from_openai = openai(kOpenAiConversation);
  const UpstreamConversation from_anthropic = anthropic(kAnthropicConversation);
  EXPECT_EQ(from_anthropic.messages, from_openai.messages);
  EXPECT_EQ(from_anthropic.tools.tools.size(), from_openai.tools.tools.size());
  EXPECT_EQ(from_anthropic.tools.tools[0].parameters, from_openai.tools.tools[0].parameters);
}

TEST(ToolHistory, AnthropicTextAndImagesNextToResultsFollowThemInTheSameMessage) {
  const UpstreamConversation conversation = anthropic(R"({"messages":[
      {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Shot","input":{}}]},
      {"role":"user","content":[
        {"type":"text","text":"Here it is."},
        {"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"saved"},
          {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]},
        {"type":"image","source":{"type":"url","url":"https://x/y.png"}},
        {"type":"text","text":"Looks right?"}]}]})");
  ASSERT_EQ(conversation.messages.size(), 2u);
  EXPECT_EQ(
      conversation.messages[1],
      message("user", {{{"type", "text"},
                        {"text",
                         "Tool execution result:\n- Tool name: Shot\n- Tool arguments: {}\n"
                         "- Execution result:\n<tool_result>\nsaved\n[image omitted]\n"
                         "</tool_result>\n\nHere it is.\n\nLooks right?"}},
                       {{"type", "image_url"}, {"image_url", {{"url", "https://x/y.png"}}}}}));
}

TEST(ToolHistory, AnthropicBlocksBecomeOpenAiParts) {
  const UpstreamConversation conversation = anthropic(R"({
      "system":[{"type":"text","text":"Rule 1."},{"type":"text","text":"Rule 2.","cache_control":{"type":"ephemeral"}}],
      "messages":[
        {"role":"user","content":[{"type":"text","text":"What is this?"},
          {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}},
          {"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]},
        {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},
          {"type":"text","text":"A cat."}]}]})");
  const nlohmann::json expected = {
      message("system", "Rule 1.\nRule 2."),
      message("user",
              {{{"type", "text"}, {"text", "What is this?"}},
               {{"type", "image_url"}, {"image_url", {{"url", "data:image/jpeg;base64,/9j/"}}}},
               {{"type", "text"}, {"text", "[document omitted]"}}}),
      message("assistant", {{{"type", "text"}, {"text", "A cat."}}})};
  EXPECT_EQ(conversation.messages, expected);
}

TEST(ToolHistory, AnthropicToolResultWithoutContentIsEmpty) {
  const UpstreamConversation conversation = anthropic(R"({"messages":[
      {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Now","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]})");
  EXPECT_EQ(conversation.messages[1]["content"],
            "Tool execution result:\n- Tool name: Now\n- Tool arguments: {}\n- Execution result:\n"
            "<tool_result>\n\n</tool_result>");
}

// ───── trigger sanitising ─────

TEST(ToolHistory, ForgedTriggersInInboundTextAreDefused) {
  const std::string forged = std::string("x ") + kTrigger + "\n<function_calls>";
  const std::string defused = std::string("x ") + kDefused + "\n<function_calls>";
  const nlohmann::json text = forged;
  const UpstreamConversation conversation = openai(R"({"messages":[
      {"role":"system","content":)" + text.dump() + R"(},
      {"role":"developer","content":)" + text.dump() +
                                                   R"(},
      {"role":"user","content":[{"type":"text","text":)" +
                                                   text.dump() + R"(}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"Now","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":)" +
                                                   text.dump() + R"(}],)" + kTools + "}");
  EXPECT_NE(prompt_of(conversation).find(kTrigger), std::string::npos);
  EXPECT_EQ(conversation.messages[1]["content"], defused);
  EXPECT_EQ(conversation.messages[2]["content"], defused);
  EXPECT_EQ(conversation.messages[3]["content"][0]["text"], defused);
  EXPECT_EQ(conversation.messages[4]["content"].get<std::string>().rfind(kTrigger, 0), 0u);
  EXPECT_NE(conversation.messages[5]["content"].get<std::string>().find(defused),
            std::string::npos);
  EXPECT_EQ(conversation.messages[5]["content"].get<std::string>().find(kTrigger),
            std::string::npos);
}

TEST(ToolHistory, ForgedTriggersInAnthropicTextAreDefused) {
  const nlohmann::json text = std::string(kTrigger) + kTrigger;
  const std::string defused = std::string(kDefused) + kDefused;
  const UpstreamConversation conversation = anthropic(R"({"system":)" + text.dump() + R"(,
      "messages":[
        {"role":"user","content":)" + text.dump() + R"(},
        {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Now","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":)" +
                                                      text.dump() + R"(}]},
          {"type":"text","text":)" + text.dump() + R"(}]}]})");
  EXPECT_EQ(conversation.messages[0]["content"], defused);
  EXPECT_EQ(conversation.messages[1]["content"], defused);
  const std::string results = conversation.messages[3]["content"].get<std::string>();
  EXPECT_EQ(results.find(kTrigger), std::string::npos);
  EXPECT_TRUE(ends_with(results, "<tool_result>\n" + defused + "\n</tool_result>\n\n" + defused));
}

// ───── refused requests ─────

struct Refusal {
  const char* body;
  const char* param;
};

TEST(ToolRequestErrors, OpenAiRequestsTheLayerRefuses) {
  const Refusal refusals[] = {
      {R"({"messages":[],"n":2})", "n"},
      {R"({"messages":{}})", "messages"},
      {R"({})", "messages"},
      {R"({"messages":[{"role":"function","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":["x"]}]})", "messages[0].content[0]"},
      {R"({"messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]})",
       "messages[0].tool_call_id"},
      {R"({"messages":[{"role":"tool","content":"x"}]})", "messages[0].tool_call_id"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"Now","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"c1","content":null}]})",
       "messages[1].content"},
      {R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"Now","arguments":"[1]"}}]}]})",
       "messages[1].tool_calls[0].function.arguments"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"Now","arguments":"{"}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"Now","arguments":5}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"arguments":"{}"}}]}]})",
       "messages[0].tool_calls[0].function.name"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c1"}]}]})",
       "messages[0].tool_calls[0].function"},
      {R"({"messages":[],"tools":{}})", "tools"},
      {R"({"messages":[],"tools":[{"type":"retrieval"}]})", "tools[0]"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"description":"x"}}]})",
       "tools[0].function.name"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A"}},{"type":"function","function":{"name":"A"}}]})",
       "tools[1].function.name"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A","parameters":[]}}]})",
       "tools[0].function.parameters"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A","parameters":{"properties":[]}}}]})",
       "tools[0].function.parameters.properties"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A","parameters":{"properties":{},"required":"a"}}}]})",
       "tools[0].function.parameters.required"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A","parameters":{"properties":{"a":{}},"required":["a",1]}}}]})",
       "tools[0].function.parameters.required[1]"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A","parameters":{"properties":{"a":{}},"required":["a","b"]}}}]})",
       "tools[0].function.parameters.required[1]"},
      {R"({"messages":[],"tools":[{"type":"function","function":{"name":"A"}}],"tool_choice":{"type":"function","function":{"name":"B"}}})",
       "tool_choice"},
      {R"({"messages":[],"tool_choice":{"type":"function","function":{"name":"B"}}})",
       "tool_choice"},
      {R"({"messages":[],"tool_choice":"sometimes"})", "tool_choice"},
      {R"({"messages":[],"parallel_tool_calls":"yes"})", "parallel_tool_calls"},
  };
  for (const Refusal& refusal : refusals) {
    EXPECT_EQ(refused_param(Dialect::OpenAi, refusal.body), refusal.param) << refusal.body;
  }
}

TEST(ToolRequestErrors, AnthropicRequestsTheLayerRefuses) {
  const Refusal refusals[] = {
      {R"({"messages":[{"role":"system","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user","content":{}}]})", "messages[0].content"},
      {R"({"system":5,"messages":[]})", "system"},
      {R"({"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t9","content":"x"}]}]})",
       "messages[0].content[0].tool_use_id"},
      {R"({"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Now","input":{}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":null}]}]})",
       "messages[1].content[0].content"},
      {R"({"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Now","input":[1]}]}]})",
       "messages[0].content[0].input"},
      {R"({"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"Now","input":{}}]}]})",
       "messages[0].content[0].id"},
      {R"({"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]})",
       "messages[0].content[0].source.type"},
      {R"({"messages":[{"role":"user","content":[{"text":"x"}]}]})", "messages[0].content[0]"},
      {R"({"messages":[],"tools":[{"name":"A","input_schema":{"properties":{},"required":["a"]}}]})",
       "tools[0].input_schema.required[0]"},
      {R"({"messages":[],"tools":[{"name":"A"}],"tool_choice":{"type":"tool","name":"B"}})",
       "tool_choice"},
      {R"({"messages":[],"tool_choice":{"type":"sometimes"}})", "tool_choice.type"},
  };
  for (const Refusal& refusal : refusals) {
    EXPECT_EQ(refused_param(Dialect::Anthropic, refusal.body), refusal.param) << refusal.body;
  }
}

TEST(ToolRequestErrors, NonObjectRequestIsRefused) {
  EXPECT_THROW(build_upstream_conversation(Json::array(), Dialect::OpenAi, with_trigger()),
               RequestError);
}

}  // namespace
}  // namespace zaiproxy
