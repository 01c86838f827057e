// A file descriptor that turns readable when signalled and stays so until drained: how the engine
// thread and the readers (poll, asyncio's add_reader) wake each other. Linux has eventfd; other
// POSIX systems (macOS) use a self-pipe, which the Portable backend also picks on Linux for tests.
#pragma once

#include "zaiproxy/engine.hpp"

namespace zaiproxy {

class WakeFd {
 public:
  explicit WakeFd(EventBackend backend);
  ~WakeFd();
  WakeFd(const WakeFd&) = delete;
  WakeFd& operator=(const WakeFd&) = delete;

  int fd() const { return read_fd_; }
  // Safe from any thread, any number of times: one drain clears them all.
  void signal() const;
  void drain() const;

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;  // the same as read_fd_ for an eventfd
};

}  // namespace zaiproxy
