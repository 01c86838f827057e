#include "zaiproxy/engine.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#if defined(__APPLE__)
#include <mach/mach.h>
#endif

#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "engine_channel.hpp"
#include "poller.hpp"
#include "transfer.hpp"
#include "transfer_failure.hpp"

namespace zaiproxy {

namespace {

using Clock = std::chrono::steady_clock;

// How often running transfers are checked against the first-byte and idle timeouts.
constexpr std::chrono::milliseconds kSweepInterval{250};

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

double seconds(const timespec& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) / 1e9;
}

// The CPU time of another thread, for stats(); 0 if the system will not say.
double thread_cpu_seconds(pthread_t thread) {
#if defined(__APPLE__)
  thread_basic_info_data_t info{};
  mach_msg_type_number_t count = THREAD_BASIC_INFO_COUNT;
  if (thread_info(pthread_mach_thread_np(thread), THREAD_BASIC_INFO,
                  reinterpret_cast<thread_info_t>(&info), &count) != KERN_SUCCESS)
    return 0;
  return info.user_time.seconds + info.system_time.seconds +
         (info.user_time.microseconds + info.system_time.microseconds) / 1e6;
#else
  clockid_t clock;
  timespec used{};
  if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &used) != 0) return 0;
  return seconds(used);
#endif
}

// Named, so that top -H and /proc/<pid>/task show the engine's CPU apart from Python's. Called on
// the engine thread itself: macOS names only the calling thread.
void name_this_thread(const char* name) {
#if defined(__APPLE__)
  pthread_setname_np(name);
#else
  pthread_setname_np(pthread_self(), name);
#endif
}

}  // namespace

// The engine thread. curl's socket interface drives the transfers from one poller (epoll on
// Linux), so a wake-up costs work for the sockets that are ready only, however many streams are
// open; new work arrives through the channel's wake fd, which the same poller watches.
class Engine::Loop {
 public:
  explicit Loop(EngineOptions options)
      : options_(std::move(options)),
        channel_(std::make_shared<EngineChannel>(options_.event_backend)) {
    init_curl_once();
  }

  ~Loop() { stop(); }

  std::shared_ptr<Stream> open(HttpRequest request, std::optional<PipelineOptions> pipeline) {
    start_thread_once();
    const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    auto shared = std::make_shared<Stream::Shared>(channel_, id, options_.stream_buffer_bytes);
    auto transfer = std::make_unique<Transfer>(shared, std::move(request), std::move(pipeline),
                                               options_, pending_delivery_);
    channel_->counters.opened.fetch_add(1, std::memory_order_relaxed);
    channel_->counters.active.fetch_add(1, std::memory_order_relaxed);
    EngineCommand start{EngineCommand::Kind::Start, id, std::move(transfer)};
    if (!channel_->post(std::move(start))) {
      channel_->counters.active.fetch_sub(1, std::memory_order_relaxed);
      throw std::runtime_error("the engine is stopped");
    }
    return std::shared_ptr<Stream>(new Stream(id, std::move(shared)));
  }

  EngineChannel& channel() { return *channel_; }
  const EngineOptions& options() const { return options_; }

  double cpu_seconds() const {
    std::lock_guard lock(thread_mutex_);
    if (!thread_.joinable()) return final_cpu_seconds_;
    return thread_cpu_seconds(native_thread_);
  }

  void stop() {
    std::lock_guard lock(thread_mutex_);
    stopped_ = true;
    channel_->close();
    if (!thread_.joinable()) return;
    stopping_.store(true);
    // The wake fd may already be drained: post cannot reach a closed channel, so signal the fd.
    channel_->wake();
    thread_.join();
  }

 private:
  void start_thread_once() {
    std::lock_guard lock(thread_mutex_);
    if (stopped_) throw std::runtime_error("the engine is stopped");
    if (thread_.joinable()) return;
    multi_ = curl_multi_init();
    if (!multi_) throw std::runtime_error("cannot set up the engine");
    poller_ = Poller::create(options_.event_backend);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Loop::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Loop::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    poller_->watch(channel_->wake_fd(), true, false);
    thread_ = std::thread([this] { run(); });
    native_thread_ = thread_.native_handle();
  }

