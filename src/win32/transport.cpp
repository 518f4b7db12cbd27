// The Windows transport: overlapped I/O on our end of a named pipe, completed through the
// loop's port. One read is in flight while reading is on; writes go out one buffer at a time,
// in order. A completion packet only says "something of this transport finished": the
// transport looks at its own two operations, so a packet that finds nothing new is harmless.
// On destruction, operations still in flight are cancelled and waited for before their
// buffers go; their packets then find no watch and are dropped by the loop.
// The IPC channel's pipe carries libuv's frames (internal/ipc_frame.hpp) both ways, as a Node
// peer on Windows expects: each write() is one frame, and reads are unframed before delivery.
#include <windows.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "internal/errc.hpp"
#include "internal/ipc_frame.hpp"
#include "internal/poller.hpp"
#include "internal/transport.hpp"
#include "socket.hpp"
#include "win32_util.hpp"

namespace childproc::detail {

namespace {

constexpr DWORD kReadChunk = 64 * 1024;
constexpr std::size_t kCoalesceLimit = 256 * 1024;

bool is_pipe_gone(DWORD error) {
  return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA || error == ERROR_PIPE_NOT_CONNECTED;
}

class OverlappedTransport final : public Transport {
 public:
  OverlappedTransport(LoopCore& loop, UniqueHandle handle, TransportKind kind, Events events,
                      int peer_pid)
      : loop_(loop),
        handle_(std::move(handle)),
        events_(std::move(events)),
        framed_(kind == TransportKind::kIpc),
        peer_pid_(peer_pid),
        completions_(loop) {
    watch_ = loop_.watch(kInvalidNativeHandle, 0, [this](unsigned) { on_completion(); });
    // Completions of this handle arrive at the loop's port under this transport's watch.
    if (CreateIoCompletionPort(os_handle(handle_.get()), os_handle(loop_.backend_fd()),
                               static_cast<ULONG_PTR>(watch_), 0) == nullptr)
      associate_error_ = last_error();
  }

  ~OverlappedTransport() override {
    HANDLE h = os_handle(handle_.get());
    for (OVERLAPPED* ov : {&read_ov_, &write_ov_}) {
      bool pending = ov == &read_ov_ ? read_pending_ : write_pending_;
      if (!pending) continue;
      CancelIoEx(h, ov);
      DWORD n;
      GetOverlappedResult(h, ov, &n, TRUE);  // the OS is done with the buffers after this
    }
    loop_.unwatch(watch_);
    completions_.fail_all(os::kECANCELED);
  }

  void set_reading(bool on) override {
    reading_ = on && !read_done_;
    if (reading_) start_read();
    update_watch();
  }

  void write(std::string_view bytes, WriteDone done, NativeHandle pass) override {
    int error = write_error_ != 0 ? write_error_ : associate_error_;
    // A frame says its length in 32 bits.
    if (error == 0 && framed_ && bytes.size() > 0xffffffffu) error = os::kEINVAL;
    // A socket rides in the frame's transfer record, duplicated for the peer process.
    std::string record;
    bool connection = false;
    if (error == 0 && pass != kInvalidNativeHandle)
      error = export_socket(pass, peer_pid(), record, connection);
    if (error != 0) {
      loop_.next_tick([done = std::move(done), error] { done(error); });
      return;
    }
    std::string frame;
    if (framed_ && (!bytes.empty() || !record.empty())) {
      ipc_frame::append_frame(frame, bytes, record, connection);
      bytes = frame;
    }
    completions_.add(bytes.size(), std::move(done));
    if (bytes.empty()) {
      completions_.wrote(0);
      return;
    }
    if (!queue_.empty() && queue_.back().size() + bytes.size() <= kCoalesceLimit &&
        (queue_.size() > 1 || !write_pending_)) {
      queue_.back().append(bytes);  // not into the buffer the OS is writing from
    } else {
      queue_.emplace_back(bytes);
    }
    start_write();
    update_watch();
  }

  std::size_t write_queue_size() const override { return completions_.unwritten_bytes(); }

  void shutdown() override {
    shutdown_requested_ = true;
    if (queue_.empty() && !write_pending_) shutdown_now();
  }

  void set_ref(bool referenced) override {
    referenced_ = referenced;
    update_watch();
  }

 private:
  void update_watch() {
    bool busy = read_pending_ || write_pending_;
    loop_.set_interest(watch_, busy ? kIoReadable : 0u);
    loop_.set_ref(watch_, referenced_ || write_pending_ || !queue_.empty());
  }

  void start_read() {
    if (read_pending_ || !reading_ || associate_error_ != 0) return;
    read_ov_ = OVERLAPPED{};
    if (!ReadFile(os_handle(handle_.get()), read_buffer_.data(), kReadChunk, nullptr, &read_ov_) &&
        GetLastError() != ERROR_IO_PENDING) {
      // Reported from the loop, as a completion would be.
      DWORD e = GetLastError();
      std::weak_ptr<bool> alive = alive_;
      loop_.next_tick([this, alive, e] {
        if (!alive.expired()) end_reading(e);
      });
      read_done_ = true;
      reading_ = false;
      return;
    }
    read_pending_ = true;  // even a read that completed at once posts its packet
  }

