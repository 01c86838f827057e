#include "zaiproxy/aggregator.hpp"

#include <utility>

#include "anthropic_shapes.hpp"
#include "json_writer.hpp"
#include "openai_shapes.hpp"

namespace zaiproxy {

Aggregator::Aggregator(ResponseInfo info, Dialect dialect)
    : tracker_(std::move(info), dialect == Dialect::OpenAi ? "chatcmpl-" : "msg_"),
      dialect_(dialect) {}

void Aggregator::feed(const ResponseEvent& event, std::string& /*out*/) {
  if (!tracker_.admit(event)) return;
  switch (event.kind) {
    case ResponseEvent::Kind::Reasoning:
    case ResponseEvent::Kind::Text:
      collect(event.kind, event.text);
      break;
    case ResponseEvent::Kind::ToolCall:
      collect_tool_call(event.tool_name, event.tool_arguments);
      break;
    case ResponseEvent::Kind::Error:
      error_ = error_of(event);
      break;
    case ResponseEvent::Kind::Finish:
      finish_reason_ = event.finish;
      break;
    case ResponseEvent::Kind::Usage:         // not admitted: only remembered
    case ResponseEvent::Kind::UpstreamTool:  // not admitted: for the ToolDetector only
      break;
  }
}

void Aggregator::finish(std::string& out) {
  if (written_) return;
  written_ = true;
  tracker_.admit_implicit_finish();  // without Finish the reason stays Stop
  if (error_) {
    if (dialect_ == Dialect::OpenAi) {
      openai::append_error(out, *error_);
    } else {
      anthropic::append_error(out, *error_);
    }
  } else if (dialect_ == Dialect::OpenAi) {
    write_openai(out);
  } else {
    write_anthropic(out);
  }
}

void Aggregator::collect(ResponseEvent::Kind kind, std::string_view text) {
  if (text.empty()) return;  // the stream encoders send nothing for it either
  if (parts_.empty() || parts_.back().kind != kind) parts_.push_back({kind, {}, {}, {}});
  parts_.back().text += text;
}

void Aggregator::collect_tool_call(std::string_view name, std::string_view arguments) {
  const std::string_view id_prefix = dialect_ == Dialect::OpenAi ? "call_" : "toolu_";
  parts_.push_back({ResponseEvent::Kind::ToolCall, std::string(arguments), std::string(name),
                    random_id(id_prefix)});
}

std::string Aggregator::joined(ResponseEvent::Kind kind) const {
  std::string text;
  for (const Part& part : parts_)
    if (part.kind == kind) text += part.text;
  return text;
}

bool Aggregator::has_tool_calls() const {
  for (const Part& part : parts_)
    if (part.kind == ResponseEvent::Kind::ToolCall) return true;
  return false;
}

void Aggregator::write_openai(std::string& out) const {
  const ResponseInfo& info = tracker_.info();
  out += '{';
  openai::append_head(out, info, "chat.completion");
  out += "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  const std::string content = joined(ResponseEvent::Kind::Text);
  if (content.empty() && has_tool_calls()) {
    out += "null";  // A4.3: what OpenAI itself sends for a message that only calls tools
  } else {
    json::append_string(out, content);
  }
  const std::string reasoning = joined(ResponseEvent::Kind::Reasoning);
  if (info.reasoning_field && !reasoning.empty()) {
    out += ",\"reasoning_content\":";
    json::append_string(out, reasoning);
  }
  write_openai_tool_calls(out);
  out += "},\"finish_reason\":\"";
  out += finish_reason_name(finish_reason_);
  out += "\"}],\"usage\":";
  openai::append_usage(out, tracker_.usage());
  out += '}';
}

void Aggregator::write_openai_tool_calls(std::string& out) const {
  if (!has_tool_calls()) return;
  out += ",\"tool_calls\":[";
  bool first = true;
  for (const Part& part : parts_) {
    if (part.kind != ResponseEvent::Kind::ToolCall) continue;
    if (!first) out += ',';
    first = false;
    out += '{';
    openai::append_tool_call_fields(out, part.tool_id, part.tool_name, part.text);
    out += '}';
  }
  out += ']';
}

void Aggregator::write_anthropic(std::string& out) const {
  const ResponseInfo& info = tracker_.info();
  anthropic::append_message_head(out, info);
  out += ",\"content\":[";
  if (parts_.empty()) anthropic::append_content_block(out, ResponseEvent::Kind::Text, "");
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (i > 0) out += ',';
    append_anthropic_block(out, parts_[i]);
  }
  out += "],\"stop_reason\":\"";
  out += anthropic::stop_reason_name(finish_reason_);
  out += "\",\"stop_sequence\":null,\"usage\":";
  anthropic::append_usage(out, info, tracker_.usage());
  out += '}';
}

void Aggregator::append_anthropic_block(std::string& out, const Part& part) {
  if (part.kind == ResponseEvent::Kind::ToolCall) {
    // The arguments are a compact JSON object by the ToolCall contract: the input as it is.
    anthropic::append_tool_use_block(out, part.tool_id, part.tool_name, part.text);
  } else {
    anthropic::append_content_block(out, part.kind, part.text);
  }
}

}  // namespace zaiproxy
