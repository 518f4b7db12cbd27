// Option bags for spawn() and spawn_sync(), field for field Node's, in snake_case.
// They are plain aggregates so that designated initializers read like Node's object literals:
//
//   childproc::spawn("ls", {"-l"}, {.cwd = "/tmp", .stdio = "inherit"});
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "childproc/event.hpp"
#include "childproc/stdio.hpp"

namespace childproc {

// A child environment. std::map keeps keys distinct by exact spelling, so "Path" and "PATH"
// both survive, as on POSIX in Node.
using Env = std::map<std::string, std::string>;

// A copy of this process's environment, to extend and pass as SpawnOptions::env.
Env current_env();

// A signal given by number (SIGKILL) or by Node's name ("SIGKILL"); checked at the call,
// ERR_UNKNOWN_SIGNAL for an unknown one. The name is kept inline, not in a std::string, so
// that option structs with default values survive GCC 12's bitwise relocation of temporaries
// inside co_await expressions.
class KillSignal {
 public:
  KillSignal(int number) : number_(number) {}
  KillSignal(const char* name) : KillSignal(std::string_view(name)) {}
  KillSignal(const std::string& name) : KillSignal(std::string_view(name)) {}
  KillSignal(std::string_view name);

  // The signal number; throws InvalidArgumentError (ERR_UNKNOWN_SIGNAL) if it names no signal.
  int resolve() const;

 private:
  int number_ = -1;
  char name_[16] = {};  // longer names are no signal: kept cut, with name_too_long_
  bool name_too_long_ = false;
};

// `shell`: false, true (/bin/sh, or cmd.exe on Win32) or the path of a shell.
class Shell {
 public:
  Shell() = default;
  Shell(bool enabled) : enabled_(enabled) {}
  Shell(const char* path) : enabled_(true), path_(path) {}
  Shell(std::string path) : enabled_(true), path_(std::move(path)) {}

  bool enabled() const { return enabled_; }
  // Empty when the platform's default shell is meant.
  const std::string& path() const { return path_; }

 private:
  bool enabled_ = false;
  std::string path_;
};

// AbortSignal's analogue: a shared flag plus listeners. abort() may be called from any thread;
// a child process reacts on its own loop's thread.
class AbortSignal {
 public:
  bool aborted() const;
  std::string reason() const;
  // Calls fn once when the signal is aborted (at once, on this thread, if it already is).
  ListenerId add_listener(std::function<void()> fn);
  void remove_listener(ListenerId id);
  // Listeners still waiting for abort() (Node: events.getEventListeners(signal, 'abort')).
  std::size_t listener_count() const;

 private:
  friend class AbortController;
  struct State;
  explicit AbortSignal(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class AbortController {
 public:
  AbortController();
  AbortSignal signal() const { return AbortSignal(state_); }
  void abort(std::string reason = "This operation was aborted");

 private:
  std::shared_ptr<AbortSignal::State> state_;
};

enum class Serialization { kJson, kAdvanced };

// How captured output is handed back: text (UTF-8; invalid sequences become U+FFFD, as Node's
// decoder does) or the raw bytes unchanged (Node's encoding: 'buffer').
enum class Encoding { kUtf8, kBuffer };

struct SpawnOptions {
  std::optional<std::string> cwd{};    // nullopt or "": the parent's
  std::optional<Env> env{};            // nullopt: the parent's environment
  std::optional<std::string> argv0{};  // argv[0] seen by the child (default: the file)
  StdioOption stdio = "pipe";
  bool detached = false;  // POSIX: a new session (setsid)
  std::optional<std::uint32_t> uid{};
  std::optional<std::uint32_t> gid{};
  Shell shell{};  // run `file args...` joined with spaces through a shell, unquoted, as Node
  bool windows_verbatim_arguments = false;
  bool windows_hide = false;
  std::chrono::milliseconds timeout{0};  // > 0: kill with kill_signal after this long
  KillSignal kill_signal = "SIGTERM";
  std::optional<AbortSignal> cancellation{};  // Node's `signal`
  Serialization serialization = Serialization::kJson;
  // Beyond Node: once the child has exited, stdio pipes still held open by a grandchild are closed
  // after this long so that 'close' fires (nullopt: wait for them, as Node does).
  std::optional<std::chrono::milliseconds> close_timeout_after_exit{};
  // Beyond Node: the child leads a process group of its own (POSIX setpgid; `detached` implies
  // it), so that ChildProcess::kill_tree() reaches every descendant that stays in the group.
  bool new_process_group = false;
  // Beyond Node: the child is killed (SIGKILL) when this process dies, however it dies, SIGKILL
  // included. Linux: PR_SET_PDEATHSIG, from a spawner thread that lives as long as the process.
  // Windows: a kill-on-close job object, which every non-detached child joins anyway (libuv's).
  // The portable backend refuses it (ENOTSUP).
  bool kill_on_parent_death = false;
};

struct SpawnSyncOptions {
  std::optional<std::string> cwd{};
  std::optional<Env> env{};
  std::optional<std::string> argv0{};
  StdioOption stdio = "pipe";
  bool detached = false;
  std::optional<std::uint32_t> uid{};
  std::optional<std::uint32_t> gid{};
  Shell shell{};
  bool windows_verbatim_arguments = false;
  bool windows_hide = false;
  std::chrono::milliseconds timeout{0};  // > 0: kill after this long, error ETIMEDOUT
  KillSignal kill_signal = "SIGTERM";
  std::optional<std::string> input{};  // written to the child's stdin, which is then closed
  // Node's `encoding`: kBuffer (the default, as Node) keeps the bytes; kUtf8 gives text, invalid
  // UTF-8 replaced by U+FFFD.
  Encoding encoding = Encoding::kBuffer;
  // Bytes of output kept across all pipes before the child is killed with ENOBUFS; 0: unlimited
  // (as in Node's spawnSync, unlike exec).
  std::size_t max_buffer = 1024 * 1024;
  // Beyond Node: how long to keep reading once the child has exited, for pipes a grandchild
  // still holds open. Node waits forever; a sync call must not.
  std::chrono::milliseconds close_timeout_after_exit{250};
  bool new_process_group = false;     // as SpawnOptions
  bool kill_on_parent_death = false;  // as SpawnOptions
};

}  // namespace childproc
