#include "zaiproxy/response_tracker.hpp"

#include <chrono>
#include <utility>

namespace zaiproxy {

namespace {

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ResponseTracker::ResponseTracker(ResponseInfo info, std::string_view id_prefix)
    : info_(std::move(info)) {
  if (info_.id.empty()) info_.id = random_id(id_prefix);
  if (info_.created == 0) info_.created = unix_seconds_now();
}

bool ResponseTracker::admit_other(const ResponseEvent& event) {
  switch (event.kind) {
    case ResponseEvent::Kind::Usage:
      if (!event.usage.empty()) usage_ = event.usage;
      return false;
    case ResponseEvent::Kind::UpstreamTool:  // the ToolDetector's input, never the client's
      return false;
    case ResponseEvent::Kind::Error:
    case ResponseEvent::Kind::Finish:
      ended_ = true;
      return true;
    case ResponseEvent::Kind::Reasoning:
    case ResponseEvent::Kind::Text:
    case ResponseEvent::Kind::ToolCall:
      return true;
  }
  return true;
}

bool ResponseTracker::admit_implicit_finish() {
  if (ended_) return false;
  ended_ = true;
  return true;
}

const StreamError& error_of(const ResponseEvent& event) {
  static const StreamError kUnspecified{StreamError::Origin::Upstream, "", false, "upstream error",
                                        502};
  return event.error != nullptr ? *event.error : kUnspecified;
}

}  // namespace zaiproxy
