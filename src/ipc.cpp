// ipc::Channel: Node's JSON channel. Reading: bytes are split on '\n' (a partial tail waits for
// the rest); each line is one JSON document; objects whose cmd starts with NODE_ are internal.
// Writing: one message = one queued buffer; a handle rides with the first byte of its message
// and, as in Node, everything sent after it waits until the peer acknowledges it.
#include "childproc/ipc.hpp"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <mutex>

#include "internal/errc.hpp"
#include "internal/handle.hpp"
#include "internal/loop_core.hpp"
#include "internal/pipe.hpp"
#include "internal/process.hpp"
#include "internal/stream_impl.hpp"
#include "internal/transport.hpp"

namespace childproc {
namespace ipc {

namespace {

constexpr std::size_t kBackpressureBytes = 128 * 1024;  // Node: writeQueueSize < 65536 * 2
constexpr std::size_t kMaxPendingHandles = 64;          // descriptors received, not yet claimed
constexpr int kMaxHandleRetransmissions = 3;

bool is_internal(const json::Value& v) {
  const json::Value* cmd = v.is_object() ? v.find("cmd") : nullptr;
  if (cmd == nullptr || !cmd->is_string()) return false;
  const std::string& s = cmd->as_string();
  return s.size() > 5 && s.compare(0, 5, "NODE_") == 0;
}

std::string framed(const json::Value& v) {
  std::string out;
  json::stringify_to(v, out);
  out += '\n';
  return out;
}

Error channel_error(const std::string& code, const std::string& message) {
  Error e;
  e.code = code;
  e.message = message;
  return e;
}

Error closed_error() {
  return channel_error("ERR_IPC_CHANNEL_CLOSED", "Channel closed");
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (handle_ != kInvalidNativeHandle) detail::close_handle(handle_);
    handle_ = std::exchange(o.handle_, kInvalidNativeHandle);
    type_ = std::move(o.type_);
  }
  return *this;
}

Handle::~Handle() {
  if (handle_ != kInvalidNativeHandle) detail::close_handle(handle_);
}

class Channel::Impl {
 public:
  Impl(detail::LoopCore& loop, detail::UniqueHandle handle, ChannelLimits limits, int peer_pid)
      : loop_(loop), limits_(limits) {
    detail::Transport::Events events;
    events.on_data = [this](std::string_view data) { on_data(data); };
    events.on_handle = [this](detail::UniqueHandle h) {
      // A peer flooding us with handles gets the surplus closed.
      if (received_.size() < kMaxPendingHandles) received_.push_back(std::move(h));
    };
    events.on_read_end = [this](int error) { on_read_end(error); };
    events.on_protocol_error = [this](const std::string& what) {
      protocol_error_ = true;
      emit_error("ERR_IPC_BAD_FRAME", what);
    };
    transport_ = detail::open_transport(loop, std::move(handle), detail::TransportKind::kIpc,
                                        std::move(events), peer_pid);
    transport_->set_reading(true);
    update_ref();
  }

  // A message waiting for the ACK of a handle sent before it (Node's _handleQueue).
  struct Held {
    std::string bytes;
    detail::UniqueHandle handle;  // our duplicate, when this message carries one
    SendCallback callback;
  };

  void update_ref() {
    if (!transport_) return;
    // Queued writes always hold the loop (the transport sees to it); otherwise only listeners
    // do (a Node child's rule), and only while referenced.
    bool listened = message_.listener_count() + disconnect_.listener_count() > 0;
    transport_->set_ref(referenced_ && listened);
  }

  void on_read_end(int error) {
    std::weak_ptr<bool> alive = alive_;
    if (error != 0) {
      // A bad frame was reported already; the channel closes as after a read error.
      if (!protocol_error_) emit_error(errno_name(error), "IPC channel read failed");
      if (alive.expired()) return;
      bool was_connected = connected_;
      close_now();
      if (was_connected) finish_disconnect();
      return;
    }
    // EOF: the peer closed its end.
    if (!inbox_.empty()) emit_error("ERR_IPC_BAD_MESSAGE", "IPC channel closed mid-message");
    if (alive.expired()) return;
    bool was_connected = connected_;
    close_now();
    if (was_connected) finish_disconnect();
  }

