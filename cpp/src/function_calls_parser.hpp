// The `<function_calls>` grammar the tool detector accepts (toolcall-and-think.md A2.3,
// NORMATIVE). Internal to the core.
//
// Accepted children of `<function_calls>`, in any mix:
//   <function_call> with <tool>NAME</tool> or <name>NAME</name>, and optionally
//       <args_json>JSON object</args_json> (CDATA sections concatenated, or entity-decoded text;
//       a ```json fence is stripped; empty gives {}) or legacy <args><k>v</k>…</args>
//   <invoke name="NAME"> with <parameter name="k">v</parameter> children
// A legacy or parameter value v is CDATA-unwrapped and entity-decoded, then trimmed; it is the JSON
// value it spells if it parses as JSON, else the string itself.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zaiproxy::tool {

// Markup that the completion scan (tool_call_block.hpp) and the parser must read the same way.
inline constexpr std::string_view kCdataOpen = "<![CDATA[";
inline constexpr std::string_view kCdataClose = "]]>";
inline constexpr std::string_view kArgsJsonOpen = "<args_json>";
inline constexpr std::string_view kArgsJsonClose = "</args_json>";
inline constexpr std::string_view kCallOpen = "<function_call>";
inline constexpr std::string_view kCallClose = "</function_call>";
inline constexpr std::string_view kCallsOpen = "<function_calls>";
inline constexpr std::string_view kCallsClose = "</function_calls>";

// Whitespace in the sense of C.3 rule 4 (ascii::is_space): the four ASCII bytes, never U+3000
// or NBSP.
bool is_all_ascii_space(std::string_view text);

struct ParsedCall {
  std::string name;
  nlohmann::ordered_json arguments;  // as written: the caller checks that it is an object (R4)
};

// The calls in `body`, the text between `<function_calls>` and `</function_calls>`; nullopt when
// the body does not follow the grammar, holds no call, or an args_json payload is not JSON.
std::optional<std::vector<ParsedCall>> parse_function_calls(std::string_view body);

// `text` as a JSON value, or nullopt when it is not JSON or nests deeper than the serialiser's
// recursion can safely follow.
std::optional<nlohmann::ordered_json> parse_json(std::string_view text);

// Compact JSON (`,` and `:` separators, key order kept, UTF-8 not \u-escaped).
std::string to_compact_json(const nlohmann::ordered_json& value);

// Appends `text` with the XML entities &lt; &gt; &amp; &quot; &apos; &#N; &#xH; decoded; any other
// `&` sequence is kept verbatim.
void append_entity_decoded(std::string& out, std::string_view text);

}  // namespace zaiproxy::tool
