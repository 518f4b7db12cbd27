// POSIX stdio pipes, for both backends. stdout/stderr are real pipes (grown with F_SETPIPE_SZ
// where the system has it, when a child fills them); stdin and extra fds are socket pairs, as
// libuv makes them, so that the parent can write with MSG_NOSIGNAL (SO_NOSIGPIPE on systems
// without it) and never take a process-wide SIGPIPE.
#include "internal/pipe.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "descriptor_io.hpp"
#include "spawn_child.hpp"

namespace childproc::detail {

namespace {

#ifdef MSG_NOSIGNAL
constexpr int kNoSigpipe = MSG_NOSIGNAL;
#else
constexpr int kNoSigpipe = 0;  // the socket carries SO_NOSIGPIPE instead (make_pipe)
#endif

// A stream socket pair, close-on-exec from birth where the system can (SOCK_CLOEXEC).
int make_socket_pair(UniqueHandle& a, UniqueHandle& b) {
  int fds[2];
#ifdef SOCK_CLOEXEC
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return errno;
  a.reset(fds[0]);
  b.reset(fds[1]);
#else
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return errno;
  a.reset(fds[0]);
  b.reset(fds[1]);
  for (int fd : fds)
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return errno;
#endif
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  int on = 1;
  for (int fd : fds)
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#endif
  return 0;
}

}  // namespace

void close_handle(int fd) noexcept {
  // Linux releases the descriptor even when close() reports EINTR: never retry.
  ::close(fd);
}

namespace {

int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errno;
  return 0;
}

// For a descriptor we just created: its only status flag is the access mode, which F_SETFL
// ignores, so no F_GETFL first (one system call per pipe, on every spawn).
int set_nonblocking_fresh(int fd) {
  return fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ? errno : 0;
}

}  // namespace

int make_pipe(PipeDirection direction, PipePair& out) {
  if (direction == PipeDirection::kToChildAtEof)
    return posix::make_cloexec_pipe(out.child, out.parent, false);
  // The parent's end: the read end of a pipe, either end of a socket pair.
  int err = direction == PipeDirection::kFromChild
                ? posix::make_cloexec_pipe(out.parent, out.child, false)
                : make_socket_pair(out.parent, out.child);
  if (err != 0) return err;
  return set_nonblocking_fresh(out.parent.get());
}

void grow_pipe_buffer(int fd) noexcept {
#ifdef F_SETPIPE_SZ
  // 1 MiB is /proc/sys/fs/pipe-max-size's default, what a process may set without privilege.
  fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
  (void)fd;
#endif
}

IoCount read_some(int fd, char* buf, std::size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

IoCount write_some(int fd, const char* buf, std::size_t size) {
  for (;;) {
    ssize_t n = ::send(fd, buf, size, kNoSigpipe);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != ENOTSOCK) return -errno;
    // Not a socket (a descriptor passed in by the user): plain write.
    n = ::write(fd, buf, size);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

IoCount send_with_fd(int fd, const char* buf, std::size_t size, int fd_to_pass) {
  iovec iov{const_cast<char*>(buf), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd_to_pass >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, kNoSigpipe);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

IoCount receive_with_fds(int fd, char* buf, std::size_t size, std::vector<int>& fds) {
  iovec iov{buf, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
#ifdef MSG_CMSG_CLOEXEC
    n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
#else
    n = ::recvmsg(fd, &msg, 0);  // marked close-on-exec below, as soon as they are ours
#endif
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
#ifndef MSG_CMSG_CLOEXEC
      fcntl(received, F_SETFD, FD_CLOEXEC);
#endif
      fds.push_back(received);
    }
  }
  return n;
}

SocketKind socket_kind(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return SocketKind::kNotSocket;
  if (type == SOCK_DGRAM) return SocketKind::kDatagram;
  if (type != SOCK_STREAM) return SocketKind::kNotSocket;
  int listening = 0;
  len = sizeof listening;
  getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
  return listening ? SocketKind::kStreamListening : SocketKind::kStream;
}

int duplicate_handle(int fd, UniqueHandle& out) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return errno;
  out.reset(d);
  return 0;
}

int adopt_inherited_handle(int fd) {
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return errno;
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  int on = 1;  // a channel from a Node parent, written to after the parent has gone
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#endif
  return set_nonblocking(fd);
}

int take_inherited_channel(int fd, UniqueHandle& out) {
  if (int err = adopt_inherited_handle(fd); err != 0) return err;
  out.reset(fd);
  return 0;
}

int shutdown_write(int fd) {
  return ::shutdown(fd, SHUT_WR) == 0 ? 0 : errno;
}

}  // namespace childproc::detail
