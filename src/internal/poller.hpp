// The loop's I/O multiplexer, one per backend: epoll (src/posix/linux/poller.cpp) or poll()
// (src/posix/portable/poller.cpp). Each backend's poller_state.hpp holds its members.
#pragma once

#include <cstddef>
#include <cstdint>

#include "internal/handle.hpp"
#include "poller_state.hpp"

namespace childproc::detail {

enum IoEvent : unsigned {
  kIoReadable = 1,
  kIoWritable = 2,
  kIoHangup = 4,
  kIoError = 8,
};

// One descriptor for wait_for_io(): what to wait for (kIo* bits) and what was found.
struct IoWait {
  NativeHandle fd = kInvalidNativeHandle;
  unsigned interest = 0;
  unsigned ready = 0;
};

// Waits until one of `entries` is ready or `timeout_ms` passes (-1: no limit), with nothing to
// create or destroy per call (spawn_sync's private wait, Linux: one poll()). Returns how many
// entries are ready (0 after the timeout or a signal's interruption) or -errno.
int wait_for_io(IoWait* entries, std::size_t count, int timeout_ms);

class Poller {
 public:
  static constexpr std::uint64_t kWakeKey = 0;  // reported after wake() was called

  struct Ready {
    std::uint64_t key;
    unsigned events;
  };

  Poller();  // throws SystemError
  // A descriptor that is readable while wait() would not block, for embedding the loop in
  // another one; -1 where the backend has none (poll() keeps no kernel object). On Windows,
  // the completion port.
  NativeHandle fd() const;

  // A completion backend associates handles itself (the transport does) and ignores these.
  int add(NativeHandle fd, unsigned interest, std::uint64_t key);  // 0 or errno
  int modify(NativeHandle fd, unsigned interest, std::uint64_t key);
  void remove(NativeHandle fd);
  // Waits up to timeout_ms (-1: forever); returns the number of entries filled.
  std::size_t wait(Ready* out, std::size_t capacity, int timeout_ms);
  void wake();  // thread-safe

 private:
  PollerState state_;
};

}  // namespace childproc::detail