  void start_write() {
    if (write_pending_ || queue_.empty() || write_error_ != 0) return;
    write_ov_ = OVERLAPPED{};
    const std::string& front = queue_.front();
    if (!WriteFile(os_handle(handle_.get()), front.data(), static_cast<DWORD>(front.size()),
                   nullptr, &write_ov_) &&
        GetLastError() != ERROR_IO_PENDING) {
      DWORD e = GetLastError();
      fail_writes(is_pipe_gone(e) ? os::kEPIPE : translate_error(e));
      return;
    }
    write_pending_ = true;
  }

  void on_completion() {
    HANDLE h = os_handle(handle_.get());
    std::weak_ptr<bool> alive = alive_;
    DWORD n = 0;
    if (write_pending_ && HasOverlappedIoCompleted(&write_ov_)) {
      write_pending_ = false;
      if (GetOverlappedResult(h, &write_ov_, &n, FALSE)) {
        queue_.pop_front();  // a pipe write completes whole or fails
        completions_.wrote(n);
        start_write();
        if (queue_.empty() && !write_pending_ && shutdown_requested_) shutdown_now();
      } else {
        DWORD e = GetLastError();
        fail_writes(is_pipe_gone(e) ? os::kEPIPE : translate_error(e));
      }
    }
    if (read_pending_ && HasOverlappedIoCompleted(&read_ov_)) {
      read_pending_ = false;
      if (GetOverlappedResult(h, &read_ov_, &n, FALSE)) {
        if (n > 0) {
          deliver(std::string_view(read_buffer_.data(), n));
          if (alive.expired() || read_done_) return;
        }
        start_read();
      } else {
        end_reading(GetLastError());
        if (alive.expired()) return;
      }
    }
    update_watch();
  }

  // Bytes read: as they are, or unframed. May destroy this transport.
  void deliver(std::string_view bytes) {
    if (!framed_) {
      events_.on_data(bytes);
      return;
    }
    std::weak_ptr<bool> alive = alive_;
    for (;;) {
      ipc_frame::FrameReader::Piece piece = frames_.next(bytes);
      switch (piece.kind) {
        case ipc_frame::FrameReader::Piece::Kind::kNeedMore:
          return;
        case ipc_frame::FrameReader::Piece::Kind::kData:
          events_.on_data(piece.bytes);
          break;
        case ipc_frame::FrameReader::Piece::Kind::kSocket: {
          // One that cannot be made (the sender's duplicate was for another process) is dropped:
          // the message's NODE_HANDLE is then answered with a NACK.
          UniqueHandle socket;
          if (import_socket(std::string(piece.bytes), socket) == 0 && events_.on_handle)
            events_.on_handle(std::move(socket));
          break;
        }
        case ipc_frame::FrameReader::Piece::Kind::kError:
          // The stream cannot be followed past a bad frame: reading ends with the reason.
          if (events_.on_protocol_error) events_.on_protocol_error(piece.error);
          if (alive.expired()) return;
          end_reading(ERROR_INVALID_DATA);
          return;
      }
      if (alive.expired()) return;
    }
  }

  // The process at the other end: given, else the pipe's other end's owner (for a pipe whose
  // ends were made in one process and one handed on, that is the maker, so callers name it).
  int peer_pid() {
    if (peer_pid_ >= 0) return peer_pid_;
    ULONG pid = 0;
    HANDLE h = os_handle(handle_.get());
    if (GetNamedPipeClientProcessId(h, &pid) && pid != GetCurrentProcessId())
      return static_cast<int>(pid);
    if (GetNamedPipeServerProcessId(h, &pid)) return static_cast<int>(pid);
    return static_cast<int>(GetCurrentProcessId());
  }

  void end_reading(DWORD error) {
    read_done_ = true;
    reading_ = false;
    update_watch();
    events_.on_read_end(is_pipe_gone(error) ? 0 : translate_error(error));
  }

  void shutdown_now() {
    if (shut_down_ || write_error_ != 0) return;
    shut_down_ = true;
    // A pipe has no half-close: the reader sees the end once our handle is closed, which the
    // owner does once it is done reading (a write-only stdin is closed at once).
  }

  void fail_writes(int error) {
    write_error_ = error;
    queue_.clear();
    completions_.fail_all(error);
    update_watch();
  }

  LoopCore& loop_;
  UniqueHandle handle_;
  Events events_;
  bool framed_;
  int peer_pid_;
  ipc_frame::FrameReader frames_;
  std::uint64_t watch_ = 0;
  int associate_error_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  OVERLAPPED read_ov_{};
  OVERLAPPED write_ov_{};
  std::vector<char> read_buffer_ = std::vector<char>(kReadChunk);
  bool read_pending_ = false;
  bool write_pending_ = false;
  bool reading_ = false;
  bool read_done_ = false;
  bool referenced_ = true;
  bool shutdown_requested_ = false;
  bool shut_down_ = false;
  int write_error_ = 0;
  std::deque<std::string> queue_;  // front: being written while write_pending_
  WriteCompletions completions_;
};

}  // namespace

std::unique_ptr<Transport> open_transport(LoopCore& loop, UniqueHandle handle, TransportKind kind,
                                          Transport::Events events, int peer_pid) {
  return std::make_unique<OverlappedTransport>(loop, std::move(handle), kind, std::move(events),
                                               peer_pid);
}

}  // namespace childproc::detail
