#include "poller.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>

#if defined(__linux__)
#include <sys/epoll.h>
#endif

namespace zaiproxy {

namespace {

#if defined(__linux__)
class EpollPoller final : public Poller {
 public:
  EpollPoller() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
  }
  ~EpollPoller() override { close(epoll_fd_); }

  void watch(int fd, bool readable, bool writable) override {
    epoll_event event{};
    event.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT)
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }

  void forget(int fd) override { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

  void wait(int timeout_ms, std::vector<PollEvent>& ready) override {
    const int count = epoll_wait(epoll_fd_, events_, kBatch, timeout_ms);
    ready.clear();
    for (int i = 0; i < count; ++i) {
      const uint32_t got = events_[i].events;
      ready.push_back({events_[i].data.fd, (got & (EPOLLIN | EPOLLHUP)) != 0, (got & EPOLLOUT) != 0,
                       (got & EPOLLERR) != 0});
    }
  }

 private:
  static constexpr int kBatch = 256;
  int epoll_fd_;
  epoll_event events_[kBatch];
};
#endif

// poll(2) over every watched fd: a wait costs in the open sockets, which a desktop's share of
// streams affords.
class PortablePoller final : public Poller {
 public:
  void watch(int fd, bool readable, bool writable) override {
    const short wanted = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
    if (auto it = index_.find(fd); it != index_.end()) {
      fds_[it->second].events = wanted;
      return;
    }
    index_.emplace(fd, fds_.size());
    fds_.push_back({fd, wanted, 0});
  }

  void forget(int fd) override {
    const auto it = index_.find(fd);
    if (it == index_.end()) return;
    // The last entry takes the freed slot, so the array stays dense.
    const size_t slot = it->second;
    index_.erase(it);
    if (slot != fds_.size() - 1) {
      fds_[slot] = fds_.back();
      index_[fds_[slot].fd] = slot;
    }
    fds_.pop_back();
  }

  void wait(int timeout_ms, std::vector<PollEvent>& ready) override {
    ready.clear();
    if (poll(fds_.data(), static_cast<nfds_t>(fds_.size()), timeout_ms) <= 0) return;
    for (const pollfd& entry : fds_) {
      if (entry.revents == 0) continue;
      ready.push_back({entry.fd, (entry.revents & (POLLIN | POLLHUP)) != 0,
                       (entry.revents & POLLOUT) != 0,
                       (entry.revents & (POLLERR | POLLNVAL)) != 0});
    }
  }

 private:
  std::vector<pollfd> fds_;
  std::unordered_map<int, size_t> index_;
};

}  // namespace

std::unique_ptr<Poller> Poller::create(EventBackend backend) {
#if defined(__linux__)
  if (backend == EventBackend::Native) return std::make_unique<EpollPoller>();
#else
  (void)backend;
#endif
  return std::make_unique<PortablePoller>();
}

}  // namespace zaiproxy
