// The z.ai decoder's output for a benchmark stream, decoded once up front and owned, so that the
// later stages can be timed alone on it.
#pragma once

#include <string>
#include <vector>

#include "streams.hpp"
#include "zaiproxy/events.hpp"

namespace zaiproxy::bench {

// A SourceEvent whose views point at its own copies (after point_views_at_copies).
struct RecordedEvent {
  SourceEvent event;
  std::string text;
  std::string tool_name;
  std::string tool_arguments;
  std::string finish_reason;
};

// Frames and decodes `stream`; the returned events' views are valid.
std::vector<RecordedEvent> record_decoded(const SyntheticStream& stream);

// Re-points every event's views at its copies: needed again after the vector was changed.
std::vector<RecordedEvent> point_views_at_copies(std::vector<RecordedEvent> events);

}  // namespace zaiproxy::bench