  void on_data(std::string_view data) {
    std::weak_ptr<bool> alive = alive_;
    while (!data.empty()) {
      auto nl = data.find('\n');
      if (discarding_) {  // the rest of an over-long line
        if (nl == std::string_view::npos) break;
        discarding_ = false;
        data.remove_prefix(nl + 1);
        continue;
      }
      if (nl == std::string_view::npos) {
        if (inbox_.size() + data.size() > limits_.max_message_bytes) {
          inbox_.clear();
          discarding_ = true;
          emit_error("ERR_IPC_MESSAGE_TOO_LARGE", "IPC message longer than " +
                                                      std::to_string(limits_.max_message_bytes) +
                                                      " bytes; skipped up to the next newline");
        } else {
          inbox_.append(data);
        }
        return;
      }
      if (inbox_.empty()) {
        handle_line(data.substr(0, nl));
      } else {
        inbox_.append(data.substr(0, nl));
        std::string line = std::move(inbox_);
        inbox_.clear();
        handle_line(line);
      }
      if (alive.expired() || !transport_) return;
      data.remove_prefix(nl + 1);
    }
  }

  void handle_line(std::string_view line) {
    json::Value message;
    try {
      message = json::parse(line, {.max_depth = limits_.max_depth});
    } catch (const json::ParseError& e) {
      // Node would crash here; a bad line costs only itself.
      emit_error("ERR_IPC_BAD_MESSAGE",
                 std::string("invalid JSON on the IPC channel: ") + e.what());
      return;
    }
    if (is_internal(message)) {
      handle_internal(message);
      return;
    }
    message_.emit(message, nullptr);
  }

  void handle_internal(const json::Value& message) {
    const std::string& cmd = message.find("cmd")->as_string();
    std::weak_ptr<bool> alive = alive_;
    if (cmd == "NODE_HANDLE") {
      // The handle that came with this chunk belongs to this message; always answer, or a Node
      // peer stalls every later send.
      if (received_.empty()) {
        reply("NODE_HANDLE_NACK");
        return;
      }
      detail::UniqueHandle received = std::move(received_.front());
      received_.pop_front();
      reply("NODE_HANDLE_ACK");
      if (alive.expired() || !transport_) return;
      const json::Value* type = message.find("type");
      Handle handle(received.release(), type && type->is_string() ? type->as_string() : "");
      const json::Value* inner = message.find("msg");
      message_.emit(inner ? *inner : json::Value(), &handle);
      return;  // the handle closes here unless a listener released it
    }
    if (cmd == "NODE_HANDLE_ACK" || cmd == "NODE_HANDLE_NACK") {
      if (cmd == "NODE_HANDLE_NACK" && in_flight_handle_ && ++nacks_ <= kMaxHandleRetransmissions) {
        write(in_flight_bytes_, in_flight_handle_.get(), {}, false);
        return;
      }
      in_flight_handle_.reset();
      awaiting_ack_ = false;
      nacks_ = 0;
      // Release what waited behind the handle, up to and including the next handle.
      while (!held_.empty()) {
        Held h = std::move(held_.front());
        held_.pop_front();
        held_bytes_ -= h.bytes.size();
        bool is_handle = static_cast<bool>(h.handle);
        if (is_handle) {
          awaiting_ack_ = true;
          in_flight_handle_ = std::move(h.handle);
          in_flight_bytes_ = h.bytes;
        }
        write(h.bytes, is_handle ? in_flight_handle_.get() : kInvalidNativeHandle,
              std::move(h.callback), false);
        if (is_handle || !transport_) break;
      }
      if (alive.expired()) return;
      maybe_finish_closing();
    }
    internal_.emit(message);
  }

