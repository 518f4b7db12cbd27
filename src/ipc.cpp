// ipc::Channel: Node's JSON channel. Reading: bytes are split on '\n' (a partial tail waits for
// the rest); each line is one JSON document; objects whose cmd starts with NODE_ are internal.
// Writing: one message = one queued buffer; a handle rides with the first byte of its message
// and, as in Node, everything sent after it waits until the peer acknowledges it.
#include "childproc/ipc.hpp"

#include <cstdlib>
#include <mutex>

#include "internal/errc.hpp"
#include "internal/fd.hpp"
#include "internal/loop_core.hpp"
#include "internal/pipe.hpp"
#include "internal/process.hpp"

namespace childproc::ipc {

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

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) detail::close_descriptor(fd_);
    fd_ = std::exchange(o.fd_, -1);
    type_ = std::move(o.type_);
  }
  return *this;
}

Handle::~Handle() {
  if (fd_ >= 0) detail::close_descriptor(fd_);
}

Channel::Channel(detail::LoopCore& loop, int fd, ChannelLimits limits)
    : loop_(loop), limits_(limits), fd_(fd) {
  watch_ = loop_.watch(fd_, 0, [this](unsigned events) { on_io(events); });
  update_watch();
}

Channel::~Channel() {
  if (fd_ >= 0) {
    loop_.unwatch(watch_);
    detail::close_descriptor(fd_);
  }
  for (int fd : received_fds_)
    detail::close_descriptor(fd);
  if (handle_in_flight_ >= 0) detail::close_descriptor(handle_in_flight_);
  for (auto* q : {&queue_, &held_})
    for (auto& o : *q)
      if (o.handle_fd >= 0 && o.handle_fd != handle_in_flight_)
        detail::close_descriptor(o.handle_fd);
}

ListenerId Channel::on_message(MessageListener fn) {
  ListenerId id = message_.on(std::move(fn));
  update_watch();
  return id;
}

ListenerId Channel::on_disconnect(std::function<void()> fn) {
  ListenerId id = disconnect_.on(std::move(fn));
  update_watch();
  return id;
}

void Channel::remove_listener(ListenerId id) {
  message_.off(id) || internal_.off(id) || disconnect_.off(id) || error_.off(id) || close_.off(id);
  update_watch();
}

void Channel::remove_all_listeners() {
  message_.clear();
  internal_.clear();
  disconnect_.clear();
  error_.clear();
  close_.clear();
  update_watch();
}

void Channel::ref() {
  referenced_ = true;
  update_watch();
}

void Channel::unref() {
  referenced_ = false;
  update_watch();
}

void Channel::update_watch() {
  if (fd_ < 0) return;
  unsigned interest = detail::kIoReadable;
  if (!queue_.empty()) interest |= detail::kIoWritable;
  loop_.set_interest(watch_, interest);
  // Pending writes always hold the loop; otherwise only listeners do (a Node child's rule), and
  // only while referenced.
  bool listened = message_.listener_count() + disconnect_.listener_count() > 0;
  loop_.set_ref(watch_, !queue_.empty() || (referenced_ && listened));
}

void Channel::on_io(unsigned events) {
  if (!queue_.empty() && (events & (detail::kIoWritable | detail::kIoError | detail::kIoHangup)))
    flush();
  if (fd_ >= 0 && (events & (detail::kIoReadable | detail::kIoHangup | detail::kIoError)))
    read_available();
}

