#include "zaiproxy/openai_encoder.hpp"

#include <utility>

#include "json_writer.hpp"
#include "openai_shapes.hpp"

namespace zaiproxy {

namespace {

// A chunk is chunk_head_ and then its choices: kDeltaOpen, the delta's fields, kDeltaClose. A
// text chunk's single field is a string, so its closing quote joins kDeltaClose.
constexpr std::string_view kDeltaOpen = "\"choices\":[{\"index\":0,\"delta\":{";
constexpr std::string_view kDeltaClose = "},\"finish_reason\":null}]}\n\n";
constexpr std::string_view kTextDeltaClose = "\"},\"finish_reason\":null}]}\n\n";
constexpr std::string_view kRoleDelta = "\"role\":\"assistant\",\"content\":\"\"";
constexpr std::string_view kDone = "data: [DONE]\n\n";

}  // namespace

OpenAiEncoder::OpenAiEncoder(ResponseInfo info) : tracker_(std::move(info), "chatcmpl-") {
  chunk_head_ = "data: {";
  openai::append_head(chunk_head_, tracker_.info(), "chat.completion.chunk");
  content_prefix_ = text_delta_prefix("content");
  reasoning_prefix_ = text_delta_prefix("reasoning_content");
}

std::string OpenAiEncoder::text_delta_prefix(std::string_view field) const {
  std::string prefix = chunk_head_;
  prefix += kDeltaOpen;
  prefix += '"';
  prefix += field;
  prefix += "\":\"";
  return prefix;
}

void OpenAiEncoder::feed(const ResponseEvent& event, std::string& out) {
  if (!tracker_.admit(event)) return;
  switch (event.kind) {
    case ResponseEvent::Kind::Reasoning:
      write_text_delta(reasoning_prefix_, event.text, out);
      break;
    case ResponseEvent::Kind::Text:
      write_text_delta(content_prefix_, event.text, out);
      break;
    case ResponseEvent::Kind::ToolCall:
      write_tool_call(event.tool_name, event.tool_arguments, out);
      break;
    case ResponseEvent::Kind::Error:
      write_error(error_of(event), out);
      break;
    case ResponseEvent::Kind::Finish:
      write_finish(event.finish, out);
      break;
    case ResponseEvent::Kind::Usage:         // not admitted: only remembered
    case ResponseEvent::Kind::UpstreamTool:  // not admitted: for the ToolDetector only
      break;
  }
}

void OpenAiEncoder::finish(std::string& out) {
  if (tracker_.admit_implicit_finish()) write_finish(FinishReason::Stop, out);
}

void OpenAiEncoder::write_text_delta(const std::string& prefix, std::string_view text,
                                     std::string& out) {
  if (text.empty()) return;
  write_role_once(out);
  out += prefix;
  json::append_escaped(out, text);
  out += kTextDeltaClose;
}

// Name first, then the arguments in a delta of their own (A4.3's alternative form): clients that
// show a call as it starts get the name at once, and the SDKs' accumulators join both.
void OpenAiEncoder::write_tool_call(std::string_view name, std::string_view arguments,
                                    std::string& out) {
  write_role_once(out);
  const int64_t index = tool_calls_sent_++;
  write_tool_call_chunk_start(index, out);
  openai::append_tool_call_fields(out, random_id("call_"), name, "");
  out += "}]";
  out += kDeltaClose;
  write_tool_call_chunk_start(index, out);
  out += "\"function\":{\"arguments\":";
  json::append_string(out, arguments);
  out += "}}]";
  out += kDeltaClose;
}

void OpenAiEncoder::write_tool_call_chunk_start(int64_t index, std::string& out) const {
  out += chunk_head_;
  out += kDeltaOpen;
  out += "\"tool_calls\":[{\"index\":";
  json::append_int(out, index);
  out += ',';
}

void OpenAiEncoder::write_role_chunk(std::string& out) {
  role_sent_ = true;
  out += chunk_head_;
  out += kDeltaOpen;
  out += kRoleDelta;
  out += kDeltaClose;
}

void OpenAiEncoder::write_finish(FinishReason reason, std::string& out) {
  write_role_once(out);
  out += chunk_head_;
  out += kDeltaOpen;
  out += "},\"finish_reason\":\"";
  out += finish_reason_name(reason);
  out += "\"}]}\n\n";
  if (tracker_.info().include_usage) {
    out += chunk_head_;
    out += "\"choices\":[],\"usage\":";
    openai::append_usage(out, tracker_.usage());
    out += "}\n\n";
  }
  out += kDone;
}

void OpenAiEncoder::write_error(const StreamError& error, std::string& out) {
  out += "data: ";
  openai::append_error(out, error);
  out += "\n\n";
  out += kDone;
}

}  // namespace zaiproxy
