// ChildProcess: Node's ChildProcess over the loop. The process handle is watched for exit; each
// readable stdio pipe counts toward 'close', which fires once the exit and every such pipe are in.
#include "childproc/child_process.hpp"

#include "internal/errc.hpp"
#include "internal/loop_core.hpp"
#include "internal/process.hpp"
#include "internal/spawn_plan.hpp"
#include "internal/stream_impl.hpp"

namespace childproc {

struct ChildProcess::OsState {
  detail::UniqueHandle process;  // watched for exit (see internal/process.hpp); empty once reaped
  detail::UniqueHandle group;    // the tree kill_tree() reaches, where the OS needs a handle
  std::uint64_t exit_watch = 0;
  std::optional<detail::LoopCore::Closer> loop_closer;  // while the loop owns this child
};

struct ChildProcess::Starter {
  detail::SpawnPlan& plan;
};

ChildProcess::ChildProcess(Loop& loop, std::string file, std::vector<std::string> args)
    : loop_(loop),
      spawnfile_(std::move(file)),
      spawnargs_(std::move(args)),
      os_(std::make_unique<OsState>()) {}

ChildProcess::~ChildProcess() {
  if (os_->loop_closer) loop_.impl().cancel_on_destroy(*os_->loop_closer);
  if (os_->process) {
    detail::unwatch_exit(loop_.impl(), os_->exit_watch);
    detail::abandon_process(*pid_, std::move(os_->process));
  }
}

Stream* ChildProcess::stdio(std::size_t index) const {
  return index < streams_.size() ? streams_[index].get() : nullptr;
}

void ChildProcess::remove_listener(ListenerId id) {
  bool removed = spawn_event_.off(id) || exit_event_.off(id) || close_event_.off(id) ||
                 error_event_.off(id) || disconnect_event_.off(id);
  if (!removed && channel_) channel_->remove_listener(id);
}

void ChildProcess::start(Starter& starter) {
  detail::SpawnPlan& plan = starter.plan;
  auto& core = loop_.impl();
  detail::Launch launched = detail::launch(plan);

  if (launched.failure && !detail::start_failure_is_async(launched.failure->err)) {
    Error e = make_system_error(launched.failure->err, "spawn", spawnfile_,
                                detail::error_spawnargs(plan));
    e.step = launched.failure->step;
    throw SystemError(std::move(e));  // every descriptor made so far closes with `launched`
  }

  // Streams exist even after a start failure, as in Node (the child's ends are closed, so the
  // readable ones reach EOF at once). EMFILE/ENFILE stop before them, as in Node.
  bool out_of_fds = launched.failure && (launched.failure->err == detail::os::kEMFILE ||
                                         launched.failure->err == detail::os::kENFILE);
  streams_.resize(plan.stdio.size());
  for (std::size_t i = 0; i < plan.stdio.size() && !out_of_fds; ++i) {
    if (!launched.parent_ends[i]) continue;
    if (plan.stdio[i].kind == Stdio::Kind::kIpc) {
      // The channel counts toward 'close' like a readable pipe: its EOF is one of the closes.
      channel_ = detail::make_channel(core, std::move(launched.parent_ends[i]), {},
                                      launched.process.pid, plan.serialization);
      connected_ = true;
      ++closes_needed_;
      channel_->on_close([this] { on_stream_closed(); });
      channel_->on_error([this](const Error& e) { emit_error(e); });  // Node: child 'error'
      channel_->on_disconnect([this] {
        connected_ = false;
        disconnect_event_.emit();
      });
      continue;
    }
    bool readable = i != 0;
    bool writable = i == 0 || i >= 3;
    streams_[i] = detail::make_stream(core, std::move(launched.parent_ends[i]), readable, writable);
    if (readable) {
      ++closes_needed_;
      streams_[i]->on_close([this] { on_stream_closed(); });
    }
  }

  // The loop owns a running child: it stays alive until 'close', whoever else holds it.
  self_ = shared_from_this();
  os_->loop_closer = core.on_destroy([this] { on_loop_destroyed(); });

  if (launched.failure) {
    Error e = make_system_error(launched.failure->err, "spawn " + spawnfile_, spawnfile_,
                                detail::error_spawnargs(plan));
    e.step = launched.failure->step;
    exit_code_ = -launched.failure->err;
    loop_.next_tick([this, e = std::move(e)] {
      emit_error(e);
      ++closes_got_;
      maybe_close();
    });
    return;
  }

  pid_ = launched.process.pid;
  leads_group_ = plan.new_process_group;
  os_->process = std::move(launched.process.handle);
  os_->group = std::move(launched.process.group);
  os_->exit_watch = detail::watch_exit(core, os_->process.get(), [this] { on_process_exit(); });
  close_timeout_after_exit_ = plan.close_timeout_after_exit;
  loop_.next_tick([this] { spawn_event_.emit(); });
  if (plan.timeout.count() > 0) arm_timeout(plan.timeout, plan.kill_signal);
  if (plan.cancellation) arm_cancellation(*plan.cancellation, plan.kill_signal);
}

void ChildProcess::arm_timeout(std::chrono::milliseconds timeout, int kill_signal) {
  timeout_timer_ = loop_.set_timeout(timeout, [this, kill_signal] {
    timeout_timer_.reset();
    try {
      timed_out_ = kill(kill_signal);
    } catch (const SystemError& e) {
      emit_error(e.error());  // Node re-emits what kill() throws from the timer as 'error'
    }
  });
}

void ChildProcess::arm_cancellation(const AbortSignal& signal, int kill_signal) {
  cancellation_ = signal;
  std::weak_ptr<ChildProcess> weak = weak_from_this();
  auto on_abort = [this, weak, kill_signal] {
    auto self = weak.lock();
    if (!self || closed_) return;
    if (kill(kill_signal)) {
      Error e;
      e.code = "ABORT_ERR";
      e.name = "AbortError";
      e.message = "The operation was aborted";
      emit_error(e);
    }
  };
  if (signal.aborted()) {
    loop_.next_tick(on_abort);  // already aborted: act on the next tick, as Node
    return;
  }
  // abort() may run on any thread: hop onto the loop's.
  Loop* loop = &loop_;
  cancellation_listener_ = cancellation_->add_listener([loop, on_abort] { loop->post(on_abort); });
}

void ChildProcess::on_process_exit() {
  auto status = detail::try_reap(os_->process.get());
  if (!status) return;  // spurious wake-up
  release_process();
  exit_code_ = status->code;
  signal_code_ = status->signal;
  if (timeout_timer_) loop_.clear_timeout(*timeout_timer_);
  timeout_timer_.reset();
  if (cancellation_) cancellation_->remove_listener(cancellation_listener_);
  // Node destroys stdin once the child is gone.
  if (Stream* in = std_in()) in->destroy();
  exit_event_.emit(exit_code_, signal_code_);
  arm_close_timeout();
  ++closes_got_;
  maybe_close();
}

void ChildProcess::arm_close_timeout() {
  if (!close_timeout_after_exit_ || closed_ || closes_got_ + 1 >= closes_needed_) return;
  // A grandchild may hold our pipes forever: after the bound, stop waiting for them.
  close_timer_ = loop_.set_timeout(*close_timeout_after_exit_, [this] {
    close_timer_.reset();
    for (auto& s : streams_)
      if (s && s->readable()) s->destroy();
  });
}

void ChildProcess::release_process() {
  if (!os_->process) return;
  detail::unwatch_exit(loop_.impl(), os_->exit_watch);
  os_->process.reset();
}

void ChildProcess::on_stream_closed() {
  ++closes_got_;
  maybe_close();
}

void ChildProcess::maybe_close() {
  if (closed_ || closes_got_ < closes_needed_) return;
  closed_ = true;
  if (close_timer_) loop_.clear_timeout(*close_timer_);
  close_timer_.reset();
  close_event_.emit(exit_code_, signal_code_);
  // Let go of the loop's reference after this callback chain has unwound; drop the listeners
  // too, since no event can follow 'close' and they may hold this object (a cycle).
  if (os_->loop_closer) {
    loop_.impl().cancel_on_destroy(*os_->loop_closer);
    os_->loop_closer.reset();
  }
  loop_.next_tick([self = std::move(self_)] { self->release_listeners(); });
}

void ChildProcess::on_loop_destroyed() {
  // The loop is going away with this child still open: hand the process to the reaper, close
  // the pipes, and stop referring to the loop.
  os_->loop_closer.reset();
  if (os_->process) {
    detail::unwatch_exit(loop_.impl(), os_->exit_watch);
    detail::abandon_process(*pid_, std::move(os_->process));
  }
  if (timeout_timer_) loop_.clear_timeout(*timeout_timer_);
  if (close_timer_) loop_.clear_timeout(*close_timer_);
  timeout_timer_.reset();
  close_timer_.reset();
  if (cancellation_) cancellation_->remove_listener(cancellation_listener_);
  streams_.clear();
  channel_.reset();
  closed_ = true;
  release_listeners();  // no event can come any more; listeners may hold this object (a cycle)
  auto keep = std::move(self_);  // may destroy this object when `keep` goes out of scope
}

void ChildProcess::release_listeners() {
  spawn_event_.clear();
  exit_event_.clear();
  close_event_.clear();
  error_event_.clear();
  disconnect_event_.clear();
  if (channel_) channel_->remove_all_listeners();
}

ipc::Channel& ChildProcess::require_channel() const {
  if (!channel_)
    throw std::logic_error(
        "childproc: this child has no IPC channel (use fork(), "
        "or an \"ipc\" stdio entry)");
  return *channel_;
}

bool ChildProcess::send(const json::Value& message, ipc::SendCallback callback) {
  return require_channel().send(message, std::move(callback));
}

bool ChildProcess::send(const json::Value& message, NativeHandle socket,
                        ipc::SendCallback callback) {
  return require_channel().send(message, socket, std::move(callback));
}

void ChildProcess::disconnect() {
  require_channel().disconnect();
  connected_ = false;
}

ListenerId ChildProcess::on_message(ipc::MessageListener fn) {
  return require_channel().on_message(std::move(fn));
}

bool ChildProcess::send_advanced(const advanced::Value& message, ipc::SendCallback callback) {
  return require_channel().send_advanced(message, std::move(callback));
}

bool ChildProcess::send_advanced(const advanced::Value& message, NativeHandle socket,
                                 ipc::SendCallback callback) {
  return require_channel().send_advanced(message, socket, std::move(callback));
}

ListenerId ChildProcess::on_advanced_message(ipc::AdvancedMessageListener fn) {
  return require_channel().on_advanced_message(std::move(fn));
}

void ChildProcess::emit_error(const Error& error) {
  error_event_.emit(error);
}

bool ChildProcess::kill(const KillSignal& sig) {
  return kill(sig.resolve());
}

bool ChildProcess::kill(int sig) {
  if (sig != 0 && signal_name(sig).empty())
    throw InvalidArgumentError("ERR_UNKNOWN_SIGNAL", "Unknown signal: " + std::to_string(sig));
  if (!os_->process) return false;
  int err = detail::signal_process(os_->process.get(), sig);
  if (err == 0) {
    killed_ = true;
    return true;
  }
  if (err == detail::os::kESRCH) return false;
  if (err == detail::os::kEINVAL || err == detail::os::kENOSYS)
    throw SystemError(make_system_error(err, "kill"));
  emit_error(make_system_error(err, "kill"));
  return false;
}

bool ChildProcess::kill_tree(int sig) {
  if (sig != 0 && signal_name(sig).empty())
    throw InvalidArgumentError("ERR_UNKNOWN_SIGNAL", "Unknown signal: " + std::to_string(sig));
  if (!leads_group_)
    throw std::logic_error(
        "childproc: kill_tree() needs a child that leads its own process group (spawn it with "
        ".new_process_group = true or .detached = true)");
  // The leader first, so that its exit reports `sig` (on Windows the job would end it with a
  // plain exit code). It is reaped only later, from the loop: until then its pid, the group's
  // id, cannot be reused.
  bool leader = kill(sig);
  int err = detail::signal_process_group(*pid_, os_->group.get(), sig);
  if (err == 0) killed_ = true;
  return err == 0 || leader;
}

void ChildProcess::ref() {
  if (os_->process) loop_.impl().set_ref(os_->exit_watch, true);
}

void ChildProcess::unref() {
  if (os_->process) loop_.impl().set_ref(os_->exit_watch, false);
}

std::shared_ptr<ChildProcess> spawn(const std::string& file, const std::vector<std::string>& args,
                                    const SpawnOptions& options, Loop& loop) {
  detail::SpawnPlan plan = detail::plan_spawn(file, args, options);
  auto child = std::make_shared<ChildProcess>(loop, plan.file, plan.args);
  ChildProcess::Starter starter{plan};
  child->start(starter);
  return child;
}

}  // namespace childproc
