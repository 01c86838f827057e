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

class OpenAiChunkDecoder final : public EventDecoder {
 public:
  void feed(std::string_view data, SourceSink& sink) override;
  void finish(SourceSink& sink) override;
  bool ended() const override { return ended_; }

 private:
  std::string finish_reason_;
  bool ended_ = false;
  // (implementation state may be extended)
};

}  // namespace zaiproxy
