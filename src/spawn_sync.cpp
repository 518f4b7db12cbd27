// spawn_sync: a private wait loop (detail::wait_for_io: one poll() per step) over the child's
// process handle and its pipes. Lifecycle:
//   kRunning  -> the child runs; we feed stdin and drain every output pipe together;
//   kDraining -> the child has exited; what it wrote is already in the pipes, so we read on
//                until EOF, or until close_timeout_after_exit for pipes a grandchild still holds;
//   kDone     -> every pipe closed, status collected.
// The first error wins (ETIMEDOUT, ENOBUFS); the child is killed at most once.
#include "childproc/spawn_sync.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include "internal/capture.hpp"
#include "internal/errc.hpp"
#include "internal/pipe.hpp"
#include "internal/poller.hpp"
#include "internal/process.hpp"
#include "internal/spawn_plan.hpp"
#include "internal/utf8.hpp"

namespace childproc {

namespace {

using Clock = std::chrono::steady_clock;

class SyncRunner {
 public:
  SyncRunner(const detail::SpawnPlan& plan, const SpawnSyncOptions& options,
             detail::Launch& launched, SpawnSyncResult& result, bool mirror_std_fields)
      : mirror_std_fields_(mirror_std_fields),
        plan_(plan),
        options_(options),
        result_(result),
        process_handle_(std::move(launched.process.handle)) {
    result_.pid = launched.process.pid;
    result_.output.resize(plan.stdio.size());
    for (std::size_t i = 0; i < plan.stdio.size(); ++i) {
      if (!launched.parent_ends[i]) continue;
      Pipe p{i, std::move(launched.parent_ends[i])};
      if (i == 0) {
        p.writing = options.input.has_value() && !options.input->empty();
        if (!p.writing) continue;  // no input: the child sees EOF at once (the pipe closes)
      } else {
        p.reading = true;
        result_.output[i].emplace();
      }
      pipes_.push_back(std::move(p));
    }
  }

  void run() {
    if (plan_.timeout.count() > 0) deadline_ = Clock::now() + plan_.timeout;
    if (pipes_.empty() && !deadline_) {
      // Nothing to feed, drain or time: one blocking wait is the whole lifecycle.
      record_exit(detail::wait_for_exit(result_.pid, process_handle_.get()));
      state_ = State::kDone;
    }
    while (state_ != State::kDone)
      step();
    if (pipe_error_) set_error(*pipe_error_, "spawnSync " + plan_.file);  // ranks last
    if (options_.encoding == Encoding::kUtf8)
      for (auto& slot : result_.output)
        if (slot) detail::sanitize_utf8_in_place(*slot);
    if (!mirror_std_fields_) return;
    for (std::size_t i = 1; i < result_.output.size() && i < 3; ++i)
      if (result_.output[i]) (i == 1 ? result_.std_out : result_.std_err) = *result_.output[i];
  }

 private:
  enum class State { kRunning, kDraining, kDone };

  struct Pipe {
    std::size_t index;
    detail::UniqueHandle fd;
    bool reading = false;
    bool grown = false;
    bool writing = false;
    std::size_t written = 0;
  };

  void step() {
    std::vector<detail::IoWait> waits;
    waits.reserve(pipes_.size() + 1);
    if (state_ == State::kRunning) waits.push_back({process_handle_.get(), detail::kIoReadable});
    for (auto& p : pipes_)
      waits.push_back({p.fd.get(), (p.reading ? detail::kIoReadable : 0u) |
                                       (p.writing ? detail::kIoWritable : 0u)});
    if (state_ == State::kDraining && pipes_.empty()) {
      state_ = State::kDone;
      return;
    }

    int rc = detail::wait_for_io(waits.data(), waits.size(), wait_ms());
    if (rc < 0) {
      set_error(-rc, "poll");
      kill_once(detail::os::kSIGKILL);
    }
    auto now = Clock::now();
    if (deadline_ && now >= *deadline_ && state_ == State::kRunning) {
      deadline_.reset();
      result_.timed_out = true;
      set_error(detail::os::kETIMEDOUT, "spawnSync " + plan_.file);
      kill_once(plan_.kill_signal);
    }
    if (rc <= 0) {
      if (state_ == State::kDraining && now >= drain_deadline_) close_all();
      return;
    }

    std::size_t k = 0;
    if (state_ == State::kRunning) {
      if (waits[k].ready != 0) on_exit();
      ++k;
    }
    for (std::size_t i = 0; i < pipes_.size(); ++i, ++k)
      if (waits[k].ready != 0) service(pipes_[i], waits[k].ready);
    std::erase_if(pipes_, [](const Pipe& p) { return !p.fd; });
    if (state_ == State::kDraining && Clock::now() >= drain_deadline_) close_all();
  }

  int wait_ms() const {
    std::optional<Clock::time_point> until;
    if (state_ == State::kRunning) until = deadline_;
    if (state_ == State::kDraining) until = drain_deadline_;
    if (!until) return -1;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
  }

  void on_exit() {
    auto status = detail::try_reap(process_handle_.get());
    if (!status) return;
    record_exit(*status);
    state_ = State::kDraining;
    drain_deadline_ = Clock::now() + options_.close_timeout_after_exit;
  }

  void record_exit(const detail::ExitStatus& status) {
    result_.status = status.code;
    result_.signal = status.signal;
    process_handle_.reset();
  }

