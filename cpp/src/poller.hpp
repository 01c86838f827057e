// Readiness of the engine's sockets: epoll on Linux (the cost of a wait follows the ready sockets,
// not the open ones), poll() elsewhere (macOS), or on Linux with the Portable backend for tests.
#pragma once

#include <memory>
#include <vector>

#include "zaiproxy/engine.hpp"

namespace zaiproxy {

struct PollEvent {
  int fd;
  bool readable;  // data, or the peer hung up
  bool writable;
  bool error;
};

class Poller {
 public:
  static std::unique_ptr<Poller> create(EventBackend backend);
  virtual ~Poller() = default;

  // Watches `fd` for what is asked (replacing what was asked before), or stops watching it.
  virtual void watch(int fd, bool readable, bool writable) = 0;
  virtual void forget(int fd) = 0;
  // Waits up to `timeout_ms` (0: just look) and replaces `ready` with what happened.
  virtual void wait(int timeout_ms, std::vector<PollEvent>& ready) = 0;
};

}  // namespace zaiproxy