void Channel::read_available() {
  char buf[64 * 1024];
  std::weak_ptr<bool> alive = alive_;
  for (int round = 0; round < 8 && fd_ >= 0; ++round) {
    std::vector<int> fds;
    detail::IoCount n = detail::receive_with_fds(fd_, buf, sizeof buf, fds);
    for (int fd : fds) {
      if (received_fds_.size() < kMaxPendingHandles) {
        received_fds_.push_back(fd);
      } else {
        detail::close_descriptor(fd);  // a peer flooding us with descriptors gets them closed
      }
    }
    if (n == -detail::os::kEAGAIN) return;
    if (n < 0) {
      emit_error(errno_name(static_cast<int>(-n)), "IPC channel read failed");
      if (alive.expired()) return;
      close_now();
      return;
    }
    if (n == 0) {  // EOF: the peer closed its end
      if (!inbox_.empty()) emit_error("ERR_IPC_BAD_MESSAGE", "IPC channel closed mid-message");
      if (alive.expired()) return;
      bool was_connected = connected_;
      connected_ = false;
      close_now();
      if (was_connected) finish_disconnect();
      return;
    }
    std::string_view data(buf, static_cast<std::size_t>(n));
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
          if (alive.expired()) return;
        } else {
          inbox_.append(data);
        }
        break;
      }
      if (inbox_.empty()) {
        handle_line(data.substr(0, nl));
      } else {
        inbox_.append(data.substr(0, nl));
        std::string line = std::move(inbox_);
        inbox_.clear();
        handle_line(line);
      }
      if (alive.expired() || fd_ < 0) return;
      data.remove_prefix(nl + 1);
    }
    if (static_cast<std::size_t>(n) < sizeof buf) return;
  }
}

void Channel::handle_line(std::string_view line) {
  json::Value message;
  try {
    message = json::parse(line, {.max_depth = limits_.max_depth});
  } catch (const json::ParseError& e) {
    // Node would crash here; a bad line costs only itself.
    emit_error("ERR_IPC_BAD_MESSAGE", std::string("invalid JSON on the IPC channel: ") + e.what());
    return;
  }
  if (is_internal(message)) {
    handle_internal(message);
    return;
  }
  message_.emit(message, nullptr);
}

void Channel::handle_internal(const json::Value& message) {
  const std::string& cmd = message.find("cmd")->as_string();
  std::weak_ptr<bool> alive = alive_;
  if (cmd == "NODE_HANDLE") {
    // The descriptor that came with this chunk belongs to this message; always answer, or a Node
    // peer stalls every later send.
    if (received_fds_.empty()) {
      reply("NODE_HANDLE_NACK");
      return;
    }
    int fd = received_fds_.front();
    received_fds_.pop_front();
    reply("NODE_HANDLE_ACK");
    if (alive.expired() || fd_ < 0) {
      detail::close_descriptor(fd);
      return;
    }
    const json::Value* type = message.find("type");
    Handle handle(fd, type && type->is_string() ? type->as_string() : "");
    const json::Value* inner = message.find("msg");
    message_.emit(inner ? *inner : json::Value(), &handle);
    return;  // the handle closes here unless a listener released it
  }
  if (cmd == "NODE_HANDLE_ACK" || cmd == "NODE_HANDLE_NACK") {
    if (cmd == "NODE_HANDLE_NACK" && handle_in_flight_ >= 0 &&
        ++nacks_ <= kMaxHandleRetransmissions) {
      int again = detail::duplicate_descriptor(handle_in_flight_);
      if (again >= 0) {
        enqueue(handle_in_flight_bytes_, again, {}, true);
        return;
      }
    }
    if (handle_in_flight_ >= 0) detail::close_descriptor(handle_in_flight_);
    handle_in_flight_ = -1;
    nacks_ = 0;
    // Release what waited behind the handle, up to and including the next handle.
    while (!held_.empty()) {
      Outgoing o = std::move(held_.front());
      held_.pop_front();
      bool is_handle = o.handle_fd >= 0;
      if (is_handle) handle_in_flight_bytes_ = o.bytes;
      queue_.push_back(std::move(o));
      if (is_handle) {
        handle_in_flight_ = -2;  // pending: set to the descriptor once written
        break;
      }
    }
    flush();
    if (alive.expired()) return;
  }
  internal_.emit(message);
}

