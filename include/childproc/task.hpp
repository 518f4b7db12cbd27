// Task<T>: a coroutine type for loop-driven code, like a JavaScript async function. It starts
// running at once, suspends on co_await (exec_async, another Task), and is resumed by the Loop.
//
//   childproc::Task<int> count_files() {
//     auto r = co_await childproc::exec_async("ls | wc -l");
//     co_return r ? std::stoi(r.std_out) : -1;
//   }
//   auto task = count_files();
//   childproc::default_loop().run();
//   int n = task.result();
//
// A Task dropped before it finishes keeps running and frees itself when done (fire and forget).
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace childproc {

template <class T>
class Task;

namespace detail {

struct TaskPromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  bool detached = false;

  std::suspend_never initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      TaskPromiseBase& p = h.promise();
      if (p.continuation) return p.continuation;  // resume whoever awaits us
      if (p.detached) h.destroy();                // nobody will ever look at the result
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() { error = std::current_exception(); }
};

template <class T>
struct TaskPromise : TaskPromiseBase {
  std::optional<T> value;
  Task<T> get_return_object();
  void return_value(T v) { value.emplace(std::move(v)); }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
  Task<void> get_return_object();
  void return_void() {}
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  explicit Task(Handle h) : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      release();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { release(); }

  bool done() const { return !handle_ || handle_.done(); }

  // The co_returned value (or the exception the coroutine threw). Only once done().
  T result() {
    if (!handle_ || !handle_.done()) throw std::logic_error("childproc::Task: not finished");
    return handle_.promise().take();
  }

  // co_await another Task from inside a coroutine.
  bool await_ready() const noexcept { return done(); }
  void await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
  }
  T await_resume() { return handle_.promise().take(); }

 private:
  void release() {
    if (!handle_) return;
    if (handle_.done()) {
      handle_.destroy();
    } else {
      handle_.promise().detached = true;  // it frees itself at its end
    }
    handle_ = {};
  }

  Handle handle_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace childproc
