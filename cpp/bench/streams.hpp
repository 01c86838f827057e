// Realistic chat.z.ai response bodies for the benchmarks, built the way upstream sends them:
// one small token-sized delta per event (`data: {…}\n\n`), mixed CJK and ASCII text.
#pragma once

#include <string>

namespace zaiproxy::bench {

struct SyntheticStream {
  std::string bytes;
  size_t events = 0;
};

// `answer_events` answer deltas, then usage and done.
SyntheticStream answer_stream(size_t answer_events);

// A 2026-format reasoning block of `thinking_events` quoted deltas, the closing snapshot edit,
// `answer_events` answer deltas, usage and done.
SyntheticStream thinking_stream(size_t thinking_events, size_t answer_events);

}  // namespace zaiproxy::bench