  // An ACK or NACK for the peer. Replies are owed to it: a peer that never reads them while it
  // keeps asking for more would grow our queue without end, so past the limit it is failed.
  void reply(const char* cmd) {
    std::string bytes = framed(json::Value::object({{"cmd", cmd}}));
    owed_reply_bytes_ += bytes.size();
    write(bytes, kInvalidNativeHandle, {}, true);
    if (!transport_ || owed_reply_bytes_ <= limits_.max_owed_reply_bytes) return;
    std::weak_ptr<bool> alive = alive_;
    emit_error("ERR_IPC_PEER_NOT_READING",
               "the IPC peer left " + std::to_string(owed_reply_bytes_) +
                   " bytes of NODE_HANDLE replies unread (limit " +
                   std::to_string(limits_.max_owed_reply_bytes) + "); channel closed");
    if (alive.expired()) return;
    bool was_connected = connected_;
    close_now();
    if (was_connected) finish_disconnect();
  }

  // `handle`: our duplicate, when the message carries one.
  bool send(std::string bytes, detail::UniqueHandle handle, SendCallback callback) {
    if (awaiting_ack_) {
      // A handle awaits its ACK: everything queues behind it, in order.
      held_bytes_ += bytes.size();
      held_.push_back(Held{std::move(bytes), std::move(handle), std::move(callback)});
      return held_.size() == 1;
    }
    NativeHandle pass = kInvalidNativeHandle;
    if (handle) {
      awaiting_ack_ = true;
      in_flight_handle_ = std::move(handle);  // kept until the ACK, for a retransmission
      in_flight_bytes_ = bytes;
      pass = in_flight_handle_.get();
    }
    write(bytes, pass, std::move(callback), false);
    return write_queue_size() < kBackpressureBytes;
  }

  void write(std::string_view bytes, NativeHandle pass, SendCallback callback, bool reply) {
    if (!transport_) {
      if (callback) loop_.next_tick([cb = std::move(callback)] { cb(closed_error()); });
      return;
    }
    std::weak_ptr<bool> alive = alive_;
    std::size_t size = bytes.size();
    transport_->write(
        bytes,
        [this, alive, cb = std::move(callback), reply, size](int error) mutable {
          if (alive.expired()) return;  // the channel is gone, and with it whoever waited
          on_write_done(error, cb, reply ? size : 0);
        },
        pass);
  }

  void on_write_done(int error, SendCallback& callback, std::size_t reply_bytes) {
    owed_reply_bytes_ -= std::min(owed_reply_bytes_, reply_bytes);
    if (error == 0) {
      if (callback) callback(std::nullopt);
      maybe_finish_closing();
      return;
    }
    if (error == detail::os::kECANCELED || !transport_) {
      if (callback) callback(closed_error());
      return;
    }
    // The first failed write: it gets the error, and the channel closes (later writes learn
    // ERR_IPC_CHANNEL_CLOSED).
    std::weak_ptr<bool> alive = alive_;
    Error e = make_system_error(error, "write");
    if (callback) {
      callback(e);
    } else {
      error_.emit(e);
    }
    if (alive.expired() || !transport_) return;
    close_now();
    finish_disconnect();
  }

  std::size_t write_queue_size() const {
    return held_bytes_ + (transport_ ? transport_->write_queue_size() : 0);
  }

  void maybe_finish_closing() {
    if (closing_ && transport_ && transport_->write_queue_size() == 0 && held_.empty() &&
        !awaiting_ack_) {
      close_now();
      finish_disconnect();
    }
  }

  void fail_send(SendCallback& callback) {
    Error e = closed_error();
    if (callback) {
      loop_.next_tick([cb = std::move(callback), e] { cb(e); });
    } else {
      std::weak_ptr<bool> alive = alive_;
      loop_.next_tick([this, alive, e] {
        if (!alive.expired()) error_.emit(e);
      });
    }
  }

  void emit_error(const std::string& code, const std::string& message) {
    error_.emit(channel_error(code, message));
  }

