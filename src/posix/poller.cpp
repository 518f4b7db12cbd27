// Poller on Linux: epoll, level-triggered, plus an eventfd for cross-thread wake-ups.
#include "internal/poller.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "childproc/error.hpp"

namespace childproc::detail {

namespace {

std::uint32_t to_epoll(unsigned interest) {
  std::uint32_t e = 0;
  if (interest & kIoReadable) e |= EPOLLIN;
  if (interest & kIoWritable) e |= EPOLLOUT;
  return e;
}

unsigned from_epoll(std::uint32_t e) {
  unsigned out = 0;
  if (e & (EPOLLIN | EPOLLPRI)) out |= kIoReadable;
  if (e & EPOLLOUT) out |= kIoWritable;
  if (e & (EPOLLHUP | EPOLLRDHUP)) out |= kIoHangup;
  if (e & EPOLLERR) out |= kIoError;
  return out;
}

}  // namespace

Poller::Poller() {
  poll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!poll_fd_) throw SystemError(make_system_error(errno, "epoll_create1"));
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) throw SystemError(make_system_error(errno, "eventfd"));
  if (int err = add(wake_fd_.get(), kIoReadable, kWakeKey))
    throw SystemError(make_system_error(err, "epoll_ctl"));
}

int Poller::add(int fd, unsigned interest, std::uint64_t key) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = key;
  return epoll_ctl(poll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

int Poller::modify(int fd, unsigned interest, std::uint64_t key) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = key;
  return epoll_ctl(poll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
}

void Poller::remove(int fd) {
  epoll_ctl(poll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

std::size_t Poller::wait(Ready* out, std::size_t capacity, int timeout_ms) {
  epoll_event events[64];
  int max = static_cast<int>(capacity < 64 ? capacity : 64);
  int n = epoll_wait(poll_fd_.get(), events, max, timeout_ms);
  if (n < 0) return 0;  // EINTR: the caller simply iterates again
  for (int i = 0; i < n; ++i) {
    out[i].key = events[i].data.u64;
    out[i].events = from_epoll(events[i].events);
    if (out[i].key == kWakeKey) {
      std::uint64_t count;
      while (read(wake_fd_.get(), &count, sizeof count) > 0) {
      }
    }
  }
  return static_cast<std::size_t>(n);
}

void Poller::wake() {
  std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is already due to wake.
  [[maybe_unused]] ssize_t r = write(wake_fd_.get(), &one, sizeof one);
}

int wait_for_io(IoWait* entries, std::size_t count, int timeout_ms) {
  constexpr std::size_t kOnStack = 8;  // the child's pidfd and its pipes: almost always enough
  pollfd stack[kOnStack];
  std::vector<pollfd> heap;
  pollfd* fds = stack;
  if (count > kOnStack) {
    heap.resize(count);
    fds = heap.data();
  }
  for (std::size_t i = 0; i < count; ++i) {
    short want = 0;
    if (entries[i].interest & kIoReadable) want |= POLLIN;
    if (entries[i].interest & kIoWritable) want |= POLLOUT;
    fds[i] = {entries[i].fd, want, 0};
  }
  int rc = poll(fds, count, timeout_ms);
  if (rc < 0) return errno == EINTR ? 0 : -errno;
  for (std::size_t i = 0; i < count; ++i) {
    unsigned got = 0;
    if (fds[i].revents & POLLIN) got |= kIoReadable;
    if (fds[i].revents & POLLOUT) got |= kIoWritable;
    if (fds[i].revents & POLLHUP) got |= kIoHangup;
    if (fds[i].revents & (POLLERR | POLLNVAL)) got |= kIoError;
    entries[i].ready = got;
  }
  return rc;
}

}  // namespace childproc::detail
