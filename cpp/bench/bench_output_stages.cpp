// The output half of the pipeline on its own: ThinkLayer and the stream encoders, fed with the
// SourceEvents the z.ai decoder makes of the benchmark streams, decoded once up front. The
// `allocs/event` counter counts operator new calls in the timed loop; the steady state must have
// none (the output buffer is reserved once, as a server reuses it).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "recorded_events.hpp"
#include "streams.hpp"
#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"
#include "zaiproxy/think_layer.hpp"

namespace zaiproxy::bench {
namespace {

const std::vector<RecordedEvent>& answer_events() {
  static const std::vector<RecordedEvent> events = record_decoded(answer_stream(2000));
  return events;
}

const std::vector<RecordedEvent>& thinking_events() {
  static const std::vector<RecordedEvent> events = record_decoded(thinking_stream(1000, 1000));
  return events;
}

// Drops the think layer's output, so that the layer is timed alone.
struct NullResponseSink final : ResponseSink {
  size_t bytes = 0;
  void on_event(const ResponseEvent& event) override { bytes += event.text.size(); }
};

struct ToEncoder final : ResponseSink {
  ToEncoder(ResponseEncoder& encoder, std::string& out) : encoder(encoder), out(out) {}
  void on_event(const ResponseEvent& event) override { encoder.feed(event, out); }
  ResponseEncoder& encoder;
  std::string& out;
};

// One response through the think layer alone; the layer's construction is outside the count.
void run_think_layer(benchmark::State& state, const std::vector<RecordedEvent>& events,
                     ThinkMode mode) {
  size_t allocations = 0;
  for (auto _ : state) {
    ThinkOptions options;
    options.mode = mode;
    ThinkLayer layer(std::move(options));
    NullResponseSink sink;
    size_t before = allocations_so_far();
    for (const RecordedEvent& recorded : events) layer.feed(recorded.event, sink);
    layer.finish(sink);
    allocations += allocations_so_far() - before;
    benchmark::DoNotOptimize(sink.bytes);
  }
  report_per_event(state, events.size(), allocations);
}

// One response through the think layer and an encoder, as the pipeline chains them.
void run_output(benchmark::State& state, const std::vector<RecordedEvent>& events,
                OutputFormat format, ThinkMode mode) {
  std::string out;
  out.reserve(1 << 20);
  size_t allocations = 0;
  for (auto _ : state) {
    ThinkOptions options;
    options.mode = mode;
    ThinkLayer layer(std::move(options));
    ResponseInfo info;
    info.model = "GLM-4.5";
    info.include_usage = true;
    std::unique_ptr<ResponseEncoder> encoder = make_encoder(format, std::move(info));
    ToEncoder sink(*encoder, out);
    out.clear();
    size_t before = allocations_so_far();
    for (const RecordedEvent& recorded : events) layer.feed(recorded.event, sink);
    layer.finish(sink);
    encoder->finish(out);
    allocations += allocations_so_far() - before;
    benchmark::DoNotOptimize(out.data());
  }
  report_per_event(state, events.size(), allocations);
}

void BM_Stage_ThinkLayer_Answer(benchmark::State& state) {
  run_think_layer(state, answer_events(), ThinkMode::Reasoning);
}
void BM_Stage_ThinkLayer_Thinking(benchmark::State& state) {
  run_think_layer(state, thinking_events(), ThinkMode::Reasoning);
}
void BM_Stage_ThinkLayer_Thinking_ThinkTags(benchmark::State& state) {
  run_think_layer(state, thinking_events(), ThinkMode::Think);
}
void BM_Stage_Output_Answer_OpenAiSse(benchmark::State& state) {
  run_output(state, answer_events(), OutputFormat::OpenAiSse, ThinkMode::Reasoning);
}
void BM_Stage_Output_Answer_AnthropicSse(benchmark::State& state) {
  run_output(state, answer_events(), OutputFormat::AnthropicSse, ThinkMode::Reasoning);
}
void BM_Stage_Output_Thinking_OpenAiSse(benchmark::State& state) {
  run_output(state, thinking_events(), OutputFormat::OpenAiSse, ThinkMode::Reasoning);
}
void BM_Stage_Output_Thinking_OpenAiSse_ThinkTags(benchmark::State& state) {
  run_output(state, thinking_events(), OutputFormat::OpenAiSse, ThinkMode::Think);
}
void BM_Stage_Output_Thinking_AnthropicSse(benchmark::State& state) {
  run_output(state, thinking_events(), OutputFormat::AnthropicSse, ThinkMode::Reasoning);
}
BENCHMARK(BM_Stage_ThinkLayer_Answer);
BENCHMARK(BM_Stage_ThinkLayer_Thinking);
BENCHMARK(BM_Stage_ThinkLayer_Thinking_ThinkTags);
BENCHMARK(BM_Stage_Output_Answer_OpenAiSse);
BENCHMARK(BM_Stage_Output_Answer_AnthropicSse);
BENCHMARK(BM_Stage_Output_Thinking_OpenAiSse);
BENCHMARK(BM_Stage_Output_Thinking_OpenAiSse_ThinkTags);
BENCHMARK(BM_Stage_Output_Thinking_AnthropicSse);

}  // namespace
}  // namespace zaiproxy::bench