// An ACK or NACK for the peer. Replies are owed to it: a peer that never reads them while it
// keeps asking for more would grow our queue without end, so past the limit it is failed.
void Channel::reply(const char* cmd) {
  enqueue(framed(json::Value::object({{"cmd", cmd}})), -1, {}, true, true);
  if (fd_ < 0 || owed_reply_bytes_ <= limits_.max_owed_reply_bytes) return;
  std::weak_ptr<bool> alive = alive_;
  emit_error("ERR_IPC_PEER_NOT_READING", "the IPC peer left " + std::to_string(owed_reply_bytes_) +
                                             " bytes of NODE_HANDLE replies unread (limit " +
                                             std::to_string(limits_.max_owed_reply_bytes) +
                                             "); channel closed");
  if (alive.expired()) return;
  bool was_connected = connected_;
  close_now();
  if (was_connected) finish_disconnect();
}

bool Channel::send(const json::Value& message, SendCallback callback) {
  if (!connected_) {
    fail_send(callback);
    return false;
  }
  return enqueue(framed(message), -1, std::move(callback), false);
}

bool Channel::send(const json::Value& message, int handle_fd, SendCallback callback) {
  detail::SocketKind kind = detail::socket_kind(handle_fd);
  if (kind != detail::SocketKind::kStream && kind != detail::SocketKind::kStreamListening)
    throw InvalidArgumentError("ERR_INVALID_HANDLE_TYPE",
                               "This handle type cannot be sent: only stream sockets "
                               "(listening or connected) can be passed (fd " +
                                   std::to_string(handle_fd) + ")");
  if (!connected_) {
    fail_send(callback);
    return false;
  }
  int dup = detail::duplicate_descriptor(handle_fd);
  if (dup < 0) {
    Error e = make_system_error(-dup, "dup");
    if (callback) {
      loop_.next_tick([callback = std::move(callback), e] { callback(e); });
    } else {
      error_.emit(e);
    }
    return false;
  }
  json::Value wrapped = json::Value::object(
      {{"cmd", "NODE_HANDLE"},
       {"type", kind == detail::SocketKind::kStreamListening ? "net.Server" : "net.Socket"},
       {"msg", message}});
  return enqueue(framed(wrapped), dup, std::move(callback), false);
}

bool Channel::enqueue(std::string bytes, int handle_fd, SendCallback callback,
                      bool bypass_handle_wait, bool reply) {
  std::size_t size = bytes.size();
  Outgoing o{std::move(bytes), 0, handle_fd, std::move(callback), reply};
  if (reply) owed_reply_bytes_ += size;
  if (handle_in_flight_ != -1 && !bypass_handle_wait) {
    // A handle awaits its ACK: everything queues behind it, in order (Node's _handleQueue).
    held_.push_back(std::move(o));
    queued_bytes_ += size;
    return held_.size() == 1;
  }
  if (handle_fd >= 0 && !bypass_handle_wait) {
    handle_in_flight_ = -2;  // pending: set to the descriptor once written
    handle_in_flight_bytes_ = o.bytes;
  }
  queued_bytes_ += size;
  // A non-empty queue means the socket is full and its writable watch will flush: trying a
  // write per message would only collect EAGAINs. Behind it, a plain message joins the last
  // queued one, so that a burst leaves in a few large writes instead of one per message. (Not
  // into an entry with a callback: that callback would fire later than its own bytes left.)
  if (!queue_.empty()) {
    Outgoing& last = queue_.back();
    if (handle_fd < 0 && last.handle_fd < 0 && !last.callback && last.reply == reply) {
      last.bytes += o.bytes;
      last.callback = std::move(o.callback);
    } else {
      queue_.push_back(std::move(o));
    }
    return queued_bytes_ < kBackpressureBytes;
  }
  queue_.push_back(std::move(o));
  flush();
  return queued_bytes_ < kBackpressureBytes;
}

