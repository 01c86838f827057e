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

// `{"error":{"message":M,"type":T,"code":C}}`: the shape existing proxies use and clients parse.
void append_error(std::string& out, const StreamError& error);

}  // namespace zaiproxy::openai
