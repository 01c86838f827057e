// The bookkeeping every encoder shares: the response's identity, the latest usage and whether
// the response has ended.
#pragma once

#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/events.hpp"

namespace zaiproxy {

class ResponseTracker {
 public:
  // Fills in what `info` leaves open: the id (`id_prefix` + random characters) and `created`
  // (now), so that every chunk of one response carries the same values.
  ResponseTracker(ResponseInfo info, std::string_view id_prefix);

  const ResponseInfo& info() const { return info_; }
  // The latest non-empty usage the upstream reported; all zero if none.
  const Usage& usage() const { return usage_; }

  // Whether the encoder writes `event`. Usage is only remembered; UpstreamTool is never written
  // (the ToolDetector consumes it); Error and Finish end the response; nothing is written after
  // the end. Inline: it runs for every text event.
  bool admit(const ResponseEvent& event) {
    if (ended_) return false;
    if (event.kind == ResponseEvent::Kind::Text || event.kind == ResponseEvent::Kind::Reasoning)
      return true;
    return admit_other(event);
  }
  // Whether finish() has to write an implicit Finish(stop), i.e. no terminal event came yet.
  // Ends the response either way, so finish() is idempotent.
  bool admit_implicit_finish();

 private:
  // admit() for the kinds other than text: Usage, ToolCall, UpstreamTool, Error and Finish.
  bool admit_other(const ResponseEvent& event);

  ResponseInfo info_;
  Usage usage_;
  bool ended_ = false;
};

// The error of an Error event; a generic upstream error if the producer left it unset, so an
// encoder never dereferences null.
const StreamError& error_of(const ResponseEvent& event);

}  // namespace zaiproxy
