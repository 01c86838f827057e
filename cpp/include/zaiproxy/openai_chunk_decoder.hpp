// L1 for generic OpenAI-compatible upstreams: `chat.completion.chunk` payloads.
//   choices[0].delta.content                       → Answer(text)
//   choices[0].delta.reasoning_content | reasoning → Reasoning(text)
//   usage (non-null, non-empty)                    → Usage
//   choices[0].finish_reason                       → remembered, reported with End
//   {"error": {...}}                               → Error
//   [DONE] or finish() at EOF                      → End
#pragma once

#include <string>

#include "zaiproxy/decoder.hpp"

namespace zaiproxy {

class JsonReader;

class OpenAiChunkDecoder final : public EventDecoder {
 public:
  void feed(std::string_view data, SourceSink& sink) override;
  void finish(SourceSink& sink) override;
  bool ended() const override { return ended_; }

 private:
  // One text channel of the delta: its decoded text and a high surrogate that ended the previous
  // piece unpaired (joined with the next piece of the same channel, toolcall-and-think.md §C.3).
  struct Channel {
    std::string text;
    char16_t pending_high_surrogate = 0;
    bool present = false;
  };

  bool read_chunk(std::string_view payload);
  void read_choice(JsonReader& reader);
  void read_delta(JsonReader& reader);
  void read_channel(JsonReader& reader, Channel& channel);
  void emit_text(SourceEvent::Kind kind, std::string_view text, SourceSink& sink);
  void end(SourceSink& sink);
  void fail(const StreamError& error, SourceSink& sink);

  std::string finish_reason_;
  bool ended_ = false;

  Channel content_, reasoning_;
  bool has_usage_ = false, has_error_ = false;
  Usage usage_;
  StreamError error_;
};

}  // namespace zaiproxy
