// Stream: Node's net.Socket rules over a platform Transport. Reading flows from the start;
// pause() stops the transport's reads, which is the backpressure a child feels. Writing: the
// transport writes or queues; here live the high-water mark, 'drain', 'finish', and what a
// failed write does to the stream.
#include "childproc/stream.hpp"

#include <memory>

#include "internal/errc.hpp"
#include "internal/stream_impl.hpp"
#include "internal/transport.hpp"

namespace childproc {

namespace {

Error destroyed_error() {
  Error e;
  e.code = "ERR_STREAM_DESTROYED";
  e.message = "Cannot call write after a stream was destroyed";
  return e;
}

}  // namespace

class Stream::Impl {
 public:
  Impl(detail::LoopCore& loop, detail::UniqueHandle handle, bool readable, bool writable)
      : loop_(loop), readable_(readable), writable_(writable) {
    detail::Transport::Events events;
    events.on_data = [this](std::string_view chunk) { data_.emit(chunk); };
    events.on_read_end = [this](int error) { on_read_end(error); };
    transport_ = detail::open_transport(loop, std::move(handle), detail::TransportKind::kPipe,
                                        std::move(events));
    update_reading();
  }

  void update_reading() {
    if (transport_) transport_->set_reading(readable_ && !reading_done_ && !paused_);
  }

  void on_read_end(int error) {
    std::weak_ptr<bool> alive = alive_;
    if (error != 0) {
      error_.emit(make_system_error(error, "read"));
      if (!alive.expired()) destroy();
      return;
    }
    reading_done_ = true;
    end_.emit();
    if (alive.expired() || !transport_) return;
    // No half-open streams (Node's allowHalfOpen=false): the write side ends too.
    if (writable_ && pending_writes_ > 0) {
      ending_ = true;
    } else {
      destroy();
    }
  }

  bool write(std::string_view data, WriteCallback callback) {
    if (!writable_ || !transport_ || ending_) {
      Error e = destroyed_error();
      if (transport_) {
        e.code = "ERR_STREAM_WRITE_AFTER_END";
        e.message = "write after end";
      }
      if (callback) loop_.next_tick([cb = std::move(callback), e] { cb(e); });
      return false;
    }
    ++pending_writes_;
    std::weak_ptr<bool> alive = alive_;
    transport_->write(data, [this, alive, cb = std::move(callback)](int error) mutable {
      if (alive.expired()) return;  // the stream is gone, and with it whoever waited
      on_write_done(error, cb);
    });
    bool below = transport_->write_queue_size() < high_water_mark_;
    if (!below) needs_drain_ = true;
    return below;
  }

  void on_write_done(int error, WriteCallback& callback) {
    --pending_writes_;
    std::weak_ptr<bool> alive = alive_;
    if (error == detail::os::kECANCELED || (error != 0 && write_failed_)) {
      if (callback)
        callback(error == detail::os::kECANCELED ? destroyed_error()
                                                 : make_system_error(error, "write"));
      return;
    }
    if (error != 0) {
      // The first failed write (EPIPE: the child closed its end). As in Node: every queued
      // write's callback gets the error (the transport has already completed them, in order),
      // then 'error', then 'close'; the stream is destroyed now, so a callback writing again
      // gets ERR_STREAM_DESTROYED.
      write_failed_ = true;
      Error e = make_system_error(error, "write");
      transport_.reset();
      loop_.next_tick([this, alive, e] {
        if (!alive.expired()) error_.emit(e);
      });
      loop_.next_tick([this, alive] {
        if (!alive.expired()) close_.emit();
      });
      if (callback) callback(e);
      return;
    }
    if (callback) callback(std::nullopt);
    if (alive.expired() || pending_writes_ > 0 || !transport_) return;
    if (needs_drain_) {
      needs_drain_ = false;
      drain_.emit();
      if (alive.expired() || !transport_) return;
    }
    if (ending_) finish();
  }

  void end() {
    if (!writable_ || !transport_ || ending_) return;
    ending_ = true;
    if (pending_writes_ == 0) finish();
  }

