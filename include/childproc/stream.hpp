// The parent's end of a child's stdio pipe: Node's net.Socket as child.stdout / child.stdin.
//
// Readable side: 'data' chunks as they arrive (flowing from the start; pause()/resume() apply
// backpressure to the child), then 'end' at EOF, then 'close'.
// Writable side: write() queues and returns false once the queue holds the high-water mark or
// more (16 KiB by default, as Node); 'drain' follows when the queue empties; end() closes the
// descriptor after the queue is flushed and emits 'finish'.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "childproc/error.hpp"
#include "childproc/event.hpp"

namespace childproc {

namespace detail {
class LoopCore;
}

class Stream {
 public:
  using WriteCallback = std::function<void(const std::optional<Error>&)>;

  // Takes ownership of `fd`, which must be non-blocking and close-on-exec.
  Stream(detail::LoopCore& loop, int fd, bool readable, bool writable);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool readable() const { return readable_; }
  bool writable() const { return writable_; }
  bool destroyed() const { return fd_ < 0; }
  int fd() const { return fd_; }

  ListenerId on_data(std::function<void(std::string_view)> fn) { return data_.on(std::move(fn)); }
  ListenerId on_end(std::function<void()> fn) { return end_.on(std::move(fn)); }
  ListenerId on_close(std::function<void()> fn) { return close_.on(std::move(fn)); }
  ListenerId on_error(std::function<void(const Error&)> fn) { return error_.on(std::move(fn)); }
  ListenerId on_drain(std::function<void()> fn) { return drain_.on(std::move(fn)); }
  ListenerId on_finish(std::function<void()> fn) { return finish_.on(std::move(fn)); }
  void remove_listener(ListenerId id);

  void pause();
  void resume();
  bool is_paused() const { return paused_; }

  // Queues data; the callback runs once it is written (or with the error). Returns false when the
  // caller should wait for 'drain'.
  bool write(std::string_view data, WriteCallback callback = {});
  void end();
  void end(std::string_view data);
  std::size_t writable_length() const { return queued_bytes_; }
  std::size_t writable_high_water_mark() const { return high_water_mark_; }
  void set_writable_high_water_mark(std::size_t bytes) { high_water_mark_ = bytes; }

  // Closes the descriptor now, dropping queued data; emits 'close' on the next tick.
  void destroy();

  // A stream keeps its loop alive while it is open, unless unref'd.
  void ref();
  void unref();

 private:
  struct PendingWrite {
    std::string data;
    std::size_t offset = 0;
    WriteCallback callback;
  };

  void on_io(unsigned events);
  void read_available();
  void flush_writes();
  void fail(int err, const char* syscall);
  void fail_queued_writes(int err);
  void update_interest();
  void finish_if_flushed();

  detail::LoopCore& loop_;
  // Expires with the stream: deferred callbacks check it before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int fd_ = -1;
  std::uint64_t watch_ = 0;
  bool readable_;
  bool writable_;
  bool paused_ = false;
  bool reading_done_ = false;
  bool pipe_grown_ = false;  // F_SETPIPE_SZ tried once, when a read filled the whole buffer
  bool ending_ = false;
  bool needs_drain_ = false;
  std::deque<PendingWrite> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t high_water_mark_ = 16 * 1024;

  Event<std::string_view> data_;
  Event<> end_;
  Event<> close_;
  Event<const Error&> error_;
  Event<> drain_;
  Event<> finish_;
};

}  // namespace childproc
