// L2: the think layer of toolcall-and-think.md B2 (NORMATIVE).
//
// A source adapter normalises the upstream's reasoning into ReasoningText / ReasoningEnd /
// AnswerText; a renderer chosen by the think mode turns those into ResponseEvents:
//   reasoning  Reasoning(R) … Text(A)
//   think      Text("<think>\n" + R + "\n</think>\n\n" + A)
//   quote      Text("> " + R with "\n" → "\n> " + "\n\n" + A)
//   details    Text("<details type=\"reasoning\" open><div>\n\n" + R +
//                   "\n\n</div><summary>Thought for N seconds</summary></details>\n\n" + A)
//   drop       Text(A)
//   raw        z.ai: the thinking deltas as received, "</details>\n" (after a "\n" if needed), A
// Text rendered from reasoning has `rendered_reasoning` set. Usage and Error pass through (an
// Error first flushes the renderer); End becomes Finish. A ToolBlock ends open reasoning and, when
// the upstream named the tool, becomes an UpstreamTool event for the ToolDetector.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "zaiproxy/events.hpp"

namespace zaiproxy {

enum class ThinkMode : uint8_t { Reasoning, Think, Quote, Details, Drop, Raw };

// "reasoning", "think", "quote" (alias "strip"), "details", "drop", "raw"; nullopt if unknown.
std::optional<ThinkMode> parse_think_mode(std::string_view name);
const char* think_mode_name(ThinkMode mode);

enum class ThinkSource : uint8_t {
  Zai,      // chat.z.ai `<details type="reasoning">` blocks driven by the phase (adapter B2.1 a)
  Generic,  // OpenAI-compatible: `reasoning_content` (B2.1 c) and inline `<think>` (B2.1 b)
};

struct ThinkOptions {
  ThinkMode mode = ThinkMode::Reasoning;
  ThinkSource source = ThinkSource::Zai;
  // Generic sources: recognise `<think>…</think>` at the start of the content.
  bool inline_think = true;
  // Seconds on a monotonic clock; the duration N is the time between the first ReasoningText and
  // ReasoningEnd, rounded half up, at least 1, unless the upstream states it. Tests inject it.
  std::function<double()> clock;
};

class ThinkLayer {
 public:
  explicit ThinkLayer(ThinkOptions options = {});
  ~ThinkLayer();
  ThinkLayer(ThinkLayer&&) noexcept;
  ThinkLayer& operator=(ThinkLayer&&) noexcept;

  void feed(const SourceEvent& event, ResponseSink& sink);
  // Ends the response if no End or Error came: closes an open reasoning block, emits Finish.
  void finish(ResponseSink& sink);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zaiproxy