  void disconnect() {
    if (!connected_) {
      std::weak_ptr<bool> alive = alive_;
      loop_.next_tick([this, alive] {
        if (!alive.expired())
          emit_error("ERR_IPC_DISCONNECTED", "IPC channel is already disconnected");
      });
      return;
    }
    connected_ = false;  // at once, as Node
    closing_ = true;
    // Closes now if nothing is pending; otherwise once it is written (and acknowledged).
    maybe_finish_closing();
  }

  void finish_disconnect() {
    std::weak_ptr<bool> alive = alive_;
    loop_.next_tick([this, alive] {
      if (!alive.expired()) disconnect_.emit();
    });
  }

  void close_now() {
    if (!transport_) return;
    connected_ = false;
    transport_.reset();  // queued writes complete with ECANCELED: ERR_IPC_CHANNEL_CLOSED
    received_.clear();
    for (Held& h : held_)
      if (h.callback) loop_.next_tick([cb = std::move(h.callback)] { cb(closed_error()); });
    held_.clear();
    held_bytes_ = 0;
    owed_reply_bytes_ = 0;
    in_flight_handle_.reset();
    awaiting_ack_ = false;
    std::weak_ptr<bool> alive = alive_;
    loop_.next_tick([this, alive] {
      if (!alive.expired()) close_.emit();
    });
  }

  detail::LoopCore& loop_;
  ChannelLimits limits_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<detail::Transport> transport_;  // null once closed
  bool connected_ = true;
  bool closing_ = false;  // disconnect() called: close once the queue is written
  bool referenced_ = true;
  std::string inbox_;            // bytes after the last newline
  bool discarding_ = false;      // inside an over-long line: drop until the next newline
  bool protocol_error_ = false;  // the transport's framing broke (reported as ERR_IPC_BAD_FRAME)
  std::deque<detail::UniqueHandle> received_;  // arrived, not yet claimed by a NODE_HANDLE
  std::deque<Held> held_;
  std::size_t held_bytes_ = 0;
  std::size_t owed_reply_bytes_ = 0;
  bool awaiting_ack_ = false;              // a handle was sent and not yet acknowledged
  detail::UniqueHandle in_flight_handle_;  // its duplicate, for a retransmission after a NACK
  std::string in_flight_bytes_;
  int nacks_ = 0;

