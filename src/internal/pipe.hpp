// Descriptor-level I/O: stdio pipes, non-blocking reads and writes that never raise SIGPIPE.
// Implemented per platform (src/posix/pipe.cpp).
#pragma once

#include <sys/types.h>
#include <cstddef>

#include "internal/fd.hpp"

namespace childproc::detail {

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

// Bytes read, 0 at EOF, or -errno (-EAGAIN when nothing is there).
ssize_t read_some(int fd, char* buf, std::size_t size);
// Bytes written or -errno; never raises SIGPIPE (-EPIPE instead).
ssize_t write_some(int fd, const char* buf, std::size_t size);

// Ends our writing direction of a socket pair (the peer reads EOF); 0 or an errno.
int shutdown_write(int fd);

}  // namespace childproc::detail
