#include "zaiproxy/openai_encoder.hpp"

#include <utility>

#include "json_writer.hpp"
#include "openai_shapes.hpp"

namespace zaiproxy {

namespace {

constexpr std::string_view kDeltaSuffix = "},\"finish_reason\":null}]}\n\n";
constexpr std::string_view kDone = "data: [DONE]\n\n";

}  // namespace

OpenAiEncoder::OpenAiEncoder(ResponseInfo info) : tracker_(std::move(info), "chatcmpl-") {
  delta_prefix_ = "data: {";
  openai::append_head(delta_prefix_, tracker_.info(), "chat.completion.chunk");
  head_size_ = delta_prefix_.size();
  delta_prefix_ += "\"choices\":[{\"index\":0,\"delta\":{";
}

void OpenAiEncoder::feed(const ResponseEvent& event, std::string& out) {
  if (!tracker_.admit(event)) return;
  switch (event.kind) {
    case ResponseEvent::Kind::Reasoning:
      write_text_delta("\"reasoning_content\":", event.text, out);
      break;
    case ResponseEvent::Kind::Text:
      write_text_delta("\"content\":", event.text, out);
      break;
    case ResponseEvent::Kind::Error:
      write_error(error_of(event), out);
      break;
    case ResponseEvent::Kind::Finish:
      write_finish(event.finish, out);
      break;
    case ResponseEvent::Kind::Usage:  // not admitted: only remembered
      break;
  }
}

void OpenAiEncoder::finish(std::string& out) {
  if (tracker_.admit_implicit_finish()) write_finish(FinishReason::Stop, out);
}

void OpenAiEncoder::write_text_delta(std::string_view field, std::string_view text,
                                     std::string& out) {
  if (text.empty()) return;
  write_role_once(out);
  out.reserve(out.size() + delta_prefix_.size() + field.size() + text.size() + kDeltaSuffix.size() +
              2);
  out += delta_prefix_;
  out += field;
  json::append_string(out, text);
  out += kDeltaSuffix;
}

void OpenAiEncoder::write_role_once(std::string& out) {
  if (role_sent_) return;
  role_sent_ = true;
  out += delta_prefix_;
  out += "\"role\":\"assistant\",\"content\":\"\"";
  out += kDeltaSuffix;
}

void OpenAiEncoder::write_finish(FinishReason reason, std::string& out) {
  write_role_once(out);
  out += delta_prefix_;
  out += "},\"finish_reason\":\"";
  out += finish_reason_name(reason);
  out += "\"}]}\n\n";
  if (tracker_.info().include_usage) {
    out.append(delta_prefix_, 0, head_size_);
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
