#include "engine_channel.hpp"

#include "transfer.hpp"

namespace zaiproxy {

EngineChannel::EngineChannel(EventBackend backend) : ready_(backend), wake_(backend) {}

void EngineChannel::mark_ready(uint64_t stream_id) {
  bool first;
  {
    std::lock_guard lock(ready_mutex_);
    first = ready_ids_.empty();
    ready_ids_.push_back(stream_id);
  }
  // One write per batch: the reader drains the whole list on one wake-up.
  if (first) ready_.signal();
}

std::vector<uint64_t> EngineChannel::take_ready() {
  ready_.drain();
  std::vector<uint64_t> ids;
  std::lock_guard lock(ready_mutex_);
  ids.swap(ready_ids_);
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
  if (first) wake_.signal();
  return true;
}

std::vector<EngineCommand> EngineChannel::take_commands() {
  wake_.drain();
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
