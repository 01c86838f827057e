// Pieces of the Anthropic Messages objects shared by the stream encoder and the aggregator.
#pragma once

#include <string>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"

namespace zaiproxy::anthropic {

// Content blocks are keyed by the kind of the events they hold: Reasoning makes a thinking block,
// Text a text block, each ToolCall a tool_use block.

// A whole content block, e.g. `{"type":"text","text":TEXT}`. With empty text it is also the
// content_block of content_block_start, so the stream's blocks fold into the message's.
void append_content_block(std::string& out, ResponseEvent::Kind kind, std::string_view text);

// `{"type":"tool_use","id":ID,"name":N,"input":INPUT}`. `input` is the text of a JSON object,
// copied as it is: `{}` in content_block_start, the call's arguments in the message.
void append_tool_use_block(std::string& out, std::string_view id, std::string_view name,
                           std::string_view input);

// The delta of a content_block_delta up to its text, e.g. `{"type":"text_delta","text":`.
std::string_view delta_head(ResponseEvent::Kind kind);

// "end_turn", "max_tokens", "tool_use" or "refusal".
const char* stop_reason_name(FinishReason reason);

// `{"input_tokens":P,"output_tokens":C}`: P is the upstream's prompt count when reported, else
// the request's estimate in `info`.
void append_usage(std::string& out, const ResponseInfo& info, const Usage& usage);

// `{"id":…,"type":"message","role":"assistant","model":…` — the head shared by message_start and
// the non-streaming message; the caller writes the rest.
void append_message_head(std::string& out, const ResponseInfo& info);

// `{"type":"error","error":{"type":"api_error","message":M}}`.
void append_error(std::string& out, const StreamError& error);

}  // namespace zaiproxy::anthropic
