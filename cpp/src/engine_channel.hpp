// What the engine thread and the readers share: the ready list behind the readers' wake fd, the
// command queue behind the engine's own, the counters, and each stream's state.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wake_fd.hpp"
#include "zaiproxy/engine.hpp"

namespace zaiproxy {

class Transfer;

struct EngineCounters {
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> cancelled{0};
  std::atomic<uint64_t> paused{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> bytes_delivered{0};
};

struct EngineCommand {
  enum class Kind : uint8_t { Start, Resume, Cancel };
  Kind kind;
  uint64_t stream_id = 0;
  std::unique_ptr<Transfer> transfer;  // Start only
};

// Owned jointly by the engine and every stream, so a stream outliving its engine stays safe.
class EngineChannel {
 public:
  explicit EngineChannel(EventBackend backend);
  EngineChannel(const EngineChannel&) = delete;
  EngineChannel& operator=(const EngineChannel&) = delete;

  // Readers' side: the fd that says some stream is ready, and the ids behind it.
  int ready_fd() const { return ready_.fd(); }
  void mark_ready(uint64_t stream_id);
  std::vector<uint64_t> take_ready();

  // Engine side: commands from any thread; the wake fd is readable while some are queued.
  int wake_fd() const { return wake_.fd(); }
  // Wakes the engine with no command (to see that it is stopping).
  void wake() const { wake_.signal(); }
  // False once closed: the command is dropped (the engine stopped).
  bool post(EngineCommand command);
  std::vector<EngineCommand> take_commands();
  void close();

  EngineCounters counters;

 private:
  WakeFd ready_;
  WakeFd wake_;
  std::mutex ready_mutex_;
  std::vector<uint64_t> ready_ids_;
  std::mutex command_mutex_;
  std::vector<EngineCommand> commands_;
  bool closed_ = false;
};

// One stream's state between the engine thread (producer) and its reader.
struct Stream::Shared {
  Shared(std::shared_ptr<EngineChannel> channel, uint64_t id, size_t capacity)
      : channel(std::move(channel)), id(id), capacity(capacity) {}

  // Producer: moves `output` to the reader (and the end, if `end`).
  void publish(std::string& output, bool end);
  // Producer: true (and the stream marked paused) when the reader is too far behind, counting
  // `pending` bytes not yet published.
  bool pause_if_full(size_t pending);
  void set_headers(int http_status, std::vector<std::pair<std::string, std::string>> headers);

  const std::shared_ptr<EngineChannel> channel;
  const uint64_t id;
  const size_t capacity;
  std::atomic<bool> cancel_requested{false};

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string ready;      // output the reader has not taken
  bool ended = false;     // the producer is done
  bool notified = false;  // on the ready list since the reader last took
  bool paused = false;    // the transfer waits for the reader
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  // The outcome, set with `ended`.
  std::optional<TransferFailure> failure;
  std::optional<StreamError> error;
  Usage usage;
  std::optional<FinishReason> finish_reason;
};

}  // namespace zaiproxy
