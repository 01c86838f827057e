// L3: finds emulated function calls in the answer text (toolcall-and-think.md A3.4, NORMATIVE) and
// maps the upstream's native tool use to client calls.
//
// Input and output are ResponseEvents. Text with rendered_reasoning == false is scanned for the
// trigger; text rendered from reasoning and the Reasoning channel pass through untouched, so a
// trigger in the reasoning never fires. A complete, valid `<function_calls>` block becomes
// ToolCall events (tool_name, tool_arguments as compact JSON, key order kept, UTF-8 unescaped);
// a block that fails is re-emitted verbatim as Text and detection re-arms (nothing is lost).
// UpstreamTool events become ToolCalls when the client offered a tool of that name and the
// arguments are a JSON object; otherwise they are dropped (the model's internal tools, such as
// search, are never leaked). Finish becomes Finish(tool_calls) once a call was emitted; an
// upstream `length` is kept when the call text was cut short.
#pragma once

#include <memory>

#include "zaiproxy/events.hpp"
#include "zaiproxy/tools.hpp"

namespace zaiproxy {

class ToolDetector {
 public:
  explicit ToolDetector(ToolOptions options);
  ~ToolDetector();
  ToolDetector(ToolDetector&&) noexcept;
  ToolDetector& operator=(ToolDetector&&) noexcept;

  void feed(const ResponseEvent& event, ResponseSink& sink);
  // End of the response without a Finish or Error: as if Finish(stop) came.
  void finish(ResponseSink& sink);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zaiproxy
