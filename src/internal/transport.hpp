// The I/O seam under Stream and ipc::Channel: one end of a byte stream on the loop (a stdio pipe,
// the IPC channel), implemented per platform. The POSIX one (src/posix/transport.cpp) waits for
// readiness on a non-blocking descriptor; a completion-based one (Windows' IOCP) keeps a read and
// a write in flight instead. Either way the caller sees the same thing: data as it arrives, one
// end-of-reading, and one completion per write. Node's rules (backpressure, 'drain', 'finish',
// the IPC protocol) stay above it, written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "internal/handle.hpp"
#include "internal/loop_core.hpp"

namespace childproc::detail {

enum class TransportKind {
  kPipe,  // bytes only
  kIpc,   // bytes and handles (SCM_RIGHTS on POSIX)
};

class Transport {
 public:
  struct Events {
    // Bytes that arrived. Handles that came with them (kIpc) are given to on_handle first.
    // Either callback may destroy the transport.
    std::function<void(std::string_view)> on_data;
    std::function<void(UniqueHandle)> on_handle;
    // Reading is over: 0 at end of stream, else the OS error. Nothing is read after it.
    std::function<void(int error)> on_read_end;
    // The peer broke the transport's own framing (Windows' IPC frames): what was wrong, with its
    // offset. on_read_end follows, unless this callback destroyed the transport.
    std::function<void(const std::string& what)> on_protocol_error;
  };
  // 0, the OS error, or os::kECANCELED when the transport was destroyed first. Always called
  // from the loop after write() has returned, in the order of the writes, even once the
  // transport is gone.
  using WriteDone = std::function<void(int error)>;

  virtual ~Transport() = default;  // closes the handle; queued writes complete with ECANCELED

  // Reading starts off; the caller turns it on (and off, to apply backpressure).
  virtual void set_reading(bool on) = 0;
  // Writes what it can at once and queues the rest (contiguous writes may share one buffer).
  // `pass` (kIpc) rides with the first byte of these bytes and must stay open until `done`.
  // After a write error every queued and later write completes with that error.
  virtual void write(std::string_view bytes, WriteDone done,
                     NativeHandle pass = kInvalidNativeHandle) = 0;
  // Bytes accepted by write() and not yet handed to the OS.
  virtual std::size_t write_queue_size() const = 0;
  // Ends our writing direction once the queue is written (the peer reads end of stream).
  virtual void shutdown() = 0;
  // Whether reading keeps the loop alive; queued writes always do.
  virtual void set_ref(bool referenced) = 0;
};

// What every transport does with write completions: each write completes once the OS has
// taken all bytes up to its end, in order, and always from the loop (next_tick).
class WriteCompletions {
 public:
  explicit WriteCompletions(LoopCore& loop) : loop_(loop) {}
  WriteCompletions(const WriteCompletions&) = delete;
  WriteCompletions& operator=(const WriteCompletions&) = delete;

  void add(std::size_t bytes, Transport::WriteDone done) {
    accepted_ += bytes;
    pending_.push_back({accepted_, std::move(done)});
  }
  // `bytes` more were taken by the OS.
  void wrote(std::size_t bytes) {
    written_ += bytes;
    while (!pending_.empty() && pending_.front().end <= written_) {
      complete(std::move(pending_.front().done), 0);
      pending_.pop_front();
    }
  }
  // Every write not yet complete fails with `error` (its bytes are dropped).
  void fail_all(int error) {
    wrote(0);
    for (Pending& p : pending_)
      complete(std::move(p.done), error);
    pending_.clear();
    written_ = accepted_;
  }
  std::size_t unwritten_bytes() const { return static_cast<std::size_t>(accepted_ - written_); }

 private:
  struct Pending {
    std::uint64_t end;
    Transport::WriteDone done;
  };
  void complete(Transport::WriteDone done, int error) {
    loop_.next_tick([done = std::move(done), error] { done(error); });
  }

  LoopCore& loop_;
  std::deque<Pending> pending_;
  std::uint64_t accepted_ = 0;  // bytes given to write(), ever
  std::uint64_t written_ = 0;   // of those, bytes the OS took (or that were dropped)
};

// Takes ownership of `handle` (for POSIX: non-blocking and close-on-exec). `peer_pid` (kIpc):
// the process at the other end, -1 when unknown; Windows duplicates passed sockets for it (POSIX
// needs no name: SCM_RIGHTS goes to whoever reads).
std::unique_ptr<Transport> open_transport(LoopCore& loop, UniqueHandle handle, TransportKind kind,
                                          Transport::Events events, int peer_pid = -1);

}  // namespace childproc::detail
