// ipc::Channel: Node's channel. Reading: JSON mode splits bytes on '\n' (a partial tail waits for
// the rest) and each line is one JSON document; advanced mode reads a 4-byte big-endian length,
// then that many bytes of V8's serialization. Objects whose cmd starts with NODE_ are internal.
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

bool is_internal_cmd(const std::string& s) {
  return s.size() > 5 && s.compare(0, 5, "NODE_") == 0;
}

bool is_internal(const json::Value& v) {
  const json::Value* cmd = v.is_object() ? v.find("cmd") : nullptr;
  return cmd != nullptr && cmd->is_string() && is_internal_cmd(cmd->as_string());
}

bool is_internal(const advanced::Value& v) {
  const advanced::Value* cmd = v.is<advanced::Object>() ? v.find("cmd") : nullptr;
  return cmd != nullptr && cmd->is_string() && is_internal_cmd(cmd->as_string());
}

std::string framed(const json::Value& v) {
  std::string out;
  json::stringify_to(v, out);
  out += '\n';
  return out;
}

// Node's advanced framing: the serialization's length (4 bytes, big-endian), then it.
std::string framed(const advanced::Value& v) {
  std::string out(4, '\0');
  advanced::serialize_to(v, out, advanced::HostObjects::kChildProcess);
  std::size_t n = out.size() - 4;
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (24 - 8 * i)) & 0xFF);
  return out;
}

