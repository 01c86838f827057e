// The input side of the tool layer's request conversion (internal): one reader per client
// dialect, and the checks both share. Readers throw RequestError naming the offending field.
//
// Requests are read as ordered_json so that tool schemas and call arguments keep the client's
// key order when they are written back as compact JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tool_prompt_writer.hpp"
#include "zaiproxy/tools.hpp"

namespace zaiproxy::tool_prompt {

using Json = nlohmann::ordered_json;

// The tools a request offers and how the response may use them; the trigger is chosen later.
struct OfferedTools {
  ToolOptions options;
  std::vector<std::string> required;  // per tool: the compact JSON list of required arguments
};

// ── OpenAI chat completions (also refuses n > 1) ──
OfferedTools read_openai_options(const Json& request);
void read_openai_messages(const Json& request, bool developer_as_system,
                          ConversationWriter& writer);

// ── Anthropic messages (the top-level `system` included) ──
OfferedTools read_anthropic_options(const Json& request);
void read_anthropic_messages(const Json& request, ConversationWriter& writer);

// ── shared by both readers ──

// "messages" + 3 → "messages[3]".
std::string indexed(std::string_view path, size_t index);

// The member `key` of `object`, or nullptr when absent or not an object.
const Json* member(const Json& object, const char* key);
// The member `key` of `object`, null when absent.
const Json& field(const Json& object, const char* key);

// A string field that must be present and non-empty / may be null (giving "").
const std::string& required_string(const Json& value, const std::string& path);
std::string optional_string(const Json& value, const std::string& path);

// The array at `key`; absent or null gives an empty array, anything else but an array throws.
const Json& array_member(const Json& object, const char* key, const std::string& path);

// Compact JSON (`,` and `:` separators, UTF-8 unescaped) in the value's own key order.
std::string compact(const Json& value);

// Adds the tool `definition` (name, description and its schema under `schema_key`, which may be
// absent: no arguments) after Toolify's schema checks: properties an object, required a list of
// strings naming properties.
void add_tool(OfferedTools& offered, const Json& definition, const char* schema_key,
              const std::string& path);

// Throws unless a Named choice names an offered tool.
void check_named_choice(const OfferedTools& offered, const std::string& path);

// A tool call's arguments as compact JSON: an object, or a string holding one; null or a blank
// string (clients send both for calls without arguments) give `{}`.
std::string compact_arguments(const Json& arguments, const std::string& path);

// String content, or the text of a list of parts: text parts joined with "\n", any other part
// as `[<type> omitted]`. Null gives "", anything else throws.
std::string flatten_text(const Json& content, const std::string& path);

// The `type` of a content part or block, which must be an object with a string type.
const std::string& part_type(const Json& part, const std::string& path);

// A `{"type":"text","text":…}` part for the upstream.
nlohmann::json text_part(std::string text);

// `[<type> omitted]`: what stands for a part the upstream cannot take.
std::string omission(std::string_view type);

}  // namespace zaiproxy::tool_prompt
