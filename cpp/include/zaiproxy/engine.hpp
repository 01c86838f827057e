// The upstream engine: one thread per process running a libcurl multi handle. Upstream bytes go
// from curl's write callback straight into the stream's Pipeline; the output waits in a bounded
// per-stream buffer until its reader takes it. Readers learn that something is ready from an
// file descriptor (asyncio: one add_reader for the whole process) or by blocking on the stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "zaiproxy/events.hpp"
#include "zaiproxy/http.hpp"
#include "zaiproxy/pipeline.hpp"

namespace zaiproxy {

// How the engine waits on its sockets and wakes its readers. Native: epoll and eventfd on Linux.
// Portable: poll() and a self-pipe, what other POSIX systems (macOS) get; on Linux it exists so
// that the tests run the engine through it too.
enum class EventBackend : uint8_t { Native, Portable };

struct EngineOptions {
  // Output held for a slow reader before the transfer pauses (and resumes at half of it).
  size_t stream_buffer_bytes = 256 * 1024;
  std::chrono::milliseconds connect_timeout{10'000};
  // From the start of the request to the first response byte (status line included).
  std::chrono::milliseconds first_byte_timeout{90'000};
  // Longest silence of the upstream once the response started (not counted while paused).
  std::chrono::milliseconds idle_timeout{120'000};
  // A proxy URL as curl takes it (http://, https://, socks5h://); empty: direct.
  std::string proxy;
  std::string no_proxy;  // comma-separated hosts that bypass the proxy
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's store
  // curl's receive buffer per transfer: the largest piece of body handed over in one callback.
  // curl's minimum. Upstream events arrive one or a few per read, so a larger buffer buys little
  // (a bulk benchmark stream: 10% CPU at 2 KiB) and an idle stream is 1 KiB smaller (bench/).
  long receive_buffer_bytes = 1024;
  EventBackend event_backend = EventBackend::Native;
};

// Why a stream produced no response: reported instead of any output byte, so that the caller can
// retry with another identity or answer with a real HTTP error.
struct TransferFailure {
  enum class Kind : uint8_t {
    Http,       // the upstream answered with a non-2xx status
    InStream,   // the upstream's stream carried an error before any content
    Connect,    // no connection (refused, DNS, proxy, TLS handshake)
    Timeout,    // connect, first byte or idle timeout
    Network,    // the connection broke (reset, truncated response)
    Cancelled,  // the reader cancelled, or the engine stopped
  };
  Kind kind = Kind::Network;
  int http_status = 502;  // the upstream's status for Http; a status to answer with otherwise
  std::string code;       // in-stream code, or curl's error name
  std::string message;    // what happened, with the profile setting to update where one applies
  std::string body;       // Http: the start of the upstream's error body
};

const char* transfer_failure_kind_name(TransferFailure::Kind kind);

struct EngineStats {
  uint64_t active = 0;
  uint64_t opened = 0;
  uint64_t completed = 0;  // ended with a response (possibly carrying an in-band error)
  uint64_t failed = 0;     // ended with a TransferFailure other than Cancelled
  uint64_t cancelled = 0;
  uint64_t paused = 0;  // times a transfer paused because its reader was slow
  uint64_t bytes_received = 0;
  uint64_t bytes_delivered = 0;
  double cpu_seconds = 0;  // CPU time of the engine thread
};

class Engine;

// One request in flight. Shared by the engine thread (producer) and one reader.
class Stream {
 public:
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  uint64_t id() const { return id_; }

  // The state shared with the engine thread; defined in the engine's sources.
  struct Shared;

  // Moves all ready output to `out`; true once the stream is over and nothing is left to take.
  bool take(std::string& out);
  // Blocks until take() has something new or the stream is over; false on timeout.
  bool wait(std::chrono::milliseconds timeout);
  // Stops the transfer and frees its resources; the stream ends as Cancelled. Idempotent.
  void cancel();

  // The response status (0 until the headers arrived) and headers.
  int status() const;
  std::vector<std::pair<std::string, std::string>> response_headers() const;
  // Set when the stream ended without delivering any output.
  std::optional<TransferFailure> failure() const;
  // What the Pipeline saw, valid once the stream is over (empty for raw streams).
  std::optional<StreamError> error() const;
  Usage usage() const;
  std::optional<FinishReason> finish_reason() const;

 private:
  friend class Engine;
  Stream(uint64_t id, std::shared_ptr<Shared> shared);

  uint64_t id_;
  std::shared_ptr<Shared> shared_;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  // Stops the thread: streams still running end as Cancelled.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts `request`. With `pipeline` the body runs through a Pipeline built from it and only a
  // 2xx response produces output; without, the body bytes are the output, whatever the status.
  // The engine thread starts on the first call.
  std::shared_ptr<Stream> open(HttpRequest request, std::optional<PipelineOptions> pipeline);

  // Readable when some stream has something new for its reader (new output, or its end).
  int ready_fd() const;
  // Drains the eventfd; returns the ids of the streams that became ready since the last call.
  std::vector<uint64_t> take_ready();

  EngineStats stats() const;
  const EngineOptions& options() const;
  // Cancels every stream and joins the thread. Idempotent; open() afterwards throws.
  void stop();

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace zaiproxy
