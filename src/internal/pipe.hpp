// Descriptor-level I/O: stdio pipes, non-blocking reads and writes that never raise SIGPIPE.
// Implemented per platform (src/posix/pipe.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "internal/fd.hpp"

namespace childproc::detail {

// A byte count, or -errno: the return of the I/O calls below (POSIX's ssize_t, spelled without
// a system header).
using IoCount = std::ptrdiff_t;

enum class PipeDirection {
  kToChild,    // the child reads (stdin)
  kFromChild,  // the child writes (stdout, stderr): a real pipe, sized for throughput
  kDuplex,     // both ways (extra fds >= 3, the IPC channel): a socket pair
};

struct PipePair {
  UniqueFd parent;  // non-blocking, close-on-exec
  UniqueFd child;   // blocking, close-on-exec (the spawn clears it on the child's copy)
};

// 0 or an errno.
int make_pipe(PipeDirection direction, PipePair& out);

// Called when a read filled the whole buffer it was given (a child that writes faster than we
// read): grows a pipe's kernel buffer to the unprivileged maximum (1 MiB), so the child blocks
// less often and each wakeup moves more. Best effort: sockets and the per-user pipe page limit
// refuse it, which changes nothing. Not done up front, as that limit is shared by all pipes.
void grow_pipe_buffer(int fd) noexcept;

// Bytes read, 0 at EOF, or -errno (-EAGAIN when nothing is there).
IoCount read_some(int fd, char* buf, std::size_t size);
// Bytes written or -errno; never raises SIGPIPE (-EPIPE instead).
IoCount write_some(int fd, const char* buf, std::size_t size);

// Ends our writing direction of a socket pair (the peer reads EOF); 0 or an errno.
int shutdown_write(int fd);

// ---- The IPC transport: a stream socket that also carries descriptors (SCM_RIGHTS). ----

// Bytes written or -errno; `fd_to_pass` (>= 0) rides with the first byte.
IoCount send_with_fd(int fd, const char* buf, std::size_t size, int fd_to_pass);
// Bytes read, 0 at EOF, or -errno; descriptors that arrived are appended to `fds`, close-on-exec.
IoCount receive_with_fds(int fd, char* buf, std::size_t size, std::vector<int>& fds);

enum class SocketKind { kNotSocket, kStreamListening, kStream, kDatagram };
SocketKind socket_kind(int fd);
// A close-on-exec duplicate, or -errno.
int duplicate_descriptor(int fd);
// Readies a descriptor inherited from the parent (NODE_CHANNEL_FD): close-on-exec and
// non-blocking. 0 or an errno.
int adopt_inherited_descriptor(int fd);

}  // namespace childproc::detail
