// What a chat.z.ai `<glm_block …>{json}</glm_block>` says about the tool the model used
// (upstream-protocol.md §4.5, §4.6 mechanism 1). Internal to the core.
#pragma once

#include <string>
#include <string_view>

namespace zaiproxy::glm_block {

struct ToolUse {
  std::string_view name;       // empty when the block does not say or cannot be read
  std::string_view arguments;  // JSON text as the upstream gave it, not parsed
};

// Reads `data.metadata.name` (else the opening tag's `tool_call_name` attribute) and
// `data.metadata.arguments` (the content of a JSON string, or the text of a JSON object) from a
// complete block. A block whose JSON cannot be read gives an empty ToolUse. The views point into
// `block` or into the buffers, which hold strings that had to be decoded and are reused from call
// to call.
ToolUse read_tool_use(std::string_view block, std::string& name_buffer,
                      std::string& arguments_buffer);

}  // namespace zaiproxy::glm_block
