// Loop: one iteration = next-tick queue, wait for I/O (bounded by the nearest timer), dispatch
// I/O, run posted callbacks, run due timers, next-tick queue again.
#include "childproc/loop.hpp"

#include <algorithm>
#include <array>

#include "internal/loop_core.hpp"

namespace childproc {

Loop::Impl::Impl() = default;

Loop::Impl::~Impl() {
  // Objects still bound to the loop (children that never closed) let go of it first.
  while (!closers_.empty()) {
    auto fn = std::move(closers_.front());
    closers_.pop_front();
    fn();
  }
}

std::uint64_t Loop::Impl::watch(NativeHandle fd, unsigned interest, IoCallback callback) {
  std::uint64_t id = next_watch_id_++;
  watches_.emplace(id, Watch{fd, 0, true, std::move(callback)});
  set_interest(id, interest);
  return id;
}

void Loop::Impl::set_interest(std::uint64_t id, unsigned interest) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  if (w.interest == interest) return;
  bool was_active = counts_as_active(w);
  if (w.interest == 0) {
    poller_.add(w.fd, interest, id);
  } else if (interest == 0) {
    poller_.remove(w.fd);
  } else {
    poller_.modify(w.fd, interest, id);
  }
  w.interest = interest;
  active_watches_ += counts_as_active(w) - was_active;
}

void Loop::Impl::set_ref(std::uint64_t id, bool referenced) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  bool was_active = counts_as_active(it->second);
  it->second.referenced = referenced;
  active_watches_ += counts_as_active(it->second) - was_active;
}

void Loop::Impl::unwatch(std::uint64_t id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  if (it->second.interest != 0) poller_.remove(it->second.fd);
  active_watches_ -= counts_as_active(it->second);
  watches_.erase(it);
}

Loop::TimerId Loop::Impl::add_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  Loop::TimerId id{Clock::now() + std::max(delay, std::chrono::milliseconds(0)), next_timer_seq_++};
  timers_.emplace(std::make_pair(id.due, id.seq), Timer{std::move(fn)});
  return id;
}

void Loop::Impl::cancel_timer(const Loop::TimerId& id) {
  timers_.erase({id.due, id.seq});
}

void Loop::Impl::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
    ++posted_pending_;
  }
  poller_.wake();
}

bool Loop::Impl::alive() const {
  return active_watches_ > 0 || !timers_.empty() || !ticks_.empty() || posted_pending_.load() > 0;
}

std::optional<std::chrono::milliseconds> Loop::Impl::backend_timeout() const {
  int ms = poll_timeout_ms(std::nullopt);
  if (ms < 0) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

int Loop::Impl::poll_timeout_ms(std::optional<std::chrono::milliseconds> cap) const {
  if (!ticks_.empty()) return 0;
  long long ms = cap ? cap->count() : -1;
  if (!timers_.empty()) {
    auto due = timers_.begin()->first.first;
    auto now = Clock::now();
    // Round up so that a timer is never found "not yet due" right after the wait.
    long long until =
        due <= now ? 0 : std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
    ms = ms < 0 ? until : std::min(ms, until);
  }
  return static_cast<int>(std::min<long long>(ms, 1 << 30));
}

void Loop::Impl::run_ticks() {
  // Ticks queued by ticks run in the same pass, as Node drains its nextTick queue.
  while (!ticks_.empty()) {
    auto fn = std::move(ticks_.front());
    ticks_.pop_front();
    fn();
  }
}

void Loop::Impl::run_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) {
    fn();
    --posted_pending_;
    run_ticks();
  }
}

void Loop::Impl::run_due_timers() {
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto fn = std::move(timers_.begin()->second.fn);
    timers_.erase(timers_.begin());
    fn();
    run_ticks();
  }
}

bool Loop::Impl::run_once(std::optional<std::chrono::milliseconds> timeout) {
  run_ticks();
  std::array<detail::Poller::Ready, 64> ready;
  // Nothing referenced left: look at what is ready, but never sleep for unreferenced work.
  int wait_ms = alive() ? poll_timeout_ms(timeout) : 0;
  std::size_t n = poller_.wait(ready.data(), ready.size(), wait_ms);
  bool woken = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (ready[i].key == detail::Poller::kWakeKey) {
      woken = true;
      continue;
    }
    // A callback earlier in this batch may have removed this watch.
    auto it = watches_.find(ready[i].key);
    if (it == watches_.end()) continue;
    IoCallback callback = it->second.callback;  // the watch may go away while it runs
    callback(ready[i].events);
    run_ticks();
  }
  if (woken || posted_pending_.load() > 0) run_posted();
  run_due_timers();
  run_ticks();
  return alive();
}

void Loop::Impl::run() {
  stop_requested_.store(false);
  while (!stop_requested_.load() && alive())
    run_once(std::nullopt);
  stop_requested_.store(false);
}

Loop::Loop() : impl_(std::make_unique<Impl>()) {}
Loop::~Loop() = default;
void Loop::run() {
  impl_->run();
}
bool Loop::run_once(std::optional<std::chrono::milliseconds> timeout) {
  return impl_->run_once(timeout);
}
void Loop::stop() {
  impl_->stop();
}
bool Loop::alive() const {
  return impl_->alive();
}
void Loop::post(std::function<void()> fn) {
  impl_->post(std::move(fn));
}
void Loop::next_tick(std::function<void()> fn) {
  impl_->next_tick(std::move(fn));
}
Loop::TimerId Loop::set_timeout(std::chrono::milliseconds delay, std::function<void()> fn) {
  return impl_->add_timer(delay, std::move(fn));
}
void Loop::clear_timeout(TimerId id) {
  impl_->cancel_timer(id);
}
NativeHandle Loop::backend_fd() const {
  return impl_->backend_fd();
}
std::optional<std::chrono::milliseconds> Loop::backend_timeout() const {
  return impl_->backend_timeout();
}

Loop& default_loop() {
  static Loop loop;
  return loop;
}

}  // namespace childproc
