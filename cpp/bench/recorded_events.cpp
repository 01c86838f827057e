#include "recorded_events.hpp"

#include "zaiproxy/sse_framer.hpp"
#include "zaiproxy/zai_decoder.hpp"

namespace zaiproxy::bench {

namespace {

struct Recorder final : SourceSink {
  std::vector<RecordedEvent> events;
  void on_event(const SourceEvent& event) override {
    events.push_back({event, std::string(event.text), std::string(event.tool_name),
                      std::string(event.tool_arguments), std::string(event.finish_reason)});
  }
};

struct ToDecoder final : SseSink {
  explicit ToDecoder(SourceSink& out) : out(out) {}
  void on_event(const SseEvent& event) override { decoder.feed(event.data, out); }
  void on_error(const StreamError&) override {}
  ZaiDecoder decoder;
  SourceSink& out;
};

}  // namespace

std::vector<RecordedEvent> record_decoded(const SyntheticStream& stream) {
  Recorder recorder;
  ToDecoder to_decoder(recorder);
  SseFramer framer;
  framer.feed(stream.bytes, to_decoder);
  framer.finish(to_decoder);
  to_decoder.decoder.finish(recorder);
  return point_views_at_copies(std::move(recorder.events));
}

std::vector<RecordedEvent> point_views_at_copies(std::vector<RecordedEvent> events) {
  for (RecordedEvent& recorded : events) {
    recorded.event.text = recorded.text;
    recorded.event.tool_name = recorded.tool_name;
    recorded.event.tool_arguments = recorded.tool_arguments;
    recorded.event.finish_reason = recorded.finish_reason;
  }
  return events;
}

}  // namespace zaiproxy::bench