  Event<const json::Value&, Handle*> message_;
  Event<const json::Value&> internal_;
  Event<> disconnect_;
  Event<const Error&> error_;
  Event<> close_;
};

Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Channel::~Channel() = default;

std::unique_ptr<Channel> Channel::open(Loop& loop, NativeHandle connected_socket,
                                       ChannelLimits limits) {
  detail::UniqueHandle handle(connected_socket);
  if (int err = detail::adopt_inherited_handle(connected_socket); err != 0)
    throw SystemError(make_system_error(err, "ipc::Channel::open"));
  return detail::make_channel(loop.impl(), std::move(handle), limits);
}

bool Channel::connected() const {
  return impl_->connected_;
}

std::size_t Channel::write_queue_size() const {
  return impl_->write_queue_size();
}

ListenerId Channel::on_message(MessageListener fn) {
  ListenerId id = impl_->message_.on(std::move(fn));
  impl_->update_ref();
  return id;
}

ListenerId Channel::on_internal_message(std::function<void(const json::Value&)> fn) {
  return impl_->internal_.on(std::move(fn));
}

ListenerId Channel::on_disconnect(std::function<void()> fn) {
  ListenerId id = impl_->disconnect_.on(std::move(fn));
  impl_->update_ref();
  return id;
}

ListenerId Channel::on_error(std::function<void(const Error&)> fn) {
  return impl_->error_.on(std::move(fn));
}

ListenerId Channel::on_close(std::function<void()> fn) {
  return impl_->close_.on(std::move(fn));
}

void Channel::remove_listener(ListenerId id) {
  Impl& c = *impl_;
  c.message_.off(id) || c.internal_.off(id) || c.disconnect_.off(id) || c.error_.off(id) ||
      c.close_.off(id);
  c.update_ref();
}

void Channel::remove_all_listeners() {
  impl_->message_.clear();
  impl_->internal_.clear();
  impl_->disconnect_.clear();
  impl_->error_.clear();
  impl_->close_.clear();
  impl_->update_ref();
}

void Channel::ref() {
  impl_->referenced_ = true;
  impl_->update_ref();
}

void Channel::unref() {
  impl_->referenced_ = false;
  impl_->update_ref();
}

bool Channel::send(const json::Value& message, SendCallback callback) {
  if (!impl_->connected_) {
    impl_->fail_send(callback);
    return false;
  }
  return impl_->send(framed(message), {}, std::move(callback));
}

bool Channel::send(const json::Value& message, NativeHandle socket, SendCallback callback) {
  detail::SocketKind kind = detail::socket_kind(socket);
  if (kind != detail::SocketKind::kStream && kind != detail::SocketKind::kStreamListening)
    throw InvalidArgumentError("ERR_INVALID_HANDLE_TYPE",
                               "This handle type cannot be sent: only stream sockets "
                               "(listening or connected) can be passed (handle " +
                                   std::to_string(socket) + ")");
  if (!impl_->connected_) {
    impl_->fail_send(callback);
    return false;
  }
  detail::UniqueHandle duplicate;
  if (int err = detail::duplicate_handle(socket, duplicate); err != 0) {
    Error e = make_system_error(err, "dup");
    if (callback) {
      impl_->loop_.next_tick([callback = std::move(callback), e] { callback(e); });
    } else {
      impl_->error_.emit(e);
    }
    return false;
  }
  json::Value wrapped = json::Value::object(
      {{"cmd", "NODE_HANDLE"},
       {"type", kind == detail::SocketKind::kStreamListening ? "net.Server" : "net.Socket"},
       {"msg", message}});
  return impl_->send(framed(wrapped), std::move(duplicate), std::move(callback));
}

void Channel::disconnect() {
  impl_->disconnect();
}

namespace {
std::mutex g_parent_mutex;
std::unique_ptr<Channel> g_parent_channel;
bool g_parent_looked = false;
}  // namespace

Channel* parent_channel(Loop& loop) {
  std::lock_guard lock(g_parent_mutex);
  if (g_parent_looked) return g_parent_channel.get();
  g_parent_looked = true;
  const char* fd_variable = std::getenv("NODE_CHANNEL_FD");
  if (fd_variable == nullptr) return nullptr;
  // A copy: removing the variable may free the environment's string (Windows' C runtime does).
  const std::string fd_text = fd_variable;
  char* end = nullptr;
  long fd = std::strtol(fd_text.c_str(), &end, 10);
  bool valid = end != fd_text.c_str() && *end == '\0' && fd >= 0 && fd <= 1 << 20;
  // Not inherited further, whatever happens next, as a Node child does.
  detail::remove_environment_variable("NODE_CHANNEL_FD");
  detail::remove_environment_variable("NODE_CHANNEL_SERIALIZATION_MODE");
  if (!valid) return nullptr;
  detail::UniqueHandle channel;
  if (detail::take_inherited_channel(static_cast<int>(fd), channel) != 0) return nullptr;
  g_parent_channel =
      detail::make_channel(loop.impl(), std::move(channel), {}, detail::parent_process_id());
  // The channel dies with its loop.
  loop.impl().on_destroy([] {
    std::lock_guard inner(g_parent_mutex);
    g_parent_channel.reset();
  });
  return g_parent_channel.get();
}

}  // namespace ipc

namespace detail {

std::unique_ptr<ipc::Channel> make_channel(LoopCore& loop, UniqueHandle handle,
                                           ipc::ChannelLimits limits, int peer_pid) {
  return std::make_unique<ipc::Channel>(
      std::make_unique<ipc::Channel::Impl>(loop, std::move(handle), limits, peer_pid));
}

}  // namespace detail
}  // namespace childproc
