// The process primitive: start a program with a prepared argv/envp/stdio plan, signal it, reap
// it. Implemented once per platform (src/posix/process.cpp); nothing above it has #ifdefs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "internal/handle.hpp"
#include "internal/loop_core.hpp"

namespace childproc::detail {

// What the child's descriptor number `index` (its position in ProcessRequest::fds) becomes.
struct ChildFd {
  enum class Kind {
    kNone,        // left closed (an ignored fd >= 3)
    kNull,        // /dev/null (an ignored fd 0-2)
    kDescriptor,  // a copy of the parent's descriptor `source`
  };
  Kind kind = Kind::kNone;
  NativeHandle source = kInvalidNativeHandle;
  // `source` is one of this process's fd numbers ("inherit", a given fd) rather than a handle we
  // made: the same thing on POSIX; on Windows, a C runtime fd to look up.
  bool source_is_fd_number = false;
};

// Borrowed views of a prepared spawn; the strings outlive start_process().
struct ProcessRequest {
  const std::string* file = nullptr;         // as the caller named it (Windows refuses .bat)
  std::vector<std::string> exec_candidates;  // paths tried in order (PATH search done already)
  const std::vector<std::string>* argv = nullptr;
  const std::vector<std::string>* env = nullptr;  // "KEY=value"; nullptr: this process's environ
  const std::string* cwd = nullptr;               // nullptr: ours
  bool detached = false;
  bool new_process_group = false;   // the child leads a process group of its own (setpgid)
  bool die_with_parent = false;     // the child is killed when this process dies
  bool verbatim_arguments = false;  // Windows: argv joined without quoting
  bool hide_window = false;         // Windows: no console window, GUI shown hidden
  // The caller will only wait for the exit (wait_for_exit), never watch or signal the process:
  // spawn_sync with no pipe and no timeout. Linux then makes no pidfd (about 3 us a spawn).
  bool wait_only = false;
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  std::vector<ChildFd> fds;
};

// Why a start failed: the errno and the step that failed ("execve", "chdir", "setuid", "clone").
struct ProcessFailure {
  int err = 0;
  const char* step = "";
};

struct StartedProcess {
  int pid = -1;
  UniqueHandle handle;  // pidfd on Linux: readable once the process has exited
  // What signal_process_group() reaches the child's tree through when it leads one: a job object
  // on Windows; empty on POSIX, where the group's id is the leader's pid.
  UniqueHandle group;
};

struct ExitStatus {
  std::optional<int> code;
  std::optional<int> signal;
};

// Starts the process. On failure nothing is left behind: no descriptor, no zombie.
std::optional<ProcessFailure> start_process(const ProcessRequest& request, StartedProcess& out);

// PATH search as libuv/Node do it: a file with a '/' is used as is; otherwise every entry of the
// child's PATH (the child environment's, else ours) is a candidate.
// `cwd` (nullopt: ours) is where Windows looks first, as libuv does.
std::vector<std::string> exec_candidates(const std::string& file,
                                         const std::optional<std::vector<std::string>>& env,
                                         const std::optional<std::string>& cwd);

// Signals the process through its handle. Returns 0 or an errno (ESRCH once it has been reaped).
int signal_process(NativeHandle handle, int sig);

// Signals every process in the group led by `leader_pid` (the child started with
// new_process_group or detached; `group` is its StartedProcess::group). Returns 0 or an errno
// (ESRCH: no process is left in it).
int signal_process_group(int leader_pid, NativeHandle group, int sig);

// Collects the exit status if the process has exited; nullopt if it is still running.
std::optional<ExitStatus> try_reap(NativeHandle handle);

// Blocks until the process has exited and collects its status. `handle` may be empty for a
// wait_only start; `pid` is then what is waited for.
ExitStatus wait_for_exit(int pid, NativeHandle handle);

// Calls `on_exit` from the loop when the process may have exited (then try_reap() tells); a
// watch of `loop`, ended with unwatch() and referenced with set_ref().
std::uint64_t watch_exit(LoopCore& loop, NativeHandle handle, std::function<void()> on_exit);
// Ends that watch; the process handle may be closed after it.
void unwatch_exit(LoopCore& loop, std::uint64_t watch);

// Waits for exit without blocking forever later: hands a still-running process to a reaper that
// collects it when it exits (on a later start_process() or reap_orphans() call).
void abandon_process(int pid, UniqueHandle handle);
// The id of the process that started this one (-1 when it cannot be told).
int parent_process_id();
void reap_orphans();

// How `command` runs through the platform shell (`shell_path` empty: the default): its argv,
// and whether that argv must reach the shell unquoted (cmd.exe's /s /c "<command>").
struct ShellCommand {
  std::vector<std::string> argv;
  bool verbatim_arguments = false;
};
ShellCommand shell_command(const std::string& shell_path, const std::string& command);

// The path of this process's own executable (fork()'s default exec_path).
std::string current_executable();

// This process's environment as "KEY=value" entries, and the removal of one variable (the
// NODE_CHANNEL_* variables, once the child side has read them).
std::vector<std::string> environment_entries();
void remove_environment_variable(const char* name);

// Test hook: force one way of starting processes, so that each is tested whatever the default;
// kDefault restores the backend's own choice. The linux backend has clone (its default) and
// fork (its fallback, and its default under ThreadSanitizer); the portable backend has
// posix_spawn (for the requests it can express, where the C library resets every signal) and
// fork. A strategy the backend lacks means its default.
// kClone: the Linux backend's clone() path, used where clone3 is refused (kernels before 5.5).
enum class StartStrategy { kDefault, kFork, kPosixSpawn, kClone };
void force_start_strategy(StartStrategy strategy);

}  // namespace childproc::detail