  void run() {
    name_this_thread("zaiproxy-engine");
    std::vector<PollEvent> ready;
    Clock::time_point next_sweep = Clock::now() + kSweepInterval;
    while (!stopping_.load(std::memory_order_relaxed)) {
      poller_->wait(wait_ms(next_sweep), ready);
      for (const PollEvent& event : ready) {
        if (event.fd == channel_->wake_fd()) {
          run_commands();
          continue;
        }
        int action = 0;
        if (event.readable) action |= CURL_CSELECT_IN;
        if (event.writable) action |= CURL_CSELECT_OUT;
        if (event.error) action |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, event.fd, action, &running_);
        deliver_pending();
      }
      const Clock::time_point now = Clock::now();
      if (timer_ && *timer_ <= now) {
        timer_.reset();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running_);
        deliver_pending();
      }
      collect_finished();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + kSweepInterval;
      }
    }
    shut_down();
  }

  int wait_ms(Clock::time_point next_sweep) const {
    Clock::time_point until = next_sweep;
    if (timer_ && *timer_ < until) until = *timer_;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left) + 1;  // +1: never wake just before the deadline
  }

  // Hands each transfer's output of the last socket read to its reader in one piece.
  void deliver_pending() {
    for (uint64_t id : pending_delivery_) {
      if (auto it = transfers_.find(id); it != transfers_.end()) it->second->deliver();
    }
    pending_delivery_.clear();
  }

  void run_commands() {
    for (EngineCommand& command : channel_->take_commands()) {
      switch (command.kind) {
        case EngineCommand::Kind::Start:
          start(std::move(command.transfer));
          break;
        case EngineCommand::Kind::Resume:
          if (auto it = transfers_.find(command.stream_id); it != transfers_.end()) {
            it->second->resume(Clock::now());  // curl may hand over the held-back data here
            deliver_pending();
          }
          break;
        case EngineCommand::Kind::Cancel:
          if (auto it = transfers_.find(command.stream_id); it != transfers_.end())
            finish(it, transfer_failure::cancelled("cancelled"));
          break;
      }
    }
  }

  void start(std::unique_ptr<Transfer> transfer) {
    Transfer& started = *transfer;
    started.started(Clock::now());
    const CURLMcode added = curl_multi_add_handle(multi_, started.easy());
    if (added != CURLM_OK) {
      TransferFailure failure = transfer_failure::from_curl(CURLE_FAILED_INIT, "");
      failure.message += std::string(" (") + curl_multi_strerror(added) + ")";
      started.aborted(failure);
      return;
    }
    transfers_.emplace(started.id(), std::move(transfer));
  }

  using TransferMap = std::unordered_map<uint64_t, std::unique_ptr<Transfer>>;

  // Ends a transfer the engine stops itself.
  void finish(TransferMap::iterator it, const TransferFailure& failure) {
    curl_multi_remove_handle(multi_, it->second->easy());
    it->second->aborted(failure);
    transfers_.erase(it);
  }

  void collect_finished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      void* owner = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &owner);
      Transfer* transfer = static_cast<Transfer*>(owner);
      const CURLcode result = message->data.result;
      curl_multi_remove_handle(multi_, transfer->easy());
      transfer->completed(result);
      transfers_.erase(transfer->id());
    }
  }

  void sweep(Clock::time_point now) {
    for (auto it = transfers_.begin(); it != transfers_.end();) {
      auto current = it++;
      if (auto failure = current->second->overdue(now)) finish(current, *failure);
    }
  }

  void shut_down() {
    while (!transfers_.empty()) finish(transfers_.begin(), transfer_failure::cancelled("stopped"));
    for (EngineCommand& command : channel_->take_commands()) {
      if (command.transfer) command.transfer->abandon();
    }
    {
      // cpu_seconds() holds thread_mutex_ only when not stopping; the value is read here, on the
      // thread itself, for after the join.
      timespec used{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
      final_cpu_seconds_ = seconds(used);
    }
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    poller_.reset();
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* self, void*) {
    Poller& poller = *static_cast<Loop*>(self)->poller_;
    if (what == CURL_POLL_REMOVE) {
      poller.forget(fd);
      return 0;
    }
    poller.watch(fd, what == CURL_POLL_IN || what == CURL_POLL_INOUT,
                 what == CURL_POLL_OUT || what == CURL_POLL_INOUT);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* self) {
    Loop& loop = *static_cast<Loop*>(self);
    if (timeout_ms < 0) {
      loop.timer_.reset();
    } else {
      loop.timer_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  const EngineOptions options_;
  const std::shared_ptr<EngineChannel> channel_;
  std::atomic<uint64_t> next_id_{1};

  mutable std::mutex thread_mutex_;
  std::thread thread_;
  pthread_t native_thread_{};
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  double final_cpu_seconds_ = 0;

  // Engine thread only.
  CURLM* multi_ = nullptr;
  std::unique_ptr<Poller> poller_;
  int running_ = 0;
  std::optional<Clock::time_point> timer_;
  TransferMap transfers_;
  std::vector<uint64_t> pending_delivery_;  // transfers with output since the last delivery
};

Stream::Stream(uint64_t id, std::shared_ptr<Shared> shared) : id_(id), shared_(std::move(shared)) {}

Stream::~Stream() { cancel(); }

bool Stream::take(std::string& out) {
  bool resume = false;
  bool over;
  {
    std::lock_guard lock(shared_->mutex);
    if (out.empty()) {
      out.swap(shared_->ready);
    } else {
      out.append(shared_->ready);
      shared_->ready.clear();
    }
    shared_->notified = false;
    if (shared_->paused) {
      shared_->paused = false;
      resume = !shared_->ended;
    }
    over = shared_->ended;
  }
  if (resume) shared_->channel->post({EngineCommand::Kind::Resume, id_, nullptr});
  return over;
}

bool Stream::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(shared_->mutex);
  return shared_->changed.wait_for(lock, timeout,
                                   [&] { return shared_->ended || !shared_->ready.empty(); });
}

void Stream::cancel() {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->ended) return;
  }
  if (shared_->cancel_requested.exchange(true)) return;
  shared_->channel->post({EngineCommand::Kind::Cancel, id_, nullptr});
}

