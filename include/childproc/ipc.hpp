// The IPC channel, wire-compatible with Node's: one JSON.stringify(message) + "\n" per message
// over a socket pair (on Windows a named pipe carrying libuv's frames), handles passed with
// SCM_RIGHTS under Node's NODE_HANDLE protocol. With serialization 'advanced' each message is
// instead V8's serialization of the value (childproc/advanced.hpp) after its 4-byte big-endian
// length, as Node's advanced channel writes it.
//
// Messages come and go in either form on either kind of channel: json::Value (send, on_message)
// and advanced::Value (send_advanced, on_advanced_message). An advanced value on a JSON channel,
// or reaching a JSON listener, becomes what JSON.parse(JSON.stringify(value)) is in Node.
//
// Parent side: ChildProcess::send()/on_message() (after fork(), or an "ipc" stdio slot).
// Child side:  childproc::ipc::parent_channel() — what process.send/process.on('message') are
//              to a Node child; it works whether the parent is Node or C++.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "childproc/advanced.hpp"
#include "childproc/error.hpp"
#include "childproc/event.hpp"
#include "childproc/json.hpp"
#include "childproc/loop.hpp"
#include "childproc/native_handle.hpp"
#include "childproc/options.hpp"

namespace childproc {
namespace ipc {

// A socket received with a message (Node's sendHandle), owned: closed unless released.
class Handle {
 public:
  Handle() = default;
  Handle(NativeHandle handle, std::string type) : handle_(handle), type_(std::move(type)) {}
  Handle(Handle&& o) noexcept
      : handle_(std::exchange(o.handle_, kInvalidNativeHandle)), type_(std::move(o.type_)) {}
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  NativeHandle native_handle() const { return handle_; }
  // "net.Socket", "net.Server", "net.Native", "dgram.Socket"...: the type Node gave it.
  const std::string& type() const { return type_; }
  NativeHandle release() { return std::exchange(handle_, kInvalidNativeHandle); }
  explicit operator bool() const { return handle_ != kInvalidNativeHandle; }

 private:
  NativeHandle handle_ = kInvalidNativeHandle;
  std::string type_;
};

using SendCallback = std::function<void(const std::optional<Error>& error)>;
using MessageListener = std::function<void(const json::Value& message, Handle* handle)>;
using AdvancedMessageListener = std::function<void(const advanced::Value& message, Handle* handle)>;

struct ChannelLimits {
  std::size_t max_message_bytes = 64 * 1024 * 1024;  // a longer line is an error, then skipped
  std::size_t max_depth = 512;                       // nesting (JSON or advanced)
  // Replies we owe the peer (NODE_HANDLE_ACK/NACK) that it has not read. A peer that keeps
  // sending NODE_HANDLE without reading them is failed past this: ERR_IPC_PEER_NOT_READING, and
  // the channel closes (nothing else we queue grows without the user's own sends).
  std::size_t max_owed_reply_bytes = 1024 * 1024;
};

class Channel {
 public:
  // Node's protocol over a connected stream socket of the caller's (a Unix socket on POSIX; on
  // Windows an overlapped named pipe handle, spoken in libuv's frames, whose sockets go to the
  // process at the pipe's other end), which the channel then owns. Throws SystemError when the
  // socket cannot be readied.
  // `serialization` must be what the peer speaks (Node's fork option of that name).
  static std::unique_ptr<Channel> open(Loop& loop, NativeHandle connected_socket,
                                       ChannelLimits limits = {},
                                       Serialization serialization = Serialization::kJson);

  // Channels are made by open(), fork(), an "ipc" stdio slot or parent_channel(); Impl is their
  // private state.
  class Impl;
  explicit Channel(std::unique_ptr<Impl> impl);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Queues one message. Returns false once 128 KiB or more waits to be written (Node's rule), or
  // when the channel is closed (the callback, or else an 'error', gets ERR_IPC_CHANNEL_CLOSED).
  bool send(const json::Value& message, SendCallback callback = {});
  // With a socket (a TCP or Unix stream socket, listening or connected; on Windows a TCP
  // SOCKET): sent as Node's NODE_HANDLE; later sends wait until the peer acknowledges it. The
  // socket is duplicated; the caller keeps its own.
  bool send(const json::Value& message, NativeHandle socket, SendCallback callback = {});

  // Any value of Node's advanced serialization (Map, Set, BigInt, Date, Buffer, cycles...). On a
  // JSON channel it is sent as JSON.stringify would (std::invalid_argument, as Node's TypeError,
  // for a BigInt or a cycle).
  bool send_advanced(const advanced::Value& message, SendCallback callback = {});
  bool send_advanced(const advanced::Value& message, NativeHandle socket,
                     SendCallback callback = {});
  Serialization serialization() const;

  // Closes the channel once queued messages are written; 'disconnect' follows. A second call
  // emits 'error' ERR_IPC_DISCONNECTED, as Node.
  void disconnect();
  bool connected() const;
  // Bytes of messages not yet handed to the OS, those waiting behind a handle included.
  std::size_t write_queue_size() const;

  // Each message as JSON (on an advanced channel: JSON.parse(JSON.stringify(message)); one JSON
  // cannot hold, a BigInt or a cycle, is an 'error' ERR_IPC_BAD_MESSAGE for these listeners).
  ListenerId on_message(MessageListener fn);
  // Each message as the value it is (on a JSON channel: the parsed JSON).
  ListenerId on_advanced_message(AdvancedMessageListener fn);
  ListenerId on_internal_message(std::function<void(const json::Value&)> fn);
  ListenerId on_disconnect(std::function<void()> fn);
  // Bad input from the peer (invalid JSON, too deep, too long), write failures, misuse.
  ListenerId on_error(std::function<void(const Error&)> fn);
  // Fires once the channel's socket is closed (after 'disconnect').
  ListenerId on_close(std::function<void()> fn);
  void remove_listener(ListenerId id);
  // Drops every listener (their captures too), e.g. once the owner is done with the channel.
  void remove_all_listeners();

  // By default the channel keeps its loop alive while it has 'message' or 'disconnect'
  // listeners (as a Node child's does); unref() drops that, ref() restores it.
  void ref();
  void unref();

 private:
  std::unique_ptr<Impl> impl_;
};

// Child side: the channel to the parent, found through NODE_CHANNEL_FD, speaking what
// NODE_CHANNEL_SERIALIZATION_MODE says ('advanced', else JSON); both variables are then removed
// from the environment so grandchildren do not inherit them.
// nullptr when this process was not started with an IPC channel. Bound to `loop` on first call.
Channel* parent_channel(Loop& loop = default_loop());

}  // namespace ipc
}  // namespace childproc