  void service(Pipe& p, unsigned ready) {
    constexpr unsigned kGone = detail::kIoHangup | detail::kIoError;
    if (p.writing && (ready & (detail::kIoWritable | kGone))) {
      const std::string& input = *options_.input;
      detail::IoCount n =
          detail::write_some(p.fd.get(), input.data() + p.written, input.size() - p.written);
      if (n > 0) p.written += static_cast<std::size_t>(n);
      // The child closed its stdin (EPIPE) or the write failed: it gets no more, and the result
      // says so unless a timeout or max_buffer error comes first (Node's pipe error).
      if (n < 0 && n != -detail::os::kEAGAIN && !pipe_error_) pipe_error_ = static_cast<int>(-n);
      if (p.written == input.size() || (n < 0 && n != -detail::os::kEAGAIN)) p.fd.reset();
      return;
    }
    if (p.reading && (ready & (detail::kIoReadable | kGone))) {
      // A full read means more is waiting: read on (bounded, so other pipes are not starved)
      // instead of paying a poll() per 64 KiB.
      for (int round = 0; round < 16 && p.fd; ++round)
        if (!read_once(p)) break;
    }
  }

  // One read from an output pipe; true if it filled the buffer (more may be waiting).
  bool read_once(Pipe& p) {
    // Most children write little: the stack buffer, until a pipe has come back full.
    char small[kSmallReadSize];
    char* buf = read_buffer_ ? read_buffer_.get() : small;
    std::size_t size = read_buffer_ ? kReadSize : kSmallReadSize;
    detail::IoCount n = detail::read_some(p.fd.get(), buf, size);
    if (n <= 0) {
      if (n != -detail::os::kEAGAIN) p.fd.reset();  // EOF (or a read error: nothing more can come)
      return false;
    }
    // A read that took a whole default-sized pipe (64 KiB) means a fast writer: give it a bigger
    // pipe, once.
    if (static_cast<std::size_t>(n) >= kSmallReadSize && !p.grown) {
      p.grown = true;
      detail::grow_pipe_buffer(p.fd.get());
      if (!read_buffer_) read_buffer_ = std::make_unique<char[]>(kReadSize);
    }
    detail::append_output(*result_.output[p.index], {buf, static_cast<std::size_t>(n)});
    buffered_ += static_cast<std::size_t>(n);
    // Node checks after each read and keeps what was read.
    if (options_.max_buffer > 0 && buffered_ > options_.max_buffer) {
      set_error(detail::os::kENOBUFS, "spawnSync " + plan_.file);
      kill_once(plan_.kill_signal);
      return false;
    }
    return static_cast<std::size_t>(n) == size;
  }

  void close_all() {
    pipes_.clear();
    state_ = State::kDone;
  }

  void set_error(int err, std::string syscall) {
    if (result_.error) return;  // the first error wins
    result_.error =
        make_system_error(err, std::move(syscall), plan_.file, detail::error_spawnargs(plan_));
  }

  void kill_once(int sig) {
    if (killed_ || !process_handle_) return;
    killed_ = true;
    detail::signal_process(process_handle_.get(), sig);
  }

  bool mirror_std_fields_;
  const detail::SpawnPlan& plan_;
  const SpawnSyncOptions& options_;
  SpawnSyncResult& result_;
  detail::UniqueHandle process_handle_;
  std::vector<Pipe> pipes_;
  State state_ = State::kRunning;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point drain_deadline_;
  std::size_t buffered_ = 0;
  std::optional<int> pipe_error_;  // a failed write to stdin (EPIPE): reported if nothing else is
  // Allocated once a pipe has come back full: 256 KiB per read() moves a grown (1 MiB) pipe in
  // four calls.
  static constexpr std::size_t kSmallReadSize = 64 * 1024;
  static constexpr std::size_t kReadSize = 256 * 1024;
  std::unique_ptr<char[]> read_buffer_;
  bool killed_ = false;
};

}  // namespace

namespace detail {

SpawnSyncResult run_spawn_sync(const std::string& file, const std::vector<std::string>& args,
                               const SpawnSyncOptions& options, bool mirror_std_fields) {
  SpawnPlan plan = plan_spawn_sync(file, args, options);
  LaunchHints hints;
  // No pipe and no timeout: nothing will ever signal or watch the child, only wait for it.
  hints.wait_only = plan.timeout.count() == 0 &&
                    std::none_of(plan.stdio.begin(), plan.stdio.end(), [](const Stdio& s) {
                      return s.kind == Stdio::Kind::kPipe || s.kind == Stdio::Kind::kOverlapped ||
                             s.kind == Stdio::Kind::kIpc;
                    });
  hints.stdin_never_written = !options.input || options.input->empty();
  Launch launched = launch(plan, hints);
  SpawnSyncResult result;
  if (launched.failure) {
    result.error = make_system_error(launched.failure->err, "spawnSync " + plan.file, plan.file,
                                     error_spawnargs(plan));
    result.error->step = launched.failure->step;
    return result;
  }
  SyncRunner(plan, options, launched, result, mirror_std_fields).run();
  return result;
}

}  // namespace detail

SpawnSyncResult spawn_sync(const std::string& file, const std::vector<std::string>& args,
                           const SpawnSyncOptions& options) {
  return detail::run_spawn_sync(file, args, options, true);
}

}  // namespace childproc
