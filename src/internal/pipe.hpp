// Descriptor-level I/O: stdio pipes, non-blocking reads and writes that never raise SIGPIPE.
// Implemented per platform (src/posix/pipe.cpp).
#pragma once

#include <cstddef>

#include "internal/handle.hpp"

namespace childproc::detail {

// A byte count, or -errno: the return of the I/O calls below (POSIX's ssize_t, spelled without
// a system header).
using IoCount = std::ptrdiff_t;

enum class PipeDirection {
  kToChild,  // the child reads (stdin)
  // The child reads a stdin we never write (spawn_sync without input): it sees EOF once our end
  // closes, so a plain pipe serves (half the cost of a socket pair) and our end stays blocking.
  kToChildAtEof,
  kFromChild,  // the child writes (stdout, stderr): a real pipe, sized for throughput
  kDuplex,     // both ways (extra fds >= 3): a socket pair
  kIpc,        // the IPC channel: a socket pair that also carries descriptors
};

struct PipePair {
  UniqueHandle parent;  // non-blocking, close-on-exec
  UniqueHandle child;   // blocking, close-on-exec (the spawn clears it on the child's copy)
};

// 0 or an errno.
int make_pipe(PipeDirection direction, PipePair& out);

// Called when a read filled the whole buffer it was given (a child that writes faster than we
// read): grows a pipe's kernel buffer to the unprivileged maximum (1 MiB), so the child blocks
// less often and each wakeup moves more. Best effort: sockets and the per-user pipe page limit
// refuse it, which changes nothing. Not done up front, as that limit is shared by all pipes.
void grow_pipe_buffer(NativeHandle pipe) noexcept;

// Bytes read, 0 at EOF, or -errno (-EAGAIN when nothing is there).
IoCount read_some(NativeHandle pipe, char* buf, std::size_t size);
// Bytes written or -errno; never raises SIGPIPE (-EPIPE instead).
IoCount write_some(NativeHandle pipe, const char* buf, std::size_t size);

// ---- Handles sent over the IPC channel ----

enum class SocketKind { kNotSocket, kStreamListening, kStream, kDatagram };
SocketKind socket_kind(NativeHandle handle);
// A close-on-exec duplicate into `out`; 0 or an errno.
int duplicate_handle(NativeHandle handle, UniqueHandle& out);
// Readies a channel inherited from the parent (NODE_CHANNEL_FD) or given by the caller:
// close-on-exec and non-blocking. 0 or an errno.
int adopt_inherited_handle(NativeHandle handle);
// The channel the parent handed us as fd number `fd` (NODE_CHANNEL_FD), readied as above, into
// `out`: on POSIX that descriptor; on Windows the C runtime fd's OS handle, taken from the C
// runtime (its fd is closed, our handle stays). 0 or an errno.
int take_inherited_channel(int fd, UniqueHandle& out);

}  // namespace childproc::detail
