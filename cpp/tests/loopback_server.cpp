#include "loopback_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace zaiproxy::testing {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kSlice{10};  // how often waits look at the stop flag
constexpr size_t kMaxHead = 64 * 1024;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

// Parses a request head (without the blank line); false when it is not HTTP/1.x.
bool parse_head(std::string_view head, RecordedRequest& request) {
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t first = line.find(' ');
  const size_t second = line.rfind(' ');
  if (first == std::string_view::npos || second == first) return false;
  request.method = std::string(line.substr(0, first));
  request.target = std::string(line.substr(first + 1, second - first - 1));
  if (line.substr(second + 1).rfind("HTTP/1.", 0) != 0) return false;
  size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view field = head.substr(at, end - at);
    const size_t colon = field.find(':');
    if (colon != std::string_view::npos)
      request.headers.emplace_back(std::string(trim(field.substr(0, colon))),
                                   std::string(trim(field.substr(colon + 1))));
    at = end + 2;
  }
  return true;
}

}  // namespace

const std::string* RecordedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return &value;
  return nullptr;
}

std::string ScriptedResponse::body() const {
  std::string all;
  for (const Piece& piece : pieces) all += piece.bytes;
  return all;
}

LoopbackServer::LoopbackServer() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int on = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listen_fd_, 256) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("cannot listen: ") + std::strerror(errno));
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::~LoopbackServer() {
  stopping_.store(true);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
  ::close(listen_fd_);
}

std::string LoopbackServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

void LoopbackServer::enqueue(ScriptedResponse response) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(response));
}

void LoopbackServer::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

std::vector<RecordedRequest> LoopbackServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool LoopbackServer::wait_for_requests(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

size_t LoopbackServer::clients_gone() const {
  std::lock_guard lock(mutex_);
  return clients_gone_;
}

bool LoopbackServer::wait_for_clients_gone(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return clients_gone_ >= count; });
}

size_t LoopbackServer::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

void LoopbackServer::accept_loop() {
  while (!stopping_.load()) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (poll(&waiting, 1, static_cast<int>(kSlice.count())) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    ++connections_;
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

ScriptedResponse LoopbackServer::response_for(const RecordedRequest& request) {
  std::lock_guard lock(mutex_);
  requests_.push_back(request);
  changed_.notify_all();
  if (!queue_.empty()) {
    ScriptedResponse next = std::move(queue_.front());
    queue_.pop_front();
    return next;
  }
  if (handler_) return handler_(request);
  ScriptedResponse missing;
  missing.status = 404;
  missing.add("no response scripted for " + request.target);
  return missing;
}

void LoopbackServer::serve(int fd) {
  std::string buffer;
  char chunk[16 * 1024];
  // Reads until `buffer` holds `size` bytes; false when the peer closed or the server stops.
  auto fill = [&](size_t size) {
    while (buffer.size() < size) {
      pollfd waiting{fd, POLLIN, 0};
      if (stopping_.load()) return false;
      if (poll(&waiting, 1, static_cast<int>(kSlice.count())) <= 0) continue;
      const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
      if (got <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(got));
    }
    return true;
  };
  while (!stopping_.load()) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > kMaxHead || !fill(buffer.size() + 1)) return (void)::close(fd);
    }
    RecordedRequest request;
    if (!parse_head(std::string_view(buffer).substr(0, head_end), request))
      return (void)::close(fd);
    buffer.erase(0, head_end + 4);
    size_t length = 0;
    if (const std::string* content_length = request.header("Content-Length"))
      length = std::stoul(*content_length);
    if (!fill(length)) return (void)::close(fd);
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);

    const ScriptedResponse response = response_for(request);
    using Framing = ScriptedResponse::Framing;
    const bool closes = response.framing == Framing::UntilClose || response.disconnect_after;
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                       reason_phrase(response.status) + "\r\n";
    for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
    if (response.framing == Framing::ContentLength)
      head += "Content-Length: " + std::to_string(response.body().size()) + "\r\n";
    if (response.framing == Framing::Chunked) head += "Transfer-Encoding: chunked\r\n";
    if (closes) head += "Connection: close\r\n";
    head += "\r\n";

    bool alive = pause(fd, response.head_delay) && send_all(fd, head);
    const size_t sent_pieces = response.disconnect_after.value_or(response.pieces.size());
    for (size_t i = 0; alive && i < response.pieces.size() && i < sent_pieces; ++i) {
      const ScriptedResponse::Piece& piece = response.pieces[i];
      alive = pause(fd, piece.delay);
      if (!alive || piece.bytes.empty()) continue;
      if (response.framing == Framing::Chunked) {
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.bytes.size());
        alive = send_all(fd, std::string(size) + piece.bytes + "\r\n");
      } else {
        alive = send_all(fd, piece.bytes);
      }
    }
    alive = alive && pause(fd, response.stall);
    if (alive && !response.disconnect_after && response.framing == Framing::Chunked)
      alive = send_all(fd, "0\r\n\r\n");
    if (!alive || closes) break;
  }
  ::close(fd);
}

bool LoopbackServer::send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    if (stopping_.load()) return false;
    pollfd waiting{fd, POLLOUT, 0};
    if (poll(&waiting, 1, static_cast<int>(kSlice.count())) <= 0) continue;
    const ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      note_client_gone();
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool LoopbackServer::pause(int fd, std::chrono::milliseconds duration) {
  const Clock::time_point until = Clock::now() + duration;
  while (Clock::now() < until) {
    if (stopping_.load()) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    pollfd waiting{fd, POLLRDHUP, 0};
    const int timeout = static_cast<int>(std::min(left, kSlice).count()) + 1;
    if (poll(&waiting, 1, timeout) > 0 && (waiting.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      note_client_gone();
      return false;
    }
  }
  return true;
}

void LoopbackServer::note_client_gone() {
  std::lock_guard lock(mutex_);
  ++clients_gone_;
  changed_.notify_all();
}

}  // namespace zaiproxy::testing
