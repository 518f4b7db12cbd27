// A typed event with several listeners, like one event name of Node's EventEmitter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace childproc {

// Identifies one listener; unique in the process, so an object with several events can offer
// one remove_listener(id).
using ListenerId = std::uint64_t;

namespace detail {
inline ListenerId next_listener_id() {
  static std::atomic<ListenerId> counter{0};
  return ++counter;
}
}  // namespace detail

template <class... Args>
class Event {
 public:
  using Listener = std::function<void(Args...)>;

  ListenerId on(Listener fn) { return add(std::move(fn), false); }
  ListenerId once(Listener fn) { return add(std::move(fn), true); }

  bool off(ListenerId id) {
    for (auto* list : {&slots_, &added_while_emitting_}) {
      for (auto& slot : *list) {
        if (slot.id == id && slot.fn) {
          // Inside emit() the slot may be running; blank it and compact afterwards.
          if (emitting_ > 0) {
            slot.fn = nullptr;
            needs_compaction_ = true;
          } else {
            std::erase_if(*list, [id](const Slot& s) { return s.id == id; });
          }
          return true;
        }
      }
    }
    return false;
  }

  // Calls every listener registered before the call, in order. Listeners added during the
  // emission run from the next one on, as in Node.
  void emit(Args... args) {
    ++emitting_;
    const std::size_t count = slots_.size();
    for (std::size_t i = 0; i < count; ++i) {
      if (!slots_[i].fn) continue;
      if (slots_[i].once) {
        Listener fn = std::move(slots_[i].fn);
        slots_[i].fn = nullptr;
        needs_compaction_ = true;
        fn(args...);
      } else {
        slots_[i].fn(args...);
      }
    }
    if (--emitting_ == 0) settle();
  }

  std::size_t listener_count() const {
    std::size_t n = 0;
    for (const auto* list : {&slots_, &added_while_emitting_})
      for (const auto& slot : *list)
        n += slot.fn ? 1 : 0;
    return n;
  }

  void clear() {
    if (emitting_ > 0) {
      for (auto& slot : slots_)
        slot.fn = nullptr;
      added_while_emitting_.clear();
      needs_compaction_ = true;
    } else {
      slots_.clear();
      added_while_emitting_.clear();
    }
  }

 private:
  struct Slot {
    ListenerId id;
    Listener fn;
    bool once;
  };

  ListenerId add(Listener fn, bool once) {
    ListenerId id = detail::next_listener_id();
    // Appending to slots_ while emit() runs one of them would move the running std::function.
    (emitting_ > 0 ? added_while_emitting_ : slots_).push_back(Slot{id, std::move(fn), once});
    return id;
  }

  void settle() {
    if (needs_compaction_) {
      std::erase_if(slots_, [](const Slot& s) { return !s.fn; });
      needs_compaction_ = false;
    }
    for (auto& slot : added_while_emitting_)
      if (slot.fn) slots_.push_back(std::move(slot));
    added_while_emitting_.clear();
  }

  std::vector<Slot> slots_;
  std::vector<Slot> added_while_emitting_;
  int emitting_ = 0;
  bool needs_compaction_ = false;
};

}  // namespace childproc
