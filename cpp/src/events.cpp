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

}  // namespace zaiproxy
