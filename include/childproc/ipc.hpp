// The IPC channel, wire-compatible with Node's: one JSON.stringify(message) + "\n" per message
// over a socket pair, handles passed with SCM_RIGHTS under Node's NODE_HANDLE protocol.
//
// Parent side: ChildProcess::send()/on_message() (after fork(), or an "ipc" stdio slot).
// Child side:  childproc::ipc::parent_channel() — what process.send/process.on('message') are
//              to a Node child; it works whether the parent is Node or C++.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "childproc/error.hpp"
#include "childproc/event.hpp"
#include "childproc/json.hpp"
#include "childproc/loop.hpp"

namespace childproc {

namespace detail {
class LoopCore;
}

namespace ipc {

// A descriptor received with a message (Node's sendHandle), owned: closed unless released.
class Handle {
 public:
  Handle() = default;
  Handle(int fd, std::string type) : fd_(fd), type_(std::move(type)) {}
  Handle(Handle&& o) noexcept : fd_(std::exchange(o.fd_, -1)), type_(std::move(o.type_)) {}
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  int fd() const { return fd_; }
  // "net.Socket", "net.Server", "net.Native", "dgram.Socket"...: the type Node gave it.
  const std::string& type() const { return type_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string type_;
};

using SendCallback = std::function<void(const std::optional<Error>& error)>;
using MessageListener = std::function<void(const json::Value& message, Handle* handle)>;

struct ChannelLimits {
  std::size_t max_message_bytes = 64 * 1024 * 1024;  // a longer line is an error, then skipped
  std::size_t max_depth = 512;                       // JSON nesting
  // Replies we owe the peer (NODE_HANDLE_ACK/NACK) that it has not read. A peer that keeps
  // sending NODE_HANDLE without reading them is failed past this: ERR_IPC_PEER_NOT_READING, and
  // the channel closes (nothing else we queue grows without the user's own sends).
  std::size_t max_owed_reply_bytes = 1024 * 1024;
};

class Channel {
 public:
  // Takes ownership of `fd`, a connected stream socket (non-blocking, close-on-exec).
  Channel(detail::LoopCore& loop, int fd, ChannelLimits limits = {});
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Queues one message. Returns false once 128 KiB or more waits to be written (Node's rule), or
  // when the channel is closed (the callback, or else an 'error', gets ERR_IPC_CHANNEL_CLOSED).
  bool send(const json::Value& message, SendCallback callback = {});
  // With a descriptor (a TCP or Unix stream socket, listening or connected, or a UDP socket):
  // sent as Node's NODE_HANDLE; later sends wait until the peer acknowledges it. The descriptor
  // is duplicated; the caller keeps its own.
  bool send(const json::Value& message, int handle_fd, SendCallback callback = {});

  // Closes the channel once queued messages are written; 'disconnect' follows. A second call
  // emits 'error' ERR_IPC_DISCONNECTED, as Node.
  void disconnect();
  bool connected() const { return connected_; }
  std::size_t write_queue_size() const { return queued_bytes_; }

  ListenerId on_message(MessageListener fn);
  ListenerId on_internal_message(std::function<void(const json::Value&)> fn) {
    return internal_.on(std::move(fn));
  }
  ListenerId on_disconnect(std::function<void()> fn);
  // Bad input from the peer (invalid JSON, too deep, too long), write failures, misuse.
  ListenerId on_error(std::function<void(const Error&)> fn) { return error_.on(std::move(fn)); }
  // Fires once the descriptor is closed (after 'disconnect').
  ListenerId on_close(std::function<void()> fn) { return close_.on(std::move(fn)); }
  void remove_listener(ListenerId id);
  // Drops every listener (their captures too), e.g. once the owner is done with the channel.
  void remove_all_listeners();

  // By default the channel keeps its loop alive while it has 'message' or 'disconnect'
  // listeners (as a Node child's does); unref() drops that, ref() restores it.
  void ref();
  void unref();

 private:
  struct Outgoing {
    std::string bytes;
    std::size_t offset = 0;
    int handle_fd = -1;  // sent with the first byte, then kept until the ACK
    SendCallback callback;
    bool reply = false;  // ACK/NACK owed to the peer: counted in owed_reply_bytes_
  };

  void on_io(unsigned events);
  void read_available();
  void handle_line(std::string_view line);
  void handle_internal(const json::Value& message);
  void flush();
  bool enqueue(std::string bytes, int handle_fd, SendCallback callback, bool bypass_handle_wait,
               bool reply = false);
  void reply(const char* cmd);
  void fail_send(SendCallback& callback);
  void emit_error(const std::string& code, const std::string& message);
  void update_watch();
  void close_now();
  void finish_disconnect();

  detail::LoopCore& loop_;
  ChannelLimits limits_;
  int fd_;
  std::uint64_t watch_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool connected_ = true;
  bool closing_ = false;  // disconnect() called: close once the queue is written
  bool referenced_ = true;
  std::string inbox_;        // bytes after the last newline
  bool discarding_ = false;  // inside an over-long line: drop until the next newline
  std::deque<int> received_fds_;
  std::deque<Outgoing> queue_;  // being written
  std::deque<Outgoing> held_;   // waiting for the ACK of a handle in flight
  std::size_t queued_bytes_ = 0;
  std::size_t owed_reply_bytes_ = 0;
  int handle_in_flight_ = -1;           // our duplicate, closed on ACK
  std::string handle_in_flight_bytes_;  // for a retransmission after a NACK
  int nacks_ = 0;

  Event<const json::Value&, Handle*> message_;
  Event<const json::Value&> internal_;
  Event<> disconnect_;
  Event<const Error&> error_;
  Event<> close_;
};

// Child side: the channel to the parent, found through NODE_CHANNEL_FD (both NODE_CHANNEL_*
// variables are then removed from the environment so grandchildren do not inherit them).
// nullptr when this process was not started with an IPC channel. Bound to `loop` on first call.
Channel* parent_channel(Loop& loop = default_loop());

}  // namespace ipc
}  // namespace childproc
