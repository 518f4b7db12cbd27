// The event loop: single-threaded, explicit and embeddable, like libuv's uv_loop_t.
//
// A Loop runs while it has referenced work: a running child, an open stdio pipe, a pending
// timer or next-tick callback. Every method except post() and stop() must be called on the thread
// that runs the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "childproc/native_handle.hpp"

namespace childproc {

class Loop {
 public:
  using Clock = std::chrono::steady_clock;

  // Opaque handle of a timer; clear_timeout() with it cancels the timer if it has not fired.
  struct TimerId {
    Clock::time_point due{};
    std::uint64_t seq = 0;
  };

  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until nothing referenced is left or stop() is called.
  void run();
  // Runs one iteration: waits for I/O at most `timeout` (nullopt: until something happens, 0: not
  // at all), then dispatches. Returns whether the loop still has referenced work.
  bool run_once(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Makes run() return after the current iteration. Thread-safe.
  void stop();
  bool alive() const;

  // Runs fn on the loop's thread during its next iteration. Thread-safe; wakes the loop.
  void post(std::function<void()> fn);
  // Runs fn after the current callback, before the loop waits for I/O again (Node's nextTick).
  void next_tick(std::function<void()> fn);

  TimerId set_timeout(std::chrono::milliseconds delay, std::function<void()> fn);
  void clear_timeout(TimerId id);

  // For embedding in another event loop: the descriptor becomes readable when run_once(0) has
  // work to do; backend_timeout() is how long the host may sleep at most (nullopt: forever).
  NativeHandle backend_fd() const;
  std::optional<std::chrono::milliseconds> backend_timeout() const;

  // The loop's state, opaque outside the library.
  class Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The loop that spawn() uses when none is given. It lives until the process exits.
Loop& default_loop();

}  // namespace childproc
