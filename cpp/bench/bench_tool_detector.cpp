// The tool detector behind the think layer, as the pipeline chains them, on the long answer of
// streams.hpp (2,000 token-sized deltas, decoded once up front); the think layer alone is timed
// beside it, so the difference is the detector's cost while the events are hot in cache, as in
// production. Without a call the detector is in its TEXT state throughout, the path that must stay
// cheap (< 10% of the pipeline's ~600 ns/event); with a call, the same answer ends with the trigger
// and a block in token-sized deltas.
#include <benchmark/benchmark.h>

#include <iterator>
#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "recorded_events.hpp"
#include "streams.hpp"
#include "zaiproxy/events.hpp"
#include "zaiproxy/think_layer.hpp"
#include "zaiproxy/tool_detector.hpp"

namespace zaiproxy::bench {
namespace {

const std::string kTrigger = "<Function_AB1c_Start/>";

// The answer followed by a call, cut in 6-byte answer deltas, ahead of the closing usage and end.
std::vector<RecordedEvent> with_call_at_end(std::vector<RecordedEvent> events) {
  const std::string call =
      "\n" + kTrigger +
      "\n<function_calls>\n<function_call>\n<tool>get_weather</tool>\n"
      "<args_json><![CDATA[{\"city\":\"北京\",\"days\":3}]]></args_json>\n</function_call>\n"
      "</function_calls>";
  auto tail = events.end();
  while (tail != events.begin() && std::prev(tail)->event.kind != SourceEvent::Kind::Answer) {
    --tail;
  }
  const SourceEvent answer = std::prev(tail)->event;
  std::vector<RecordedEvent> pieces;
  for (size_t at = 0; at < call.size(); at += 6) {
    // Every multi-byte character of `call` sits inside one 6-byte piece.
    pieces.push_back({answer, call.substr(at, 6), "", "", ""});
  }
  events.insert(tail, pieces.begin(), pieces.end());
  return events;
}

const std::vector<RecordedEvent>& answer_without_call() {
  static const std::vector<RecordedEvent> events = record_decoded(answer_stream(2000));
  return events;
}

const std::vector<RecordedEvent>& answer_with_call() {
  static const std::vector<RecordedEvent> events =
      point_views_at_copies(with_call_at_end(record_decoded(answer_stream(2000))));
  return events;
}

struct NullResponseSink final : ResponseSink {
  size_t bytes = 0;
  size_t calls = 0;
  void on_event(const ResponseEvent& event) override {
    bytes += event.text.size();
    calls += event.kind == ResponseEvent::Kind::ToolCall;
  }
};

ToolOptions tool_options() {
  ToolOptions options;
  options.tools = {{"get_weather", "Weather of a city", R"({"type":"object"})"}, {"w", "", "{}"}};
  options.trigger = kTrigger;
  return options;
}

struct ToDetector final : ResponseSink {
  ToDetector(ToolDetector& detector, ResponseSink& out) : detector(detector), out(out) {}
  void on_event(const ResponseEvent& event) override { detector.feed(event, out); }
  ToolDetector& detector;
  ResponseSink& out;
};

// One response through a fresh think layer, and a fresh detector after it unless `detect` is
// false; their construction is outside the allocation count.
void run(benchmark::State& state, const std::vector<RecordedEvent>& events, bool detect) {
  size_t allocations = 0;
  size_t calls = 0;
  for (auto _ : state) {
    ThinkLayer layer;
    ToolDetector detector(tool_options());
    NullResponseSink sink;
    ToDetector to_detector(detector, sink);
    ResponseSink& first = detect ? static_cast<ResponseSink&>(to_detector) : sink;
    size_t before = allocations_so_far();
    for (const RecordedEvent& recorded : events) layer.feed(recorded.event, first);
    layer.finish(first);
    allocations += allocations_so_far() - before;
    calls = sink.calls;
    benchmark::DoNotOptimize(sink.bytes);
  }
  report_per_event(state, events.size(), allocations);
  state.counters["calls/response"] = static_cast<double>(calls);  // 1 proves the call was found
}

// The detector's cost per event is the difference between a pair of these.
void BM_Detector_ThinkLayerAlone_NoCall(benchmark::State& state) {
  run(state, answer_without_call(), false);
}
void BM_Detector_ThinkLayerAndDetector_NoCall(benchmark::State& state) {
  run(state, answer_without_call(), true);
}
void BM_Detector_ThinkLayerAlone_CallAtEnd(benchmark::State& state) {
  run(state, answer_with_call(), false);
}
void BM_Detector_ThinkLayerAndDetector_CallAtEnd(benchmark::State& state) {
  run(state, answer_with_call(), true);
}
BENCHMARK(BM_Detector_ThinkLayerAlone_NoCall);
BENCHMARK(BM_Detector_ThinkLayerAndDetector_NoCall);
BENCHMARK(BM_Detector_ThinkLayerAlone_CallAtEnd);
BENCHMARK(BM_Detector_ThinkLayerAndDetector_CallAtEnd);

}  // namespace
}  // namespace zaiproxy::bench