void Channel::flush() {
  std::weak_ptr<bool> alive = alive_;
  while (fd_ >= 0 && !queue_.empty()) {
    Outgoing& o = queue_.front();
    detail::IoCount n =
        detail::send_with_fd(fd_, o.bytes.data() + o.offset, o.bytes.size() - o.offset,
                             o.offset == 0 ? o.handle_fd : -1);
    if (n == -detail::os::kEAGAIN) break;
    if (n < 0) {
      Error e = make_system_error(static_cast<int>(-n), "write");
      if (o.callback) {
        loop_.next_tick([cb = std::move(o.callback), e] { cb(e); });
      } else {
        error_.emit(e);
        if (alive.expired()) return;
      }
      queue_.pop_front();
      close_now();
      finish_disconnect();
      return;
    }
    o.offset += static_cast<std::size_t>(n);
    queued_bytes_ -= static_cast<std::size_t>(n);
    if (o.reply) owed_reply_bytes_ -= static_cast<std::size_t>(n);
    if (o.offset < o.bytes.size()) break;
    if (o.handle_fd >= 0) {
      // Keep our duplicate until the peer acknowledges (or a retransmission needs it).
      if (handle_in_flight_ >= 0 && handle_in_flight_ != o.handle_fd)
        detail::close_descriptor(handle_in_flight_);
      handle_in_flight_ = o.handle_fd;
    }
    if (o.callback) loop_.next_tick([cb = std::move(o.callback)] { cb(std::nullopt); });
    queue_.pop_front();
  }
  update_watch();
  if (closing_ && queue_.empty() && held_.empty() && handle_in_flight_ == -1 && fd_ >= 0) {
    close_now();
    finish_disconnect();
  }
}

void Channel::fail_send(SendCallback& callback) {
  Error e = channel_error("ERR_IPC_CHANNEL_CLOSED", "Channel closed");
  if (callback) {
    loop_.next_tick([cb = std::move(callback), e] { cb(e); });
  } else {
    std::weak_ptr<bool> alive = alive_;
    loop_.next_tick([this, alive, e] {
      if (!alive.expired()) error_.emit(e);
    });
  }
}

void Channel::emit_error(const std::string& code, const std::string& message) {
  error_.emit(channel_error(code, message));
}

void Channel::disconnect() {
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
  flush();  // closes now if nothing is pending; otherwise once it is written (and acknowledged)
}

void Channel::finish_disconnect() {
  std::weak_ptr<bool> alive = alive_;
  loop_.next_tick([this, alive] {
    if (!alive.expired()) disconnect_.emit();
  });
}

void Channel::close_now() {
  if (fd_ < 0) return;
  connected_ = false;
  loop_.unwatch(watch_);
  detail::close_descriptor(fd_);
  fd_ = -1;
  for (int fd : received_fds_)
    detail::close_descriptor(fd);
  received_fds_.clear();
  for (auto* q : {&queue_, &held_}) {
    for (auto& o : *q) {
      if (o.handle_fd >= 0 && o.handle_fd != handle_in_flight_)
        detail::close_descriptor(o.handle_fd);
      if (o.callback) {
        Error e = channel_error("ERR_IPC_CHANNEL_CLOSED", "Channel closed");
        loop_.next_tick([cb = std::move(o.callback), e] { cb(e); });
      }
    }
    q->clear();
  }
  queued_bytes_ = 0;
  owed_reply_bytes_ = 0;
  if (handle_in_flight_ >= 0) detail::close_descriptor(handle_in_flight_);
  handle_in_flight_ = -1;
  std::weak_ptr<bool> alive = alive_;
  loop_.next_tick([this, alive] {
    if (!alive.expired()) close_.emit();
  });
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
  const char* fd_text = std::getenv("NODE_CHANNEL_FD");
  if (fd_text == nullptr) return nullptr;
  char* end = nullptr;
  long fd = std::strtol(fd_text, &end, 10);
  // Not inherited further, whatever happens next, as a Node child does.
  detail::remove_environment_variable("NODE_CHANNEL_FD");
  detail::remove_environment_variable("NODE_CHANNEL_SERIALIZATION_MODE");
  if (end == fd_text || *end != '\0' || fd < 0 || fd > 1 << 20) return nullptr;
  if (detail::adopt_inherited_descriptor(static_cast<int>(fd)) != 0) return nullptr;
  g_parent_channel = std::make_unique<Channel>(loop.core(), static_cast<int>(fd));
  // The channel dies with its loop.
  loop.core().on_destroy([] {
    std::lock_guard inner(g_parent_mutex);
    g_parent_channel.reset();
  });
  return g_parent_channel.get();
}

}  // namespace childproc::ipc
