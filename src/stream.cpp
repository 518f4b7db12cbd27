// Stream: a non-blocking descriptor on the loop. Reads are flowing (up to 8 x 64 KiB per
// wake-up, so one busy pipe cannot starve the others); writes are tried at once and queued only
// for what the kernel did not take.
#include "childproc/stream.hpp"

#include <memory>

#include "internal/errc.hpp"
#include "internal/fd.hpp"
#include "internal/loop_core.hpp"
#include "internal/pipe.hpp"

namespace childproc {

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerWakeup = 8;
}  // namespace

Stream::Stream(detail::LoopCore& loop, int fd, bool readable, bool writable)
    : loop_(loop), fd_(fd), readable_(readable), writable_(writable) {
  watch_ = loop_.watch(fd_, 0, [this](unsigned events) { on_io(events); });
  update_interest();
}

Stream::~Stream() {
  if (fd_ >= 0) {
    loop_.unwatch(watch_);
    detail::close_descriptor(fd_);
  }
}

void Stream::remove_listener(ListenerId id) {
  data_.off(id) || end_.off(id) || close_.off(id) || error_.off(id) || drain_.off(id) ||
      finish_.off(id);
}

void Stream::update_interest() {
  if (fd_ < 0) return;
  unsigned interest = 0;
  if (readable_ && !reading_done_ && !paused_) interest |= detail::kIoReadable;
  if (!queue_.empty()) interest |= detail::kIoWritable;
  loop_.set_interest(watch_, interest);
}

void Stream::pause() {
  paused_ = true;
  update_interest();
}

void Stream::resume() {
  paused_ = false;
  update_interest();
}

void Stream::ref() {
  if (fd_ >= 0) loop_.set_ref(watch_, true);
}

void Stream::unref() {
  if (fd_ >= 0) loop_.set_ref(watch_, false);
}

void Stream::on_io(unsigned events) {
  if (!queue_.empty() && (events & (detail::kIoWritable | detail::kIoError | detail::kIoHangup)))
    flush_writes();
  if (fd_ >= 0 && readable_ && !reading_done_ && !paused_ &&
      (events & (detail::kIoReadable | detail::kIoHangup | detail::kIoError)))
    read_available();
}

void Stream::read_available() {
  char buf[kReadChunk];
  std::weak_ptr<bool> alive = alive_;
  for (int round = 0; round < kReadsPerWakeup; ++round) {
    detail::IoCount n = detail::read_some(fd_, buf, sizeof buf);
    if (n > 0) {
      if (static_cast<std::size_t>(n) == sizeof buf && !pipe_grown_) {
        pipe_grown_ = true;  // a fast writer: give it a bigger pipe
        detail::grow_pipe_buffer(fd_);
      }
      data_.emit(std::string_view(buf, static_cast<std::size_t>(n)));
      // A listener may have paused, destroyed or (through its owner) deleted this stream.
      if (alive.expired() || fd_ < 0 || paused_) return;
      if (static_cast<std::size_t>(n) < sizeof buf) return;  // drained: skip the EAGAIN read
      continue;
    }
    if (n == 0) {
      reading_done_ = true;
      update_interest();
      end_.emit();
      if (alive.expired() || fd_ < 0) return;
      // No half-open streams (Node's allowHalfOpen=false): the write side ends too.
      if (writable_ && !queue_.empty()) {
        ending_ = true;
      } else {
        destroy();
      }
      return;
    }
    if (n != -detail::os::kEAGAIN) fail(static_cast<int>(-n), "read");
    return;
  }
}