int Stream::status() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->status;
}

std::vector<std::pair<std::string, std::string>> Stream::response_headers() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->headers;
}

std::optional<TransferFailure> Stream::failure() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->failure;
}

std::optional<StreamError> Stream::error() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->error;
}

Usage Stream::usage() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->usage;
}

std::optional<FinishReason> Stream::finish_reason() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->finish_reason;
}

Engine::Engine(EngineOptions options) : loop_(std::make_unique<Loop>(std::move(options))) {}
Engine::~Engine() = default;

std::shared_ptr<Stream> Engine::open(HttpRequest request, std::optional<PipelineOptions> pipeline) {
  return loop_->open(std::move(request), std::move(pipeline));
}

int Engine::ready_fd() const { return loop_->channel().ready_fd(); }
std::vector<uint64_t> Engine::take_ready() { return loop_->channel().take_ready(); }
const EngineOptions& Engine::options() const { return loop_->options(); }
void Engine::stop() { loop_->stop(); }

EngineStats Engine::stats() const {
  const EngineCounters& c = loop_->channel().counters;
  EngineStats stats;
  stats.active = c.active.load();
  stats.opened = c.opened.load();
  stats.completed = c.completed.load();
  stats.failed = c.failed.load();
  stats.cancelled = c.cancelled.load();
  stats.paused = c.paused.load();
  stats.bytes_received = c.bytes_received.load();
  stats.bytes_delivered = c.bytes_delivered.load();
  stats.cpu_seconds = loop_->cpu_seconds();
  return stats;
}

}  // namespace zaiproxy
