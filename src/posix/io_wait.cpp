// spawn_sync's private wait: one poll() over the child's exit handle and its pipes, on every
// POSIX backend.
#include <poll.h>

#include <cerrno>
#include <vector>

#include "internal/poller.hpp"

namespace childproc::detail {

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
