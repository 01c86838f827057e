// The tool layer's request side (toolcall-and-think.md A1.4): reads the client's tools and
// conversation, then puts the tool prompt in front as the first system message.
#include "zaiproxy/tool_prompt.hpp"

#include <stdexcept>

#include "tool_prompt_readers.hpp"
#include "tool_prompt_writer.hpp"

namespace zaiproxy {
namespace {

using tool_prompt::Json;
using tool_prompt::OfferedTools;

constexpr std::string_view kToolsList = "{tools_list}";
constexpr std::string_view kTriggerSignal = "{trigger_signal}";

// Toolify's rules (its sections 2–4) in fewer words, and one correct example. The example's
// tools need not be offered; it shows the shape, including keys with leading hyphens.
constexpr std::string_view kDefaultTemplate = R"(You can call the following tools:

{tools_list}

How tool calls work:
- You may call several tools in one response.
- Later instructions from the user take precedence over earlier ones.
- Results of earlier calls appear in the conversation as <tool_result>...</tool_result>.
- The format below is the only way to call a tool.

Format rules:
1. Start a new line with exactly {trigger_signal}, alone on that line, with nothing before or after it. Write it once per response, not once per call.
2. On the next line write the complete <function_calls> block.
3. Put every call as its own <function_call> inside that one <function_calls> block.
4. Write nothing after </function_calls>.

Argument rules:
- <tool> holds the exact name of one of the tools above.
- <args_json> holds one JSON object with every required argument; use the keys exactly as defined, keeping leading hyphens such as -i or -C.
- You may wrap the JSON in <![CDATA[...]]>.

Correct example:
I will search for the word first, then read the file.
{trigger_signal}
<function_calls>
<function_call>
<tool>Grep</tool>
<args_json><![CDATA[{"pattern":"TODO","-i":true,"-C":2,"path":"."}]]></args_json>
</function_call>
<function_call>
<tool>Read</tool>
<args_json><![CDATA[{"file_path":"README.md"}]]></args_json>
</function_call>
</function_calls>)";

// `N. NAME`, then the description, the compact schema and the required arguments, indented.
std::string describe_tool(size_t number, const ToolSpec& tool, const std::string& required) {
  return std::to_string(number) + ". " + tool.name +
         "\n   description: " + (tool.description.empty() ? "None" : tool.description) +
         "\n   parameters: " + tool.parameters + "\n   required: " + required;
}

std::string tools_list(const OfferedTools& offered) {
  std::string list;
  for (size_t i = 0; i < offered.options.tools.size(); ++i) {
    if (i > 0) list += "\n\n";
    list += describe_tool(i + 1, offered.options.tools[i], offered.required[i]);
  }
  return list;
}

// One pass, so a placeholder inside a tool description is left as the client wrote it.
std::string fill_template(std::string_view prompt_template, const std::string& tools,
                          const std::string& trigger) {
  std::string out;
  size_t start = 0;
  for (size_t brace; (brace = prompt_template.find('{', start)) != std::string_view::npos;) {
    out.append(prompt_template.substr(start, brace - start));
    const std::string_view rest = prompt_template.substr(brace);
    if (rest.substr(0, kToolsList.size()) == kToolsList) {
      out += tools;
      start = brace + kToolsList.size();
    } else if (rest.substr(0, kTriggerSignal.size()) == kTriggerSignal) {
      out += trigger;
      start = brace + kTriggerSignal.size();
    } else {
      out += '{';
      start = brace + 1;
    }
  }
  return out.append(prompt_template.substr(start));
}

// What tool_choice adds after the template; auto adds nothing.
std::string choice_sentence(const ToolOptions& options) {
  switch (options.choice) {
    case ToolChoice::Auto:
      return "";
    case ToolChoice::None:
      return "IMPORTANT: You are prohibited from using any tools in this response. Answer in "
             "plain text only and do not write the trigger signal.";
    case ToolChoice::Required:
      return "IMPORTANT: You MUST call at least one tool in this response.";
    case ToolChoice::Named:
      return "IMPORTANT: In this response you must call ONLY the tool named `" +
             options.choice_name + "`.";
  }
  return "";
}

std::string render_tool_prompt(const OfferedTools& offered, const std::string& trigger,
                               const std::string& custom_template) {
  if (!custom_template.empty()) validate_prompt_template(custom_template);
  std::string prompt = fill_template(custom_template.empty() ? kDefaultTemplate : custom_template,
                                     tools_list(offered), trigger);
  const std::string sentence = choice_sentence(offered.options);
  if (!sentence.empty()) prompt.append("\n\n").append(sentence);
  return prompt;
}

OfferedTools read_options(const Json& request, Dialect dialect) {
  return dialect == Dialect::OpenAi ? tool_prompt::read_openai_options(request)
                                    : tool_prompt::read_anthropic_options(request);
}

nlohmann::json read_messages(const Json& request, Dialect dialect, const std::string& trigger,
                             const ToolLayerOptions& options) {
  tool_prompt::ConversationWriter writer(trigger);
  if (dialect == Dialect::OpenAi) {
    tool_prompt::read_openai_messages(request, options.developer_as_system, writer);
  } else {
    tool_prompt::read_anthropic_messages(request, writer);
  }
  return writer.take_messages();
}

}  // namespace

UpstreamConversation build_upstream_conversation(const nlohmann::ordered_json& request,
                                                 Dialect dialect, const ToolLayerOptions& options) {
  if (!request.is_object()) throw RequestError("the request must be a JSON object");
  OfferedTools offered = read_options(request, dialect);
  std::string trigger = options.trigger.empty() ? process_trigger() : options.trigger;
  // A malformed trigger would defuse the wrong text and never fire: a configuration error.
  if (!is_valid_trigger(trigger))
    throw std::invalid_argument("a trigger has the form <Function_[A-Za-z0-9]+_Start/>, not " +
                                trigger);

  UpstreamConversation conversation;
  conversation.messages = read_messages(request, dialect, trigger, options);
  if (!offered.options.tools.empty()) {
    // Not through the writer: the prompt is the one text that must keep the trigger intact.
    nlohmann::json prompt = {
        {"role", "system"},
        {"content", render_tool_prompt(offered, trigger, options.prompt_template)}};
    conversation.messages.insert(conversation.messages.begin(), std::move(prompt));
  }
  conversation.tools = std::move(offered.options);
  conversation.tools.trigger = std::move(trigger);
  return conversation;
}

UpstreamConversation build_upstream_conversation(const nlohmann::json& request, Dialect dialect,
                                                 const ToolLayerOptions& options) {
  return build_upstream_conversation(nlohmann::ordered_json(request), dialect, options);
}

void validate_prompt_template(std::string_view prompt_template) {
  for (const std::string_view placeholder : {kToolsList, kTriggerSignal}) {
    if (prompt_template.find(placeholder) == std::string_view::npos) {
      throw RequestError("the tool prompt template must contain " + std::string(placeholder),
                         "prompt_template");
    }
  }
}

}  // namespace zaiproxy
