// L1: a provider's event decoder turns SSE `data` payloads into SourceEvents.
#pragma once

#include <string_view>

#include "zaiproxy/events.hpp"

namespace zaiproxy {

class EventDecoder {
 public:
  virtual ~EventDecoder() = default;
  // One SSE `data` payload. After an Error or End has been emitted, further input is ignored.
  virtual void feed(std::string_view data, SourceSink& sink) = 0;
  // End of input: emits End (an EOF is a normal end) unless an Error or End was emitted already.
  virtual void finish(SourceSink& sink) = 0;
  // True once Error or End has been emitted.
  virtual bool ended() const = 0;
};

}  // namespace zaiproxy
