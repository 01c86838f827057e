#include "engine_channel.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "transfer.hpp"

namespace zaiproxy {

namespace {

int make_eventfd() {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  return fd;
}

void signal_eventfd(int fd) {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the fd is readable anyway.
  [[maybe_unused]] ssize_t written = write(fd, &one, sizeof one);
}

void drain_eventfd(int fd) {
  uint64_t count;
  [[maybe_unused]] ssize_t got = read(fd, &count, sizeof count);
}

}  // namespace

EngineChannel::EngineChannel() : ready_fd_(make_eventfd()), wake_fd_(make_eventfd()) {}

EngineChannel::~EngineChannel() {
  ::close(ready_fd_);
  ::close(wake_fd_);
}

void EngineChannel::mark_ready(uint64_t stream_id) {
  bool first;
  {
    std::lock_guard lock(ready_mutex_);
    first = ready_.empty();
    ready_.push_back(stream_id);
  }
  // One write per batch: the reader drains the whole list on one wake-up.
  if (first) signal_eventfd(ready_fd_);
}

std::vector<uint64_t> EngineChannel::take_ready() {
  drain_eventfd(ready_fd_);
  std::vector<uint64_t> ids;
  std::lock_guard lock(ready_mutex_);
  ids.swap(ready_);
  return ids;
}

bool EngineChannel::post(EngineCommand command) {
  bool first;
  {
    std::lock_guard lock(command_mutex_);
    if (closed_) return false;
    first = commands_.empty();
    commands_.push_back(std::move(command));
  }
  if (first) signal_eventfd(wake_fd_);
  return true;
}

std::vector<EngineCommand> EngineChannel::take_commands() {
  drain_eventfd(wake_fd_);
  std::vector<EngineCommand> commands;
  std::lock_guard lock(command_mutex_);
  commands.swap(commands_);
  return commands;
}

void EngineChannel::close() {
  std::vector<EngineCommand> dropped;
  {
    std::lock_guard lock(command_mutex_);
    closed_ = true;
    dropped.swap(commands_);
  }
  // Transfers that never started end here, outside the lock (ending them takes stream locks).
  for (EngineCommand& command : dropped) {
    if (command.transfer) command.transfer->abandon();
  }
}

void Stream::Shared::publish(std::string& output, bool end) {
  bool notify;
  {
    std::lock_guard lock(mutex);
    if (ready.empty()) {
      ready.swap(output);
    } else {
      ready.append(output);
    }
    output.clear();
    ended = ended || end;
    notify = !notified;
    notified = true;
  }
  if (notify) channel->mark_ready(id);
  changed.notify_all();
}

bool Stream::Shared::pause_if_full(size_t pending) {
  std::lock_guard lock(mutex);
  if (ready.size() + pending < capacity) return false;
  paused = true;
  return true;
}

void Stream::Shared::set_headers(
    int http_status, std::vector<std::pair<std::string, std::string>> response_headers) {
  std::lock_guard lock(mutex);
  status = http_status;
  headers = std::move(response_headers);
}

}  // namespace zaiproxy
