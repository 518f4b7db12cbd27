// The parent's end of a child's stdio pipe: Node's net.Socket as child.stdout / child.stdin.
//
// Readable side: 'data' chunks as they arrive (flowing from the start; pause()/resume() apply
// backpressure to the child), then 'end' at EOF, then 'close'.
// Writable side: write() queues and returns false once the queue holds the high-water mark or
// more (16 KiB by default, as Node); 'drain' follows when the queue empties; end() closes the
// pipe after the queue is flushed and emits 'finish'.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "childproc/error.hpp"
#include "childproc/event.hpp"

namespace childproc {

class Stream {
 public:
  using WriteCallback = std::function<void(const std::optional<Error>&)>;

  // Streams are made by the library (ChildProcess::stdio()); Impl is its private state.
  class Impl;
  explicit Stream(std::unique_ptr<Impl> impl);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool readable() const;
  bool writable() const;
  // True once the stream's handle is closed (destroy(), end of both directions, or an error).
  bool destroyed() const;

  ListenerId on_data(std::function<void(std::string_view)> fn);
  ListenerId on_end(std::function<void()> fn);
  ListenerId on_close(std::function<void()> fn);
  ListenerId on_error(std::function<void(const Error&)> fn);
  ListenerId on_drain(std::function<void()> fn);
  ListenerId on_finish(std::function<void()> fn);
  void remove_listener(ListenerId id);

  void pause();
  void resume();
  bool is_paused() const;

  // Queues data; the callback runs once it is written (or with the error). Returns false when the
  // caller should wait for 'drain'.
  bool write(std::string_view data, WriteCallback callback = {});
  void end();
  void end(std::string_view data);
  // Bytes accepted by write() and not yet handed to the OS.
  std::size_t writable_length() const;
  std::size_t writable_high_water_mark() const;
  void set_writable_high_water_mark(std::size_t bytes);

  // Closes the handle now, dropping queued data; emits 'close' on the next tick.
  void destroy();

  // A stream keeps its loop alive while it is open, unless unref'd.
  void ref();
  void unref();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace childproc
