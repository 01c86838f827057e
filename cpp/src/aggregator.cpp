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
    case ResponseEvent::Kind::Error:
      error_ = error_of(event);
      break;
    case ResponseEvent::Kind::Finish:
      finish_reason_ = event.finish;
      break;
    case ResponseEvent::Kind::Usage:  // not admitted: only remembered
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
  if (parts_.empty() || parts_.back().kind != kind) parts_.push_back({kind, std::string()});
  parts_.back().text += text;
}

std::string Aggregator::joined(ResponseEvent::Kind kind) const {
  std::string text;
  for (const Part& part : parts_)
    if (part.kind == kind) text += part.text;
  return text;
}

void Aggregator::write_openai(std::string& out) const {
  const ResponseInfo& info = tracker_.info();
  out += '{';
  openai::append_head(out, info, "chat.completion");
  out += "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  json::append_string(out, joined(ResponseEvent::Kind::Text));
  const std::string reasoning = joined(ResponseEvent::Kind::Reasoning);
  if (info.reasoning_field && !reasoning.empty()) {
    out += ",\"reasoning_content\":";
    json::append_string(out, reasoning);
  }
  out += "},\"finish_reason\":\"";
  out += finish_reason_name(finish_reason_);
  out += "\"}],\"usage\":";
  openai::append_usage(out, tracker_.usage());
  out += '}';
}

void Aggregator::write_anthropic(std::string& out) const {
  const ResponseInfo& info = tracker_.info();
  out += "{\"id\":";
  json::append_string(out, info.id);
  out += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  json::append_string(out, info.model);
  out += ",\"content\":[";
  if (parts_.empty()) anthropic::append_content_block(out, ResponseEvent::Kind::Text, "");
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (i > 0) out += ',';
    anthropic::append_content_block(out, parts_[i].kind, parts_[i].text);
  }
  out += "],\"stop_reason\":\"";
  out += anthropic::stop_reason_name(finish_reason_);
  out += "\",\"stop_sequence\":null,\"usage\":";
  anthropic::append_usage(out, info, tracker_.usage());
  out += '}';
}

}  // namespace zaiproxy
