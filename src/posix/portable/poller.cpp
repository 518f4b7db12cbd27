// Poller on any POSIX system: poll() over an array rebuilt only when the watched set changes,
// plus a self-pipe for cross-thread wake-ups. O(watched) per wait, which is what a loop with a
// handful of children and their pipes needs; Linux gets epoll from the other backend.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "childproc/error.hpp"
#include "internal/poller.hpp"
#include "spawn_child.hpp"

namespace childproc::detail {

struct PollSet {
  std::vector<pollfd> fds;                     // fds[0] is the wake pipe's read end
  std::vector<std::uint64_t> keys;             // parallel to fds
  std::unordered_map<int, std::size_t> index;  // descriptor -> position in fds
  UniqueHandle wake_read, wake_write;
  std::size_t next_first = 1;  // where the next report starts, so no descriptor is starved
};

void PollSetDeleter::operator()(PollSet* set) const noexcept {
  delete set;
}

namespace {

short to_poll(unsigned interest) {
  short e = 0;
  if (interest & kIoReadable) e |= POLLIN;
  if (interest & kIoWritable) e |= POLLOUT;
  return e;
}

unsigned from_poll(short e) {
  unsigned out = 0;
  if (e & (POLLIN | POLLPRI)) out |= kIoReadable;
  if (e & POLLOUT) out |= kIoWritable;
  if (e & POLLHUP) out |= kIoHangup;
  if (e & (POLLERR | POLLNVAL)) out |= kIoError;
  return out;
}

}  // namespace

Poller::Poller() {
  state_.set.reset(new PollSet);
  PollSet& set = *state_.set;
  if (int err = posix::make_cloexec_pipe(set.wake_read, set.wake_write, true))
    throw SystemError(make_system_error(err, "pipe"));
  set.fds.push_back({set.wake_read.get(), POLLIN, 0});
  set.keys.push_back(kWakeKey);
}

int Poller::fd() const {
  return -1;
}

int Poller::add(int fd, unsigned interest, std::uint64_t key) {
  PollSet& set = *state_.set;
  if (fd < 0) return EBADF;
  if (!set.index.emplace(fd, set.fds.size()).second) return EEXIST;
  set.fds.push_back({fd, to_poll(interest), 0});
  set.keys.push_back(key);
  return 0;
}

int Poller::modify(int fd, unsigned interest, std::uint64_t key) {
  PollSet& set = *state_.set;
  auto it = set.index.find(fd);
  if (it == set.index.end()) return ENOENT;
  set.fds[it->second].events = to_poll(interest);
  set.keys[it->second] = key;
  return 0;
}

void Poller::remove(int fd) {
  PollSet& set = *state_.set;
  auto it = set.index.find(fd);
  if (it == set.index.end()) return;
  // Swap with the last entry: order does not matter, removal stays O(1).
  std::size_t pos = it->second;
  std::size_t last = set.fds.size() - 1;
  if (pos != last) {
    set.fds[pos] = set.fds[last];
    set.keys[pos] = set.keys[last];
    set.index[set.fds[pos].fd] = pos;
  }
  set.fds.pop_back();
  set.keys.pop_back();
  set.index.erase(it);
}

std::size_t Poller::wait(Ready* out, std::size_t capacity, int timeout_ms) {
  PollSet& set = *state_.set;
  int n = ::poll(set.fds.data(), static_cast<nfds_t>(set.fds.size()), timeout_ms);
  if (n <= 0) return 0;  // timeout or EINTR: the caller simply iterates again
  std::size_t filled = 0;
  const std::size_t count = set.fds.size();
  // Report from a rotating start: with more ready descriptors than `capacity`, the ones left
  // out this time come first next time (poll is level-triggered, they are still ready).
  std::size_t first = set.next_first < count ? set.next_first : 0;
  for (std::size_t k = 0; k < count && filled < capacity; ++k) {
    std::size_t i = (first + k) % count;
    if (set.fds[i].revents == 0) continue;
    out[filled].key = set.keys[i];
    out[filled].events = from_poll(set.fds[i].revents);
    if (set.keys[i] == kWakeKey) {
      char drain[64];
      while (::read(set.wake_read.get(), drain, sizeof drain) > 0) {
      }
    }
    ++filled;
    set.next_first = i + 1;
  }
  return filled;
}

void Poller::wake() {
  char one = 1;
  // EAGAIN means the pipe is full: the loop is already due to wake.
  [[maybe_unused]] ssize_t r = ::write(state_.set->wake_write.get(), &one, 1);
}

}  // namespace childproc::detail