// A string member of an internal message ("" when absent or not a string).
template <typename V>
std::string string_member(const V& message, const char* key) {
  const V* m = message.find(key);
  return m != nullptr && m->is_string() ? m->as_string() : std::string();
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
  Impl(detail::LoopCore& loop, detail::UniqueHandle handle, ChannelLimits limits, int peer_pid,
       Serialization serialization)
      : loop_(loop), limits_(limits), serialization_(serialization) {
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
    bool listened = message_.listener_count() + advanced_message_.listener_count() +
                        disconnect_.listener_count() >
                    0;
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
    if (serialization_ == Serialization::kAdvanced) return on_advanced_data(data);
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

  // Advanced framing: each message is its 4-byte length and that many bytes. inbox_ holds the
  // header and the part of a message read so far; a message that came whole in `data` is read
  // where it lies.
  void on_advanced_data(std::string_view data) {
    std::weak_ptr<bool> alive = alive_;
    while (!data.empty()) {
      if (skipping_ > 0) {  // the rest of an over-long message
        std::size_t n = std::min(skipping_, data.size());
        skipping_ -= n;
        data.remove_prefix(n);
        continue;
      }
      if (inbox_.size() < 4) {
        std::size_t n = std::min<std::size_t>(4 - inbox_.size(), data.size());
        inbox_.append(data.substr(0, n));
        data.remove_prefix(n);
        if (inbox_.size() < 4) return;
      }
      std::size_t size = 0;
      for (int i = 0; i < 4; ++i)
        size = (size << 8) | static_cast<unsigned char>(inbox_[static_cast<std::size_t>(i)]);
      if (size > limits_.max_message_bytes) {
        inbox_.clear();
        skipping_ = size;
        emit_error("ERR_IPC_MESSAGE_TOO_LARGE",
                   "IPC message of " + std::to_string(size) + " bytes, longer than " +
                       std::to_string(limits_.max_message_bytes) + "; skipped");
        if (alive.expired() || !transport_) return;
        continue;
      }
      if (inbox_.size() == 4 && data.size() >= size) {
        inbox_.clear();
        handle_serialized(data.substr(0, size));
        data.remove_prefix(size);
      } else {
        std::size_t n = std::min(size - (inbox_.size() - 4), data.size());
        inbox_.append(data.substr(0, n));
        data.remove_prefix(n);
        if (inbox_.size() - 4 < size) return;
        std::string message = std::move(inbox_);
        inbox_.clear();
        handle_serialized(std::string_view(message).substr(4));
      }
      if (alive.expired() || !transport_) return;
    }
  }

  void handle_serialized(std::string_view bytes) {
    advanced::Value message;
    try {
      message = advanced::deserialize(bytes, advanced::HostObjects::kChildProcess,
                                      {.max_depth = limits_.max_depth});
    } catch (const advanced::DeserializeError& e) {
      emit_error("ERR_IPC_BAD_MESSAGE",
                 std::string("invalid serialized message on the IPC channel: ") + e.what());
      return;
    }
    if (is_internal(message)) {
      const advanced::Value* inner = message.find("msg");
      handle_internal(string_member(message, "cmd"), string_member(message, "type"), nullptr, inner,
                      [&message]() -> std::optional<json::Value> {
                        try {
                          return advanced::to_json(message);
                        } catch (const std::invalid_argument&) {
                          return std::nullopt;  // not JSON: on_internal_message does not see it
                        }
                      });
      return;
    }
    deliver(nullptr, &message, nullptr);
  }

  // One message to both kinds of listener, each in its form (converted only if listened to).
  void deliver(const json::Value* as_json, const advanced::Value* as_value, Handle* handle) {
    std::weak_ptr<bool> alive = alive_;
    if (message_.listener_count() > 0) {
      if (as_json != nullptr) {
        message_.emit(*as_json, handle);
      } else {
        std::optional<json::Value> converted;
        try {
          converted = advanced::to_json(as_value != nullptr ? *as_value : advanced::Value());
        } catch (const std::invalid_argument& e) {
          emit_error("ERR_IPC_BAD_MESSAGE",
                     std::string("a message JSON cannot hold, for a JSON listener: ") + e.what());
        }
        if (converted && !alive.expired()) message_.emit(*converted, handle);
      }
      if (alive.expired()) return;
    }
    if (advanced_message_.listener_count() > 0) {
      if (as_value != nullptr)
        advanced_message_.emit(*as_value, handle);
      else
        advanced_message_.emit(advanced::from_json(as_json != nullptr ? *as_json : json::Value()),
                               handle);
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
      handle_internal(string_member(message, "cmd"), string_member(message, "type"),
                      message.find("msg"), nullptr,
                      [&message]() -> std::optional<json::Value> { return message; });
      return;
    }
    deliver(&message, nullptr, nullptr);
  }

  // A NODE_ message: `cmd` and `type` from it; its "msg" in the channel's form (json_inner or
  // value_inner); as_json: the whole message for on_internal_message (nullopt: not JSON).
  void handle_internal(const std::string& cmd, const std::string& type,
                       const json::Value* json_inner, const advanced::Value* value_inner,
                       const std::function<std::optional<json::Value>()>& as_json) {
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
      Handle handle(received.release(), type);
      if (serialization_ == Serialization::kAdvanced) {
        advanced::Value none;  // a NODE_HANDLE without msg: undefined
        deliver(nullptr, value_inner != nullptr ? value_inner : &none, &handle);
      } else {
        json::Value none;
        deliver(json_inner != nullptr ? json_inner : &none, nullptr, &handle);
      }
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
    if (internal_.listener_count() == 0) return;
    if (std::optional<json::Value> message = as_json()) internal_.emit(*message);
  }

  // An ACK or NACK for the peer. Replies are owed to it: a peer that never reads them while it
  // keeps asking for more would grow our queue without end, so past the limit it is failed.
  void reply(const char* cmd) {
    std::string bytes = encode(json::Value::object({{"cmd", cmd}}));
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

  // A message as this channel's serialization writes it.
  std::string encode(const json::Value& message) const {
    return serialization_ == Serialization::kAdvanced ? framed(advanced::from_json(message))
                                                      : framed(message);
  }
  std::string encode(const advanced::Value& message) const {
    return serialization_ == Serialization::kAdvanced ? framed(message)
                                                      : framed(advanced::to_json(message));
  }

  // Node's NODE_HANDLE: `wrap` encodes {cmd: 'NODE_HANDLE', type, msg} for the socket's type.
  bool send_with_socket(const std::function<std::string(const char* type)>& wrap,
                        NativeHandle socket, SendCallback callback) {
    detail::SocketKind kind = detail::socket_kind(socket);
    if (kind != detail::SocketKind::kStream && kind != detail::SocketKind::kStreamListening)
      throw InvalidArgumentError("ERR_INVALID_HANDLE_TYPE",
                                 "This handle type cannot be sent: only stream sockets "
                                 "(listening or connected) can be passed (handle " +
                                     std::to_string(socket) + ")");
    std::string bytes =
        wrap(kind == detail::SocketKind::kStreamListening ? "net.Server" : "net.Socket");
    if (!connected_) {
      fail_send(callback);
      return false;
    }
    detail::UniqueHandle duplicate;
    if (int err = detail::duplicate_handle(socket, duplicate); err != 0) {
      Error e = make_system_error(err, "dup");
      if (callback) {
        loop_.next_tick([callback = std::move(callback), e] { callback(e); });
      } else {
        error_.emit(e);
      }
      return false;
    }
    return send(std::move(bytes), std::move(duplicate), std::move(callback));
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
  Serialization serialization_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<detail::Transport> transport_;  // null once closed
  bool connected_ = true;
  bool closing_ = false;  // disconnect() called: close once the queue is written
  bool referenced_ = true;
  std::string inbox_;            // bytes after the last newline
  bool discarding_ = false;      // inside an over-long line: drop until the next newline
  std::size_t skipping_ = 0;     // advanced: bytes of an over-long message still to drop
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
  Event<const advanced::Value&, Handle*> advanced_message_;
  Event<const json::Value&> internal_;
  Event<> disconnect_;
  Event<const Error&> error_;
  Event<> close_;
};

Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Channel::~Channel() = default;

std::unique_ptr<Channel> Channel::open(Loop& loop, NativeHandle connected_socket,
                                       ChannelLimits limits, Serialization serialization) {
  detail::UniqueHandle handle(connected_socket);
  if (int err = detail::adopt_inherited_handle(connected_socket); err != 0)
    throw SystemError(make_system_error(err, "ipc::Channel::open"));
  return detail::make_channel(loop.impl(), std::move(handle), limits, -1, serialization);
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

ListenerId Channel::on_advanced_message(AdvancedMessageListener fn) {
  ListenerId id = impl_->advanced_message_.on(std::move(fn));
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
  c.message_.off(id) || c.advanced_message_.off(id) || c.internal_.off(id) ||
      c.disconnect_.off(id) || c.error_.off(id) || c.close_.off(id);
  c.update_ref();
}

void Channel::remove_all_listeners() {
  impl_->message_.clear();
  impl_->advanced_message_.clear();
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
  return impl_->send(impl_->encode(message), {}, std::move(callback));
}

bool Channel::send_advanced(const advanced::Value& message, SendCallback callback) {
  std::string bytes = impl_->encode(message);  // may throw, as JSON.stringify in Node's send()
  if (!impl_->connected_) {
    impl_->fail_send(callback);
    return false;
  }
  return impl_->send(std::move(bytes), {}, std::move(callback));
}

bool Channel::send(const json::Value& message, NativeHandle socket, SendCallback callback) {
  return impl_->send_with_socket(
      [&](const char* type) {
        return impl_->encode(
            json::Value::object({{"cmd", "NODE_HANDLE"}, {"type", type}, {"msg", message}}));
      },
      socket, std::move(callback));
}

bool Channel::send_advanced(const advanced::Value& message, NativeHandle socket,
                            SendCallback callback) {
  return impl_->send_with_socket(
      [&](const char* type) {
        return impl_->encode(
            advanced::Value::object({{"cmd", "NODE_HANDLE"}, {"type", type}, {"msg", message}}));
      },
      socket, std::move(callback));
}

Serialization Channel::serialization() const {
  return impl_->serialization_;
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
  const char* mode_variable = std::getenv("NODE_CHANNEL_SERIALIZATION_MODE");
  Serialization serialization = mode_variable != nullptr && std::string(mode_variable) == "advanced"
                                    ? Serialization::kAdvanced
                                    : Serialization::kJson;
  // Not inherited further, whatever happens next, as a Node child does.
  detail::remove_environment_variable("NODE_CHANNEL_FD");
  detail::remove_environment_variable("NODE_CHANNEL_SERIALIZATION_MODE");
  if (!valid) return nullptr;
  detail::UniqueHandle channel;
  if (detail::take_inherited_channel(static_cast<int>(fd), channel) != 0) return nullptr;
  g_parent_channel = detail::make_channel(loop.impl(), std::move(channel), {},
                                          detail::parent_process_id(), serialization);
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
                                           ipc::ChannelLimits limits, int peer_pid,
                                           Serialization serialization) {
  return std::make_unique<ipc::Channel>(std::make_unique<ipc::Channel::Impl>(
      loop, std::move(handle), limits, peer_pid, serialization));
}

}  // namespace detail
}  // namespace childproc
