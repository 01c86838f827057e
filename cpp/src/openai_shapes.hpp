// Pieces of the OpenAI chat completion objects shared by the stream encoder and the aggregator.
#pragma once

#include <string>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"

namespace zaiproxy::openai {

// `"id":ID,"object":OBJECT,"created":N,"model":M,` — how every response object starts.
void append_head(std::string& out, const ResponseInfo& info, std::string_view object);

// `{"prompt_tokens":P,"completion_tokens":C,"total_tokens":T}`; zeros when nothing was reported,
// T = P + C when the upstream left the total out.
void append_usage(std::string& out, const Usage& usage);

// `"id":ID,"type":"function","function":{"name":N,"arguments":A}`: the fields of a tool call,
// which the stream's delta prefixes with its index and the message's tool_calls write as they are.
// `arguments` is JSON text, sent as a string.
void append_tool_call_fields(std::string& out, std::string_view id, std::string_view name,
                             std::string_view arguments);

// `{"error":{"message":M,"type":T,"code":C}}`: the shape existing proxies use and clients parse.
void append_error(std::string& out, const StreamError& error);

}  // namespace zaiproxy::openai
