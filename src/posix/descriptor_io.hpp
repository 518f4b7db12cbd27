// The socket calls under the POSIX transport (src/posix/transport.cpp), defined in pipe.cpp
// beside the pipes they are made for.
#pragma once

#include <cstddef>
#include <vector>

#include "internal/pipe.hpp"

namespace childproc::detail {

// Bytes written or -errno; `fd_to_pass` (>= 0) rides with the first byte (SCM_RIGHTS).
IoCount send_with_fd(int fd, const char* buf, std::size_t size, int fd_to_pass);
// Bytes read, 0 at EOF, or -errno; descriptors that arrived are appended to `fds`, close-on-exec.
IoCount receive_with_fds(int fd, char* buf, std::size_t size, std::vector<int>& fds);
// Ends our writing direction of a socket pair (the peer reads EOF); 0 or an errno.
int shutdown_write(int fd);

}  // namespace childproc::detail
