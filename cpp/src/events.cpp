#include "zaiproxy/events.hpp"

namespace zaiproxy {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::ToolCalls:
      return "tool_calls";
    case FinishReason::ContentFilter:
      return "content_filter";
  }
  return "stop";
}

const char* stream_error_origin_name(StreamError::Origin origin) {
  switch (origin) {
    case StreamError::Origin::Upstream:
      return "upstream";
    case StreamError::Origin::Protocol:
      return "protocol";
    case StreamError::Origin::Transport:
      return "transport";
  }
  return "upstream";
}

}  // namespace zaiproxy
