// The POSIX transport: a non-blocking descriptor watched for readiness. Reads run up to 8 x 64 KiB
// per wake-up, so one busy pipe cannot starve the others; writes are tried at once and only what
// the kernel did not take is queued, to be flushed when the descriptor is writable again.
#include "internal/transport.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "descriptor_io.hpp"
#include "internal/errc.hpp"
#include "internal/pipe.hpp"
#include "internal/poller.hpp"

namespace childproc::detail {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerWakeup = 8;
// A write behind queued ones joins the last queued buffer up to this size, so that a burst of
// small messages leaves in a few large writes instead of one system call each.
constexpr std::size_t kCoalesceLimit = 256 * 1024;

class DescriptorTransport final : public Transport {
 public:
  DescriptorTransport(LoopCore& loop, UniqueHandle fd, TransportKind kind, Events events)
      : loop_(loop),
        fd_(std::move(fd)),
        kind_(kind),
        events_(std::move(events)),
        completions_(loop) {
    watch_ = loop_.watch(fd_.get(), 0, [this](unsigned ready) { on_ready(ready); });
  }

  ~DescriptorTransport() override {
    loop_.unwatch(watch_);
    completions_.fail_all(os::kECANCELED);
  }

  void set_reading(bool on) override {
    reading_ = on && !read_done_;
    update_watch();
  }

  void write(std::string_view bytes, WriteDone done, NativeHandle pass) override {
    if (write_error_ != 0) {
      int error = write_error_;
      loop_.next_tick([done = std::move(done), error] { done(error); });
      return;
    }
    completions_.add(bytes.size(), std::move(done));
    std::size_t sent = 0;
    if (queue_.empty()) {  // nothing ahead of these bytes: try now, skip the queue
      IoCount n = send(bytes.data(), bytes.size(), pass);
      if (n < 0 && n != -os::kEAGAIN) {
        fail_writes(static_cast<int>(-n));
        return;
      }
      sent = n > 0 ? static_cast<std::size_t>(n) : 0;
      if (sent > 0) pass = kInvalidNativeHandle;  // it went with the first byte
    }
    if (sent < bytes.size()) enqueue(bytes.substr(sent), pass);
    completions_.wrote(sent);
    update_watch();
  }

  std::size_t write_queue_size() const override { return completions_.unwritten_bytes(); }

  void shutdown() override {
    shutdown_requested_ = true;
    if (queue_.empty()) shutdown_now();
  }

  void set_ref(bool referenced) override {
    referenced_ = referenced;
    update_watch();
  }

 private:
  struct Chunk {
    std::string bytes;
    std::size_t offset = 0;
    NativeHandle pass = kInvalidNativeHandle;  // sent with the chunk's first byte
  };

  IoCount send(const char* data, std::size_t size, NativeHandle pass) {
    if (kind_ == TransportKind::kIpc) return send_with_fd(fd_.get(), data, size, pass);
    return write_some(fd_.get(), data, size);
  }

  void enqueue(std::string_view bytes, NativeHandle pass) {
    if (!queue_.empty() && pass == kInvalidNativeHandle &&
        queue_.back().pass == kInvalidNativeHandle &&
        queue_.back().bytes.size() + bytes.size() <= kCoalesceLimit) {
      queue_.back().bytes.append(bytes);
      return;
    }
    queue_.push_back(Chunk{std::string(bytes), 0, pass});
  }

  void update_watch() {
    unsigned interest = (reading_ ? kIoReadable : 0u) | (queue_.empty() ? 0u : kIoWritable);
    loop_.set_interest(watch_, interest);
    // Queued writes hold the loop whatever the owner says, as libuv's write requests do.
    loop_.set_ref(watch_, referenced_ || !queue_.empty());
  }

  void on_ready(unsigned ready) {
    // Flushing cannot destroy us (completions run later, from the loop); reading can.
    if (!queue_.empty() && (ready & (kIoWritable | kIoError | kIoHangup))) flush();
    if (reading_ && (ready & (kIoReadable | kIoHangup | kIoError))) read_available();
  }

  void flush() {
    while (!queue_.empty()) {
      Chunk& c = queue_.front();
      IoCount n = send(c.bytes.data() + c.offset, c.bytes.size() - c.offset,
                       c.offset == 0 ? c.pass : kInvalidNativeHandle);
      if (n == -os::kEAGAIN) break;
      if (n < 0) {
        fail_writes(static_cast<int>(-n));
        return;
      }
      c.offset += static_cast<std::size_t>(n);
      completions_.wrote(static_cast<std::size_t>(n));
      if (c.offset < c.bytes.size()) break;
      queue_.pop_front();
    }
    if (queue_.empty() && shutdown_requested_) shutdown_now();
    update_watch();
  }

  void shutdown_now() {
    if (shut_down_ || write_error_ != 0) return;
    shut_down_ = true;
    shutdown_write(fd_.get());
  }

  void read_available() {
    char buf[kReadChunk];
    std::weak_ptr<bool> alive = alive_;
    for (int round = 0; round < kReadsPerWakeup; ++round) {
      IoCount n;
      if (kind_ == TransportKind::kIpc) {
        std::vector<int> fds;
        n = receive_with_fds(fd_.get(), buf, sizeof buf, fds);
        std::vector<UniqueHandle> handles;
        for (int fd : fds)
          handles.emplace_back(fd);
        for (UniqueHandle& h : handles) {  // any left after we are destroyed close with them
          events_.on_handle(std::move(h));
          if (alive.expired()) return;
        }
      } else {
        n = read_some(fd_.get(), buf, sizeof buf);
      }
      if (n > 0) {
        bool filled = static_cast<std::size_t>(n) == sizeof buf;
        if (filled && !pipe_grown_) {
          pipe_grown_ = true;  // a fast writer: give it a bigger pipe
          grow_pipe_buffer(fd_.get());
        }
        events_.on_data(std::string_view(buf, static_cast<std::size_t>(n)));
        if (alive.expired() || !reading_) return;
        if (!filled) return;  // drained: skip the read that would say EAGAIN
        continue;
      }
      if (n == -os::kEAGAIN) return;
      read_done_ = true;
      reading_ = false;
      update_watch();
      events_.on_read_end(n == 0 ? 0 : static_cast<int>(-n));
      return;
    }
  }

  // A write failed: this one and everything queued behind it complete with the error.
  void fail_writes(int error) {
    write_error_ = error;
    queue_.clear();
    completions_.fail_all(error);
    update_watch();
  }

  LoopCore& loop_;
  UniqueHandle fd_;
  TransportKind kind_;
  Events events_;
  std::uint64_t watch_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool reading_ = false;
  bool read_done_ = false;
  bool referenced_ = true;
  bool pipe_grown_ = false;  // F_SETPIPE_SZ tried once, when a read filled the whole buffer
  bool shutdown_requested_ = false;
  bool shut_down_ = false;
  int write_error_ = 0;
  std::deque<Chunk> queue_;
  WriteCompletions completions_;
};

}  // namespace

std::unique_ptr<Transport> open_transport(LoopCore& loop, UniqueHandle handle, TransportKind kind,
                                          Transport::Events events, int) {
  return std::make_unique<DescriptorTransport>(loop, std::move(handle), kind, std::move(events));
}

}  // namespace childproc::detail
