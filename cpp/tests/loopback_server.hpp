// A scripted HTTP/1.1 server on 127.0.0.1 for the engine's tests. One thread accepts, one thread
// per connection reads requests (head and Content-Length body, keep-alive) and answers each with
// the Response the test scripted: status, headers, body pieces with pauses between them, chunked
// or Content-Length framing, a drop of the connection before the end, a stall. Every request is
// recorded. Nothing waits forever: each pause watches the peer and the server's stop flag.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace zaiproxy::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (ASCII case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct ScriptedResponse {
  enum class Framing : uint8_t {
    ContentLength,  // the length of all pieces together
    Chunked,        // one chunk per piece
    UntilClose,     // no length: the body ends when the server closes
  };
  struct Piece {
    std::string bytes;
    std::chrono::milliseconds delay{0};  // before this piece
  };

  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<Piece> pieces;
  Framing framing = Framing::ContentLength;
  std::chrono::milliseconds head_delay{0};  // before the status line
  // Drop the connection after this many pieces, before the body is complete.
  std::optional<size_t> disconnect_after;
  // Stay silent this long after the pieces (before the body ends or the connection drops).
  std::chrono::milliseconds stall{0};

  ScriptedResponse& add(std::string bytes, std::chrono::milliseconds delay = {}) {
    pieces.push_back({std::move(bytes), delay});
    return *this;
  }
  std::string body() const;
};

class LoopbackServer {
 public:
  using Handler = std::function<ScriptedResponse(const RecordedRequest&)>;

  LoopbackServer();
  ~LoopbackServer();  // stops every pause and joins every thread
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url(std::string_view target = "/") const;

  // Answers requests in order; a request with nothing queued gets `handler`, or else a 404.
  void enqueue(ScriptedResponse response);
  void set_handler(Handler handler);

  std::vector<RecordedRequest> requests() const;
  // Blocks until `count` requests arrived; false on timeout.
  bool wait_for_requests(size_t count, std::chrono::milliseconds timeout) const;
  // Connections the client closed while the server was still answering (a pause or a stall).
  size_t clients_gone() const;
  bool wait_for_clients_gone(size_t count, std::chrono::milliseconds timeout) const;
  size_t connections() const;

 private:
  void accept_loop();
  void serve(int fd);
  ScriptedResponse response_for(const RecordedRequest& request);
  // Sends `bytes` entirely; false when the peer is gone or the server stops.
  bool send_all(int fd, std::string_view bytes);
  // Stays silent for `duration`; false (and the client counted as gone) when the peer closed.
  bool pause(int fd, std::chrono::milliseconds duration);
  void note_client_gone();

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::thread> workers_;
  std::deque<ScriptedResponse> queue_;
  Handler handler_;
  std::vector<RecordedRequest> requests_;
  size_t clients_gone_ = 0;
  size_t connections_ = 0;
};

}  // namespace zaiproxy::testing
