// spawn() and ChildProcess: Node's child_process.spawn and its ChildProcess class.
//
//   auto child = childproc::spawn("ls", {"-l", "/usr"});
//   child->std_out()->on_data([](std::string_view chunk) { ... });
//   child->on_close([](std::optional<int> code, std::optional<int> signal) { ... });
//   childproc::default_loop().run();
//
// Events are Node's, in Node's order: 'spawn' (after a successful start, before any output
// event), 'exit'(code, signal), then 'close'(code, signal) once every stdio pipe has closed, or
// 'error' when the process could not be started, killed or aborted. Exactly one of code and
// signal is set; signals are numbers (signal_name(n) gives "SIGTERM").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "childproc/error.hpp"
#include "childproc/event.hpp"
#include "childproc/ipc.hpp"
#include "childproc/json.hpp"
#include "childproc/loop.hpp"
#include "childproc/options.hpp"
#include "childproc/stream.hpp"

namespace childproc {

class ChildProcess;

// Starts `file` with `args`. Throws InvalidArgumentError for bad arguments and SystemError where
// Node throws (EPERM, EINVAL, ...); ENOENT, EACCES, EAGAIN, EMFILE and ENFILE arrive as an
// 'error' event, as in Node.
// (There is no spawn(file, options): with braces, `spawn("ls", {"-l"})` would be ambiguous.)
std::shared_ptr<ChildProcess> spawn(const std::string& file,
                                    const std::vector<std::string>& args = {},
                                    const SpawnOptions& options = {}, Loop& loop = default_loop());

class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  using ExitListener = std::function<void(std::optional<int> code, std::optional<int> signal)>;

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Empty when the process could not be started.
  std::optional<int> pid() const { return pid_; }
  // Node's exitCode: the exit code, or a negative errno after a spawn error (-2 for ENOENT).
  std::optional<int> exit_code() const { return exit_code_; }
  // Node's signalCode, as a number.
  std::optional<int> signal_code() const { return signal_code_; }
  // True once kill() delivered a signal (not a promise that the child died).
  bool killed() const { return killed_; }
  // Beyond Node 20: true once the `timeout` option fired and kill_signal was sent.
  bool timed_out() const { return timed_out_; }
  // True while an IPC channel is open.
  bool connected() const { return connected_; }
  const std::string& spawnfile() const { return spawnfile_; }
  const std::vector<std::string>& spawnargs() const { return spawnargs_; }

  // The parent's ends of the stdio pipes; nullptr where the entry is not a pipe.
  Stream* std_in() const { return stdio(0); }
  Stream* std_out() const { return stdio(1); }
  Stream* std_err() const { return stdio(2); }
  Stream* stdio(std::size_t index) const;
  std::size_t stdio_count() const { return streams_.size(); }

  // Sends a signal (default SIGTERM) to this very process: through its pidfd on Linux, by pid but
  // never after it was reaped on the portable backend, so a recycled pid is never hit.
  // Returns false if the process has already exited. kill(0) only checks it exists.
  bool kill(int sig = 15);
  bool kill(const KillSignal& sig);
  // Beyond Node (what the tree-kill package is for): signals the child itself as kill() does,
  // then its whole process group — the child and every descendant that did not leave it
  // (setsid/setpgid); on Windows, the job object the child and all it starts belong to.
  // Needs `new_process_group` or `detached` (std::logic_error otherwise).
  // Works after the child has exited too, for descendants still in the group; returns false when
  // no process was left to signal.
  bool kill_tree(int sig = 15);
  bool kill_tree(const KillSignal& sig) { return kill_tree(sig.resolve()); }

  // The IPC channel (after fork(), or with an "ipc" stdio slot): Node's send(), disconnect()
  // and 'message'. They throw std::logic_error when the child has no channel.
  bool send(const json::Value& message, ipc::SendCallback callback = {});
  bool send(const json::Value& message, NativeHandle socket, ipc::SendCallback callback = {});
  void disconnect();
  ListenerId on_message(ipc::MessageListener fn);
  // With fork's serialization 'advanced': any value V8 serializes (see ipc::Channel).
  bool send_advanced(const advanced::Value& message, ipc::SendCallback callback = {});
  bool send_advanced(const advanced::Value& message, NativeHandle socket,
                     ipc::SendCallback callback = {});
  ListenerId on_advanced_message(ipc::AdvancedMessageListener fn);
  ipc::Channel* channel() const { return channel_.get(); }

  // An unref'd child does not keep its loop running (its stdio pipes still do, as in Node).
  void ref();
  void unref();

  ListenerId on_spawn(std::function<void()> fn) { return spawn_event_.on(std::move(fn)); }
  ListenerId on_exit(ExitListener fn) { return exit_event_.on(std::move(fn)); }
  ListenerId on_close(ExitListener fn) { return close_event_.on(std::move(fn)); }
  ListenerId on_error(std::function<void(const Error&)> fn) {
    return error_event_.on(std::move(fn));
  }
  ListenerId on_disconnect(std::function<void()> fn) { return disconnect_event_.on(std::move(fn)); }
  void remove_listener(ListenerId id);

  Loop& loop() const { return loop_; }

  // Made by spawn() (and fork() and the exec family through it), which starts it.
  ChildProcess(Loop& loop, std::string file, std::vector<std::string> args);

 private:
  friend std::shared_ptr<ChildProcess> spawn(const std::string&, const std::vector<std::string>&,
                                             const SpawnOptions&, Loop&);
  struct Starter;  // what spawn() hands start(): the plan (child_process.cpp)
  struct OsState;  // the process handle, its exit watch and the loop registration

  void start(Starter& starter);
  void on_process_exit();
  void on_stream_closed();
  void maybe_close();
  void release_process();
  void on_loop_destroyed();
  void release_listeners();
  ipc::Channel& require_channel() const;
  void emit_error(const Error& error);
  void arm_timeout(std::chrono::milliseconds timeout, int kill_signal);
  void arm_cancellation(const AbortSignal& signal, int kill_signal);
  void arm_close_timeout();

  Loop& loop_;
  std::string spawnfile_;
  std::vector<std::string> spawnargs_;
  std::optional<int> pid_;
  std::optional<int> exit_code_;
  std::optional<int> signal_code_;
  bool killed_ = false;
  bool timed_out_ = false;
  bool leads_group_ = false;
  bool connected_ = false;
  bool closed_ = false;
  std::unique_ptr<OsState> os_;
  std::vector<std::unique_ptr<Stream>> streams_;
  int closes_needed_ = 1;  // the exit, plus every readable pipe
  int closes_got_ = 0;
  std::optional<Loop::TimerId> timeout_timer_;
  std::optional<Loop::TimerId> close_timer_;
  std::optional<std::chrono::milliseconds> close_timeout_after_exit_;
  std::optional<AbortSignal> cancellation_;
  ListenerId cancellation_listener_ = 0;
  std::unique_ptr<ipc::Channel> channel_;
  std::shared_ptr<ChildProcess> self_;  // kept until 'close': the loop owns a running child

  Event<> spawn_event_;
  Event<std::optional<int>, std::optional<int>> exit_event_;
  Event<std::optional<int>, std::optional<int>> close_event_;
  Event<const Error&> error_event_;
  Event<> disconnect_event_;
};

}  // namespace childproc