bool Stream::write(std::string_view data, WriteCallback callback) {
  auto report = [this](WriteCallback cb, std::optional<Error> err) {
    if (cb) loop_.next_tick([cb = std::move(cb), err = std::move(err)] { cb(err); });
  };
  if (!writable_ || fd_ < 0 || ending_) {
    Error e;
    e.code = fd_ < 0 ? "ERR_STREAM_DESTROYED" : "ERR_STREAM_WRITE_AFTER_END";
    e.message = fd_ < 0 ? "Cannot call write after a stream was destroyed" : "write after end";
    report(std::move(callback), e);
    return false;
  }
  std::size_t done = 0;
  if (queue_.empty()) {
    detail::IoCount n = detail::write_some(fd_, data.data(), data.size());
    if (n < 0 && n != -detail::os::kEAGAIN) {
      Error e = make_system_error(static_cast<int>(-n), "write");
      report(std::move(callback), e);
      fail(static_cast<int>(-n), "write");
      return false;
    }
    done = n > 0 ? static_cast<std::size_t>(n) : 0;
    if (done == data.size()) {
      report(std::move(callback), std::nullopt);
      return queued_bytes_ < high_water_mark_;
    }
  }
  queue_.push_back(PendingWrite{std::string(data.substr(done)), 0, std::move(callback)});
  queued_bytes_ += data.size() - done;
  update_interest();
  bool below = queued_bytes_ < high_water_mark_;
  if (!below) needs_drain_ = true;
  return below;
}

void Stream::flush_writes() {
  while (!queue_.empty()) {
    PendingWrite& w = queue_.front();
    detail::IoCount n = detail::write_some(fd_, w.data.data() + w.offset, w.data.size() - w.offset);
    if (n == -detail::os::kEAGAIN) break;
    if (n < 0) {
      fail_queued_writes(static_cast<int>(-n));
      return;
    }
    w.offset += static_cast<std::size_t>(n);
    queued_bytes_ -= static_cast<std::size_t>(n);
    if (w.offset < w.data.size()) break;
    if (w.callback) loop_.next_tick([cb = std::move(w.callback)] { cb(std::nullopt); });
    queue_.pop_front();
  }
  update_interest();
  if (!queue_.empty()) return;
  if (needs_drain_) {
    needs_drain_ = false;
    std::weak_ptr<bool> alive = alive_;
    drain_.emit();
    if (alive.expired()) return;
  }
  if (ending_) finish_if_flushed();
}

void Stream::end() {
  if (!writable_ || fd_ < 0 || ending_) return;
  ending_ = true;
  if (queue_.empty()) finish_if_flushed();
}

void Stream::end(std::string_view data) {
  write(data);
  end();
}

void Stream::finish_if_flushed() {
  std::weak_ptr<bool> alive = alive_;
  loop_.next_tick([this, alive] {
    if (!alive.expired()) finish_.emit();
  });
  // Nothing left to read either (or never was): close; else only stop our direction.
  if (!readable_ || reading_done_) {
    destroy();
  } else {
    detail::shutdown_write(fd_);
  }
}

// A queued write failed (EPIPE: the child closed its end). As in Node, every queued write's
// callback gets that error, then 'error' is emitted, then 'close'. All from the loop, after the
// callbacks of writes that completed earlier, and with the stream already destroyed, so that a
// callback writing again only gets ERR_STREAM_DESTROYED.
void Stream::fail_queued_writes(int err) {
  Error e = make_system_error(err, "write");
  for (auto& w : queue_)
    if (w.callback) loop_.next_tick([cb = std::move(w.callback), e] { cb(e); });
  queue_.clear();
  queued_bytes_ = 0;
  std::weak_ptr<bool> alive = alive_;
  loop_.next_tick([this, alive, e] {
    if (!alive.expired()) error_.emit(e);
  });
  destroy();  // its 'close' follows the 'error' above
}

void Stream::fail(int err, const char* syscall) {
  std::weak_ptr<bool> alive = alive_;
  error_.emit(make_system_error(err, syscall));
  if (!alive.expired()) destroy();
}

void Stream::destroy() {
  if (fd_ < 0) return;
  loop_.unwatch(watch_);
  detail::close_descriptor(fd_);
  fd_ = -1;
  // Queued data is dropped; its callbacks learn why, as in Node.
  for (auto& w : queue_) {
    if (!w.callback) continue;
    Error e;
    e.code = "ERR_STREAM_DESTROYED";
    e.message = "Cannot call write after a stream was destroyed";
    loop_.next_tick([cb = std::move(w.callback), e] { cb(e); });
  }
  queue_.clear();
  queued_bytes_ = 0;
  std::weak_ptr<bool> alive = alive_;
  loop_.next_tick([this, alive] {
    if (!alive.expired()) close_.emit();
  });
}

}  // namespace childproc
