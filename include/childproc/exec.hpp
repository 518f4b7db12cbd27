// exec, exec_file, exec_sync, exec_file_sync: Node's buffered wrappers around spawn and
// spawn_sync, plus exec_async() to co_await a result inside a childproc::Task.
//
//   childproc::exec("ls | wc -l", {}, [](const auto& err, std::string out, std::string) { ... });
//   std::string id = childproc::exec_file_sync("id", {"-u"});        // throws ExecSyncError
//   ExecResult r = co_await childproc::exec_async("git rev-parse HEAD");  // in a Task
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "childproc/child_process.hpp"
#include "childproc/error.hpp"
#include "childproc/loop.hpp"
#include "childproc/options.hpp"
#include "childproc/spawn_sync.hpp"

namespace childproc {

// max_buffer value that disables the limit (Node's Infinity).
inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

struct ExecOptions {
  std::optional<std::string> cwd{};
  std::optional<Env> env{};
  Encoding encoding = Encoding::kUtf8;
  std::chrono::milliseconds timeout{0};
  // Bytes per stream; more kills the child with ERR_CHILD_PROCESS_STDIO_MAXBUFFER. 0 means any
  // output at all is too much (as Node); kUnlimited disables the check. As Node: counted in bytes
  // of output; with a text encoding, what is kept of the chunk that overflows is cut in UTF-16
  // units (Node's string slice), never inside a UTF-8 sequence.
  std::size_t max_buffer = 1024 * 1024;
  KillSignal kill_signal = "SIGTERM";
  std::optional<std::uint32_t> uid{};
  std::optional<std::uint32_t> gid{};
  std::optional<AbortSignal> cancellation{};
  bool windows_hide = false;
  bool windows_verbatim_arguments = false;
  // exec(): true by default (/bin/sh), or a shell path. exec_file(): false by default.
  std::optional<Shell> shell{};
  // Beyond Node: once the child has exited, pipes a grandchild still holds are closed after
  // this long, so the callback cannot be held up forever.
  std::chrono::milliseconds close_timeout_after_exit{250};
};

// The error the callback receives, with Node's fields.
struct ExecError {
  std::string message;                // "Command failed: <cmd>\n<stderr>", or the system error's
  std::string name = "Error";         // "RangeError" (max_buffer), "AbortError"
  std::optional<int> exit_code;       // Node's err.code when it is a number: the exit code
  std::string code;                   // Node's err.code when it is a string: "ENOENT", "ABORT_ERR",
                                      // "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"; empty otherwise
  bool killed = false;                // the child was sent a signal (timeout, max_buffer, abort)
  bool timed_out = false;             // beyond Node 20: the `timeout` option killed it
  std::optional<int> signal;          // the signal that ended it
  std::string cmd;                    // the command line: file and args joined with spaces
  std::optional<Error> system_error;  // errno, syscall, path, spawnargs when a system call failed
  std::string std_out;                // what was captured before the failure
  std::string std_err;
};

using ExecCallback = std::function<void(const std::optional<ExecError>& error, std::string std_out,
                                        std::string std_err)>;

// Runs `file` with `args` (no shell unless options.shell), buffers its output, calls back once.
// Throws InvalidArgumentError for bad arguments, as spawn() does.
std::shared_ptr<ChildProcess> exec_file(const std::string& file,
                                        const std::vector<std::string>& args,
                                        const ExecOptions& options, ExecCallback callback,
                                        Loop& loop = default_loop());
// Runs `command` through the shell (/bin/sh -c, or options.shell).
std::shared_ptr<ChildProcess> exec(const std::string& command, const ExecOptions& options,
                                   ExecCallback callback, Loop& loop = default_loop());

struct ExecSyncOptions {
  std::optional<std::string> cwd{};
  std::optional<Env> env{};
  std::optional<std::string> input{};
  // Unset: stdout and stderr are piped and the child's stderr is also copied to ours, as Node.
  std::optional<StdioOption> stdio{};
  Encoding encoding = Encoding::kUtf8;
  std::chrono::milliseconds timeout{0};
  KillSignal kill_signal = "SIGTERM";
  std::size_t max_buffer = 1024 * 1024;  // as spawn_sync: all pipes together; 0 = unlimited
  std::optional<std::uint32_t> uid{};
  std::optional<std::uint32_t> gid{};
  bool windows_verbatim_arguments = false;
  bool windows_hide = false;
  std::optional<Shell> shell{};  // exec_sync: true by default; exec_file_sync: false
  std::chrono::milliseconds close_timeout_after_exit{250};
};

// Thrown by exec_sync/exec_file_sync when the child could not start, failed, was killed or timed
// out: the whole spawn_sync result, as Node's error carries it.
class ExecSyncError : public std::runtime_error {
 public:
  ExecSyncError(const std::string& message, SpawnSyncResult result)
      : std::runtime_error(message), result_(std::move(result)) {}
  std::optional<int> status() const { return result_.status; }
  std::optional<int> signal() const { return result_.signal; }
  int pid() const { return result_.pid; }
  const std::string& std_out() const { return result_.std_out; }
  const std::string& std_err() const { return result_.std_err; }
  const std::vector<std::optional<std::string>>& output() const { return result_.output; }
  // ENOENT, ETIMEDOUT, ENOBUFS...; nullopt for a plain non-zero exit.
  const std::optional<Error>& error() const { return result_.error; }
  bool timed_out() const { return result_.timed_out; }

 private:
  SpawnSyncResult result_;
};

std::string exec_sync(const std::string& command, const ExecSyncOptions& options = {});
std::string exec_file_sync(const std::string& file, const std::vector<std::string>& args = {},
                           const ExecSyncOptions& options = {});

// ---- co_await support: Node's util.promisify(exec), for loop-driven programs ----------------

struct ExecResult {
  std::optional<ExecError> error;
  std::string std_out;
  std::string std_err;
  std::shared_ptr<ChildProcess> child;  // Node's promise.child
  explicit operator bool() const { return !error; }
};

// An awaitable exec: starts when awaited, resumes the awaiting coroutine from the loop once the
// child has closed. Never blocks the loop's thread. Its state lives on the heap behind one
// pointer: GCC 12 may relocate a co_await operand bitwise, which a std::string member (small
// string optimisation) does not survive.
class ExecAwaitable {
 public:
  ExecAwaitable(const std::string& file, const std::vector<std::string>& args,
                const ExecOptions& options, Loop& loop);
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle);
  ExecResult await_resume();
  void use_shell_by_default();  // exec_async(): `shell` defaults to true

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// co_await exec_async("cmd") runs through the shell; exec_file_async runs a file directly.
//
// GCC 12 caveat: it relocates temporaries inside a co_await expression bitwise, which corrupts
// any std::string they hold. The default options are safe; with non-default options, build them
// in a named variable first:  ExecOptions o{.cwd = "/tmp"};  co_await exec_async("ls", o);
// (Clang and GCC 13+ are not affected.)
ExecAwaitable exec_async(const std::string& command, const ExecOptions& options = {},
                         Loop& loop = default_loop());
ExecAwaitable exec_file_async(const std::string& file, const std::vector<std::string>& args = {},
                              const ExecOptions& options = {}, Loop& loop = default_loop());

}  // namespace childproc
