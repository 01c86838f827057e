#include "zaiproxy/anthropic_encoder.hpp"

#include <utility>

#include "anthropic_shapes.hpp"
#include "json_writer.hpp"

namespace zaiproxy {

AnthropicEncoder::AnthropicEncoder(ResponseInfo info) : tracker_(std::move(info), "msg_") {}

void AnthropicEncoder::feed(const ResponseEvent& event, std::string& out) {
  if (!tracker_.admit(event)) return;
  switch (event.kind) {
    case ResponseEvent::Kind::Reasoning:
    case ResponseEvent::Kind::Text:
      write_block_delta(event.kind, event.text, out);
      break;
    case ResponseEvent::Kind::ToolCall:
      write_tool_use_block(event.tool_name, event.tool_arguments, out);
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

void AnthropicEncoder::finish(std::string& out) {
  if (tracker_.admit_implicit_finish()) write_finish(FinishReason::Stop, out);
}

void AnthropicEncoder::write_message_start_once(std::string& out) {
  if (message_started_) return;
  message_started_ = true;
  const ResponseInfo& info = tracker_.info();
  out += "event: message_start\ndata: {\"type\":\"message_start\",\"message\":";
  anthropic::append_message_head(out, info);
  out += ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":";
  anthropic::append_usage(out, info, Usage{});  // the estimate; the real counts come at the end
  out += "}}\n\n";
  out += "event: ping\ndata: {\"type\":\"ping\"}\n\n";
}

void AnthropicEncoder::write_block_delta(ResponseEvent::Kind kind, std::string_view text,
                                         std::string& out) {
  if (text.empty()) return;  // an empty delta would open an empty block
  if (!block_open_ || block_kind_ != kind) open_block(kind, out);
  out += delta_prefix_;
  json::append_escaped(out, text);
  out += "\"}}\n\n";
}

void AnthropicEncoder::open_block(ResponseEvent::Kind kind, std::string& out) {
  write_block_start_head(out);
  anthropic::append_content_block(out, kind, "");
  out += "}\n\n";
  block_open_ = true;
  block_kind_ = kind;
  delta_prefix_.clear();
  append_block_delta_head(delta_prefix_);
  delta_prefix_ += anthropic::delta_head(kind);
  delta_prefix_ += '"';  // the text's opening quote
}

void AnthropicEncoder::write_tool_use_block(std::string_view name, std::string_view arguments,
                                            std::string& out) {
  // The call is whole, so its block opens, takes the arguments in one delta and closes at once;
  // clients accumulate the partial_json and parse it at content_block_stop.
  write_block_start_head(out);
  anthropic::append_tool_use_block(out, random_id("toolu_"), name, "{}");
  out += "}\n\n";
  append_block_delta_head(out);
  out += R"({"type":"input_json_delta","partial_json":)";
  json::append_string(out, arguments);
  out += "}}\n\n";
  write_block_stop(out);
}

void AnthropicEncoder::write_block_start_head(std::string& out) {
  write_message_start_once(out);
  close_open_block(out);
  ++block_index_;
  out += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":";
  json::append_int(out, block_index_);
  out += ",\"content_block\":";
}

void AnthropicEncoder::append_block_delta_head(std::string& out) const {
  out += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":";
  json::append_int(out, block_index_);
  out += ",\"delta\":";
}

void AnthropicEncoder::close_open_block(std::string& out) {
  if (!block_open_) return;
  block_open_ = false;
  write_block_stop(out);
}

void AnthropicEncoder::write_block_stop(std::string& out) const {
  out += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":";
  json::append_int(out, block_index_);
  out += "}\n\n";
}

void AnthropicEncoder::write_finish(FinishReason reason, std::string& out) {
  write_message_start_once(out);
  // The non-streaming message holds one empty text block when there is no content; the stream
  // does the same, so that folding it gives that message.
  if (block_index_ < 0) open_block(ResponseEvent::Kind::Text, out);
  close_open_block(out);
  out += "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"";
  out += anthropic::stop_reason_name(reason);
  out += "\",\"stop_sequence\":null},\"usage\":";
  anthropic::append_usage(out, tracker_.info(), tracker_.usage());
  out += "}\n\n";
  out += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
}

void AnthropicEncoder::write_error(const StreamError& error, std::string& out) {
  out += "event: error\ndata: ";
  anthropic::append_error(out, error);
  out += "\n\n";
}

}  // namespace zaiproxy
