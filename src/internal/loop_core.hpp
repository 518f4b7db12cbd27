// The loop's machinery, shared by the library's streams and processes. Platform-neutral: it
// sits on Poller, which is implemented per platform.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "childproc/loop.hpp"
#include "internal/poller.hpp"

namespace childproc {

// The loop's state; detail::LoopCore inside the library.
class Loop::Impl {
 public:
  using Clock = Loop::Clock;
  using IoCallback = std::function<void(unsigned events)>;
  using Closer = std::list<std::function<void()>>::iterator;

  Impl();
  ~Impl();

  // A descriptor watch. Interest 0 takes the descriptor out of the poller (so a hung-up pipe
  // cannot spin the loop); a watch keeps the loop alive while it is referenced and interested.
  // `fd` may be kInvalidNativeHandle: a watch that only its key wakes (a completion backend).
  std::uint64_t watch(NativeHandle fd, unsigned interest, IoCallback callback);
  void set_interest(std::uint64_t id, unsigned interest);
  void set_ref(std::uint64_t id, bool referenced);
  void unwatch(std::uint64_t id);

  Loop::TimerId add_timer(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel_timer(const Loop::TimerId& id);
  void next_tick(std::function<void()> fn) { ticks_.push_back(std::move(fn)); }
  void post(std::function<void()> fn);

  // Called when the loop is destroyed, for objects that must let go of it first.
  Closer on_destroy(std::function<void()> fn) {
    return closers_.insert(closers_.end(), std::move(fn));
  }
  void cancel_on_destroy(Closer it) { closers_.erase(it); }

  void run();
  bool run_once(std::optional<std::chrono::milliseconds> timeout);
  void stop() {
    stop_requested_.store(true);
    poller_.wake();
  }
  bool alive() const;
  NativeHandle backend_fd() const { return poller_.fd(); }
  std::optional<std::chrono::milliseconds> backend_timeout() const;

 private:
  struct Watch {
    NativeHandle fd;
    unsigned interest;
    bool referenced;
    IoCallback callback;
  };
  struct Timer {
    std::function<void()> fn;
  };

  void run_ticks();
  void run_posted();
  void run_due_timers();
  int poll_timeout_ms(std::optional<std::chrono::milliseconds> cap) const;
  bool counts_as_active(const Watch& w) const { return w.referenced && w.interest != 0; }

  detail::Poller poller_;
  std::unordered_map<std::uint64_t, Watch> watches_;
  std::uint64_t next_watch_id_ = 1;  // 0 is detail::Poller::kWakeKey
  std::size_t active_watches_ = 0;
  std::map<std::pair<Clock::time_point, std::uint64_t>, Timer> timers_;
  std::uint64_t next_timer_seq_ = 1;
  std::deque<std::function<void()>> ticks_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  // Posted callbacks not yet run; read without the lock to decide whether to look at posted_.
  std::atomic<std::size_t> posted_pending_{0};
  std::list<std::function<void()>> closers_;
  std::atomic<bool> stop_requested_{false};
};

namespace detail {
using LoopCore = Loop::Impl;
}  // namespace detail

}  // namespace childproc
