// POSIX stdio pipes. stdout/stderr are real pipes (grown with F_SETPIPE_SZ on demand later for
// throughput); stdin and extra fds are socket pairs, as libuv makes them, so that the parent can
// write with MSG_NOSIGNAL and never take a process-wide SIGPIPE.
#include "internal/pipe.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace childproc::detail {

void close_descriptor(int fd) noexcept {
  // Linux releases the descriptor even when close() reports EINTR: never retry.
  ::close(fd);
}

namespace {

int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errno;
  return 0;
}

}  // namespace

int make_pipe(PipeDirection direction, PipePair& out) {
  int fds[2];
  // fds[0] is the parent's end: the read end of a pipe, either end of a socket pair.
  int rc = direction == PipeDirection::kFromChild
               ? pipe2(fds, O_CLOEXEC)
               : socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
  if (rc != 0) return errno;
  out.parent.reset(fds[0]);
  out.child.reset(fds[1]);
  return set_nonblocking(out.parent.get());
}

ssize_t read_some(int fd, char* buf, std::size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

ssize_t write_some(int fd, const char* buf, std::size_t size) {
  for (;;) {
    ssize_t n = ::send(fd, buf, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != ENOTSOCK) return -errno;
    // Not a socket (a descriptor passed in by the user): plain write.
    n = ::write(fd, buf, size);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

int shutdown_write(int fd) {
  return ::shutdown(fd, SHUT_WR) == 0 ? 0 : errno;
}

}  // namespace childproc::detail
