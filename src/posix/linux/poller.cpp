// Poller on Linux: epoll, level-triggered, plus an eventfd for cross-thread wake-ups.
#include "internal/poller.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

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

int Poller::fd() const {
  return state_.epoll.get();
}

Poller::Poller() {
  state_.epoll.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!state_.epoll) throw SystemError(make_system_error(errno, "epoll_create1"));
  state_.wake.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state_.wake) throw SystemError(make_system_error(errno, "eventfd"));
  if (int err = add(state_.wake.get(), kIoReadable, kWakeKey))
    throw SystemError(make_system_error(err, "epoll_ctl"));
}

int Poller::add(int fd, unsigned interest, std::uint64_t key) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = key;
  return epoll_ctl(state_.epoll.get(), EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

int Poller::modify(int fd, unsigned interest, std::uint64_t key) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = key;
  return epoll_ctl(state_.epoll.get(), EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
}

void Poller::remove(int fd) {
  epoll_ctl(state_.epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
}

std::size_t Poller::wait(Ready* out, std::size_t capacity, int timeout_ms) {
  epoll_event events[64];
  int max = static_cast<int>(capacity < 64 ? capacity : 64);
  int n = epoll_wait(state_.epoll.get(), events, max, timeout_ms);
  if (n < 0) return 0;  // EINTR: the caller simply iterates again
  for (int i = 0; i < n; ++i) {
    out[i].key = events[i].data.u64;
    out[i].events = from_epoll(events[i].events);
    if (out[i].key == kWakeKey) {
      std::uint64_t count;
      while (read(state_.wake.get(), &count, sizeof count) > 0) {
      }
    }
  }
  return static_cast<std::size_t>(n);
}

void Poller::wake() {
  std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is already due to wake.
  [[maybe_unused]] ssize_t r = write(state_.wake.get(), &one, sizeof one);
}

}  // namespace childproc::detail
