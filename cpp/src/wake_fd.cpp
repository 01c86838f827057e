#include "wake_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <sys/eventfd.h>
#endif

namespace zaiproxy {

namespace {

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

void make_nonblocking_cloexec(int fd) {
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
    fail("fcntl");
}

}  // namespace

WakeFd::WakeFd(EventBackend backend) {
#if defined(__linux__)
  if (backend == EventBackend::Native) {
    read_fd_ = write_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (read_fd_ < 0) fail("eventfd");
    return;
  }
#else
  (void)backend;
#endif
  int ends[2];
  if (pipe(ends) != 0) fail("pipe");
  read_fd_ = ends[0];
  write_fd_ = ends[1];
  try {
    make_nonblocking_cloexec(read_fd_);
    make_nonblocking_cloexec(write_fd_);
  } catch (...) {
    ::close(read_fd_);
    ::close(write_fd_);
    throw;
  }
}

WakeFd::~WakeFd() {
  ::close(read_fd_);
  if (write_fd_ != read_fd_) ::close(write_fd_);
}

void WakeFd::signal() const {
  // An eventfd adds 8 bytes to its counter; a pipe takes them as data. EAGAIN (a saturated counter,
  // a full pipe) means the fd is readable already.
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t written = write(write_fd_, &one, sizeof one);
}

void WakeFd::drain() const {
  // One read empties an eventfd; a pipe may hold many signals.
  uint64_t buffer[64];
  while (read(read_fd_, buffer, sizeof buffer) == static_cast<ssize_t>(sizeof buffer)) {
  }
}

}  // namespace zaiproxy
