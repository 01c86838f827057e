// ThinkLayer: one source adapter feeding one renderer (toolcall-and-think.md B2), plus the
// response-level events (Usage, Error, End) that pass around them.
#include "zaiproxy/think_layer.hpp"

#include <chrono>
#include <memory>
#include <utility>

#include "think_adapters.hpp"
#include "think_renderer.hpp"

namespace zaiproxy {
namespace {

std::function<double()> steady_clock_seconds() {
  return [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
}

FinishReason parse_finish_reason(std::string_view reason) {
  if (reason == "length") return FinishReason::Length;
  if (reason == "tool_calls" || reason == "function_call") return FinishReason::ToolCalls;
  if (reason == "content_filter") return FinishReason::ContentFilter;
  return FinishReason::Stop;  // "", "stop", and anything unknown
}

}  // namespace

std::optional<ThinkMode> parse_think_mode(std::string_view name) {
  if (name == "reasoning") return ThinkMode::Reasoning;
  if (name == "think") return ThinkMode::Think;
  if (name == "quote" || name == "strip") return ThinkMode::Quote;  // hmjz100 calls it "strip"
  if (name == "details") return ThinkMode::Details;
  if (name == "drop") return ThinkMode::Drop;
  if (name == "raw") return ThinkMode::Raw;
  return std::nullopt;
}

const char* think_mode_name(ThinkMode mode) {
  switch (mode) {
    case ThinkMode::Reasoning:
      return "reasoning";
    case ThinkMode::Think:
      return "think";
    case ThinkMode::Quote:
      return "quote";
    case ThinkMode::Details:
      return "details";
    case ThinkMode::Drop:
      return "drop";
    case ThinkMode::Raw:
      return "raw";
  }
  return "reasoning";
}

class ThinkLayer::Impl {
 public:
  explicit Impl(ThinkOptions options)
      : renderer_(effective_mode(options),
                  options.clock ? std::move(options.clock) : steady_clock_seconds()) {
    if (options.source == ThinkSource::Zai) {
      adapter_ = std::make_unique<think::ZaiAdapter>();
    } else {
      // `raw` on a generic upstream means no transformation at all: inline tags stay text.
      bool inline_think = options.inline_think && options.mode != ThinkMode::Raw;
      adapter_ = std::make_unique<think::GenericAdapter>(inline_think);
    }
    answers_verbatim_ = adapter_->answers_verbatim();
  }

  void feed(const SourceEvent& event, ResponseSink& sink) {
    if (ended_) return;
    if (event.kind == SourceEvent::Kind::Answer && answers_verbatim_) {
      renderer_.answer_text(event.text, sink);  // what the adapter would do, minus the hops
      return;
    }
    think::ThinkOutput out(renderer_, sink);
    switch (event.kind) {
      case SourceEvent::Kind::Usage: {
        ResponseEvent usage;
        usage.kind = ResponseEvent::Kind::Usage;
        usage.usage = event.usage;
        sink.on_event(usage);
        return;
      }
      case SourceEvent::Kind::Error: {
        adapter_->end(out);  // an open rendered block gets its closing piece first
        ended_ = true;
        ResponseEvent error;
        error.kind = ResponseEvent::Kind::Error;
        error.error = event.error;
        sink.on_event(error);
        return;
      }
      case SourceEvent::Kind::End:
        end(parse_finish_reason(event.finish_reason), sink);
        return;
      default:
        adapter_->feed(event, out);  // a ToolBlock closes open reasoning here
        answers_verbatim_ = adapter_->answers_verbatim();
        if (event.kind == SourceEvent::Kind::ToolBlock) report_upstream_tool(event, sink);
        return;
    }
  }

  void finish(ResponseSink& sink) {
    if (!ended_) end(FinishReason::Stop, sink);
  }

 private:
  // A generic upstream's reasoning field is passed through as reasoning in `raw` mode.
  static ThinkMode effective_mode(const ThinkOptions& options) {
    if (options.source == ThinkSource::Generic && options.mode == ThinkMode::Raw)
      return ThinkMode::Reasoning;
    return options.mode;
  }

  // The ToolDetector decides what becomes of the upstream's tool use; a block that does not say
  // which tool it used gives it nothing to decide on.
  static void report_upstream_tool(const SourceEvent& event, ResponseSink& sink) {
    if (event.tool_name.empty()) return;
    ResponseEvent tool;
    tool.kind = ResponseEvent::Kind::UpstreamTool;
    tool.tool_name = event.tool_name;
    tool.tool_arguments = event.tool_arguments;
    sink.on_event(tool);
  }

  void end(FinishReason reason, ResponseSink& sink) {
    think::ThinkOutput out(renderer_, sink);
    adapter_->end(out);
    ended_ = true;
    ResponseEvent finish;
    finish.kind = ResponseEvent::Kind::Finish;
    finish.finish = reason;
    sink.on_event(finish);
  }

  think::Renderer renderer_;
  std::unique_ptr<think::SourceAdapter> adapter_;
  // adapter_->answers_verbatim(), read after each adapter call: only those change it.
  bool answers_verbatim_ = false;
  bool ended_ = false;  // after Error or Finish nothing more is emitted
};

ThinkLayer::ThinkLayer(ThinkOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ThinkLayer::~ThinkLayer() = default;
ThinkLayer::ThinkLayer(ThinkLayer&&) noexcept = default;
ThinkLayer& ThinkLayer::operator=(ThinkLayer&&) noexcept = default;

void ThinkLayer::feed(const SourceEvent& event, ResponseSink& sink) { impl_->feed(event, sink); }
void ThinkLayer::finish(ResponseSink& sink) { impl_->finish(sink); }

}  // namespace zaiproxy