  // Everything written: 'finish', then close (nothing left to read either) or end our direction.
  void finish() {
    std::weak_ptr<bool> alive = alive_;
    loop_.next_tick([this, alive] {
      if (!alive.expired()) finish_.emit();
    });
    if (!readable_ || reading_done_) {
      destroy();
    } else {
      transport_->shutdown();
    }
  }

  void destroy() {
    if (!transport_) return;
    transport_.reset();  // queued writes complete with ECANCELED: ERR_STREAM_DESTROYED
    std::weak_ptr<bool> alive = alive_;
    loop_.next_tick([this, alive] {
      if (!alive.expired()) close_.emit();
    });
  }

  detail::LoopCore& loop_;
  // Expires with the stream: deferred callbacks check it before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<detail::Transport> transport_;  // null once destroyed
  bool readable_;
  bool writable_;
  bool paused_ = false;
  bool reading_done_ = false;
  bool ending_ = false;
  bool needs_drain_ = false;
  bool write_failed_ = false;
  std::size_t pending_writes_ = 0;  // written or queued, completion not yet seen
  std::size_t high_water_mark_ = 16 * 1024;

  Event<std::string_view> data_;
  Event<> end_;
  Event<> close_;
  Event<const Error&> error_;
  Event<> drain_;
  Event<> finish_;
};

namespace detail {

std::unique_ptr<Stream> make_stream(LoopCore& loop, UniqueHandle handle, bool readable,
                                    bool writable) {
  return std::make_unique<Stream>(
      std::make_unique<Stream::Impl>(loop, std::move(handle), readable, writable));
}

}  // namespace detail

Stream::Stream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stream::~Stream() = default;

bool Stream::readable() const {
  return impl_->readable_;
}
bool Stream::writable() const {
  return impl_->writable_;
}
bool Stream::destroyed() const {
  return !impl_->transport_;
}

ListenerId Stream::on_data(std::function<void(std::string_view)> fn) {
  return impl_->data_.on(std::move(fn));
}
ListenerId Stream::on_end(std::function<void()> fn) {
  return impl_->end_.on(std::move(fn));
}
ListenerId Stream::on_close(std::function<void()> fn) {
  return impl_->close_.on(std::move(fn));
}
ListenerId Stream::on_error(std::function<void(const Error&)> fn) {
  return impl_->error_.on(std::move(fn));
}
ListenerId Stream::on_drain(std::function<void()> fn) {
  return impl_->drain_.on(std::move(fn));
}
ListenerId Stream::on_finish(std::function<void()> fn) {
  return impl_->finish_.on(std::move(fn));
}

void Stream::remove_listener(ListenerId id) {
  Impl& s = *impl_;
  s.data_.off(id) || s.end_.off(id) || s.close_.off(id) || s.error_.off(id) || s.drain_.off(id) ||
      s.finish_.off(id);
}

void Stream::pause() {
  impl_->paused_ = true;
  impl_->update_reading();
}
void Stream::resume() {
  impl_->paused_ = false;
  impl_->update_reading();
}
bool Stream::is_paused() const {
  return impl_->paused_;
}

bool Stream::write(std::string_view data, WriteCallback callback) {
  return impl_->write(data, std::move(callback));
}
void Stream::end() {
  impl_->end();
}
void Stream::end(std::string_view data) {
  impl_->write(data, {});
  impl_->end();
}
std::size_t Stream::writable_length() const {
  return impl_->transport_ ? impl_->transport_->write_queue_size() : 0;
}
std::size_t Stream::writable_high_water_mark() const {
  return impl_->high_water_mark_;
}
void Stream::set_writable_high_water_mark(std::size_t bytes) {
  impl_->high_water_mark_ = bytes;
}

void Stream::destroy() {
  impl_->destroy();
}

void Stream::ref() {
  if (impl_->transport_) impl_->transport_->set_ref(true);
}
void Stream::unref() {
  if (impl_->transport_) impl_->transport_->set_ref(false);
}

}  // namespace childproc
