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

}  // namespace
}  // namespace zaiproxy
