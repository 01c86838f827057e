#include "streams.hpp"

#include <array>
#include <string_view>

namespace zaiproxy::bench {

namespace {

// Token-sized pieces as the model emits them; some carry characters that need JSON escaping.
constexpr std::array<std::string_view, 12> kTokens = {
    "Hello", " world", "，",          "这是", " a \\\"quoted\\\" word", "测试", "\\n", " streaming",
    " 文本", " with",  " numbers 42", "。"};

void add_event(SyntheticStream& s, std::string_view data_json) {
  s.bytes.append("data: {\"type\":\"chat:completion\",\"data\":");
  s.bytes.append(data_json);
  s.bytes.append("}\n\n");
  ++s.events;
}

void add_delta(SyntheticStream& s, std::string_view phase, std::string_view text) {
  std::string data = "{\"delta_content\":\"";
  data.append(text);
  data.append("\",\"phase\":\"");
  data.append(phase);
  data.append("\"}");
  add_event(s, data);
}

void add_tail(SyntheticStream& s) {
  add_event(
      s,
      R"({"phase":"other","usage":{"prompt_tokens":120,"completion_tokens":2000,"total_tokens":2120}})");
  add_event(s, R"({"phase":"done","done":true})");
}

}  // namespace

SyntheticStream answer_stream(size_t answer_events) {
  SyntheticStream s;
  for (size_t i = 0; i < answer_events; ++i) add_delta(s, "answer", kTokens[i % kTokens.size()]);
  add_tail(s);
  return s;
}

SyntheticStream thinking_stream(size_t thinking_events, size_t answer_events) {
  SyntheticStream s;
  std::string body;  // the quoted reasoning as JSON-escaped text, for the closing snapshot
  add_delta(s, "thinking", R"(<details type=\"reasoning\" done=\"false\">\n> \n> \n>)");
  for (size_t i = 0; i < thinking_events; ++i) {
    // Every eighth delta starts a new quoted line, as the model's reasoning does.
    std::string piece = i % 8 == 7 ? "\\n> " : "";
    piece.append(kTokens[i % kTokens.size()]);
    body.append(piece);
    add_delta(s, "thinking", piece);
  }
  std::string edit = R"({"edit_index":32,"edit_content":"true\">\n> \n> \n>)";
  edit.append(body);
  edit.append(R"(\n</details>\nSure","phase":"answer"})");
  add_event(s, edit);
  for (size_t i = 0; i < answer_events; ++i) add_delta(s, "answer", kTokens[i % kTokens.size()]);
  add_tail(s);
  return s;
}

}  // namespace zaiproxy::bench
