// Throughput of the whole pipeline and of each stage, in upstream events per second.
// Input is delivered in 16 KiB pieces, the way a socket read hands it over.
#include <benchmark/benchmark.h>

#include <string>

#include "allocation_counter.hpp"
#include "streams.hpp"
#include "zaiproxy/encoder.hpp"
#include "zaiproxy/pipeline.hpp"
#include "zaiproxy/sign.hpp"
#include "zaiproxy/sse_framer.hpp"
#include "zaiproxy/think_layer.hpp"
#include "zaiproxy/tools.hpp"
#include "zaiproxy/zai_decoder.hpp"

namespace zaiproxy::bench {
namespace {

constexpr size_t kReadSize = 16 * 1024;

const SyntheticStream& answer_2000() {
  static const SyntheticStream s = answer_stream(2000);
  return s;
}

const SyntheticStream& thinking_1000_1000() {
  static const SyntheticStream s = thinking_stream(1000, 1000);
  return s;
}

template <typename Feed>
void feed_in_reads(const std::string& bytes, Feed&& feed) {
  for (size_t at = 0; at < bytes.size(); at += kReadSize)
    feed(std::string_view(bytes).substr(at, kReadSize));
}

// Tools offered, as an agent's request does: the ToolDetector scans every answer text.
ToolOptions weather_tool() {
  ToolOptions tools;
  tools.tools.push_back({"get_weather", "Current weather", R"({"type":"object"})"});
  tools.trigger = "<Function_AB1c_Start/>";
  return tools;
}

void run_pipeline(benchmark::State& state, const SyntheticStream& stream, OutputFormat output,
                  ThinkMode mode, ToolOptions tools = {}) {
  std::string out;
  out.reserve(stream.bytes.size() * 3);
  const size_t allocations_before = allocations_so_far();
  for (auto _ : state) {
    PipelineOptions options;
    options.output = output;
    options.think.mode = mode;
    options.response.model = "GLM-4.5";
    options.response.include_usage = true;
    options.tools = tools;
    Pipeline pipeline(std::move(options));
    out.clear();
    feed_in_reads(stream.bytes, [&](std::string_view piece) { pipeline.feed(piece, out); });
    pipeline.finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.bytes.size()));
  // Includes building each Pipeline and growing its document: a few per response, none per event.
  report_per_event(state, stream.events, allocations_so_far() - allocations_before);
}

void BM_Pipeline_Answer_OpenAiSse(benchmark::State& state) {
  run_pipeline(state, answer_2000(), OutputFormat::OpenAiSse, ThinkMode::Reasoning);
}
void BM_Pipeline_Answer_OpenAiSse_ToolsOffered(benchmark::State& state) {
  run_pipeline(state, answer_2000(), OutputFormat::OpenAiSse, ThinkMode::Reasoning, weather_tool());
}
void BM_Pipeline_Answer_AnthropicSse(benchmark::State& state) {
  run_pipeline(state, answer_2000(), OutputFormat::AnthropicSse, ThinkMode::Reasoning);
}
void BM_Pipeline_Answer_OpenAiJson(benchmark::State& state) {
  run_pipeline(state, answer_2000(), OutputFormat::OpenAiJson, ThinkMode::Reasoning);
}
void BM_Pipeline_Thinking_OpenAiSse(benchmark::State& state) {
  run_pipeline(state, thinking_1000_1000(), OutputFormat::OpenAiSse, ThinkMode::Reasoning);
}
void BM_Pipeline_Thinking_OpenAiSse_ThinkTags(benchmark::State& state) {
  run_pipeline(state, thinking_1000_1000(), OutputFormat::OpenAiSse, ThinkMode::Think);
}
void BM_Pipeline_Thinking_AnthropicSse(benchmark::State& state) {
  run_pipeline(state, thinking_1000_1000(), OutputFormat::AnthropicSse, ThinkMode::Reasoning);
}
BENCHMARK(BM_Pipeline_Answer_OpenAiSse);
BENCHMARK(BM_Pipeline_Answer_OpenAiSse_ToolsOffered);
BENCHMARK(BM_Pipeline_Answer_AnthropicSse);
BENCHMARK(BM_Pipeline_Answer_OpenAiJson);
BENCHMARK(BM_Pipeline_Thinking_OpenAiSse);
BENCHMARK(BM_Pipeline_Thinking_OpenAiSse_ThinkTags);
BENCHMARK(BM_Pipeline_Thinking_AnthropicSse);

// ── single stages ──
struct CountingSse final : SseSink {
  size_t bytes = 0;
  void on_event(const SseEvent& e) override { bytes += e.data.size(); }
  void on_error(const StreamError&) override {}
};

struct CollectingSse final : SseSink {
  std::vector<std::string> data;
  void on_event(const SseEvent& e) override { data.emplace_back(e.data); }
  void on_error(const StreamError&) override {}
};

struct CountingSource final : SourceSink {
  size_t bytes = 0;
  void on_event(const SourceEvent& e) override { bytes += e.text.size(); }
};

void BM_Stage_SseFramer(benchmark::State& state) {
  const SyntheticStream& stream = answer_2000();
  for (auto _ : state) {
    SseFramer framer;
    CountingSse sink;
    feed_in_reads(stream.bytes, [&](std::string_view piece) { framer.feed(piece, sink); });
    framer.finish(sink);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * stream.events));
}
BENCHMARK(BM_Stage_SseFramer);

void BM_Stage_ZaiDecoder(benchmark::State& state) {
  CollectingSse payloads;
  SseFramer framer;
  framer.feed(answer_2000().bytes, payloads);
  framer.finish(payloads);
  for (auto _ : state) {
    ZaiDecoder decoder;
    CountingSource sink;
    for (const std::string& data : payloads.data) decoder.feed(data, sink);
    decoder.finish(sink);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * payloads.data.size()));
}
BENCHMARK(BM_Stage_ZaiDecoder);

void BM_Stage_OpenAiEncoder(benchmark::State& state) {
  constexpr size_t kChunks = 2000;
  std::string out;
  for (auto _ : state) {
    auto encoder = make_encoder(OutputFormat::OpenAiSse, ResponseInfo{"chatcmpl-x", 1, "GLM-4.5"});
    out.clear();
    ResponseEvent text;
    text.kind = ResponseEvent::Kind::Text;
    text.text = "a \"quoted\" 测试 token\n";
    for (size_t i = 0; i < kChunks; ++i) encoder->feed(text, out);
    encoder->finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kChunks));
}
BENCHMARK(BM_Stage_OpenAiEncoder);

void BM_Sign(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(sign("9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e", 1773300000000,
                                  "316bcb48-ff2f-4a15-853d-f2a29b67ff0f",
                                  "你好，请介绍一下你自己"));
}
BENCHMARK(BM_Sign);

}  // namespace
}  // namespace zaiproxy::bench
