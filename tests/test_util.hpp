// Shared helpers for the test suites: the helper binary's path, the handles this process has
// open (descriptors read from /proc; a count on Windows), zombie counts (POSIX), and a loop
// runner with a watchdog so a hang fails instead of blocking CI.
#pragma once

#include <gtest/gtest.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "childproc/childproc.hpp"

namespace cptest {

#ifdef _WIN32
// With its drive: a child started in another cwd must still find it.
inline const std::string kHelper = std::filesystem::absolute(CP_HELPER).string();
// Node's err.errno for ENOENT: libuv's number on Windows.
inline constexpr int kEnoentErrnum = -4058;
// The step (Error::step) that fails when the program or the cwd is missing.
inline const std::string kExecStep = "CreateProcessW";
inline const std::string kChdirStep = "CreateProcessW";
inline const std::string kPathListSeparator = ";";
#else
inline const std::string kHelper = CP_HELPER;
inline constexpr int kEnoentErrnum = -ENOENT;
inline const std::string kExecStep = "execve";
inline const std::string kChdirStep = "chdir";
inline const std::string kPathListSeparator = ":";
#endif

// The IPC peers: our C++ child (tests/helpers/cp_ipc_child.cpp), and Node with the scripts in
// tests/node (on Windows node.exe, which .ci/win32 installs, run under Wine as everything is).
#ifdef _WIN32
inline const std::string kIpcChild = std::filesystem::absolute(CP_IPC_CHILD).string();
inline const std::string kNode = std::filesystem::absolute(CP_NODE).string();
inline const std::string kNodeDir = std::filesystem::absolute(CP_NODE_DIR).string();
#else
inline const std::string kIpcChild = CP_IPC_CHILD;
inline const std::string kNode = CP_NODE;
inline const std::string kNodeDir = CP_NODE_DIR;
#endif

// Sets a variable of this process's environment (which children inherit).
inline void set_env(const char* name, const char* value) {
#ifdef _WIN32
  _putenv_s(name, value);
#else
  setenv(name, value, 1);
#endif
}

// The temporary directory, spelled as a child's current directory prints (no trailing slash).
inline std::string temp_directory() {
  std::string dir = std::filesystem::temp_directory_path().string();
  while (dir.size() > 3 && (dir.back() == '/' || dir.back() == '\\'))
    dir.pop_back();
  return dir;
}

// The backend under test. A test that only makes sense on one backend lives in the test suite
// named after it (LinuxBackend, PortableBackend) and skips on the other with this reason.
#ifdef CP_BACKEND_linux
inline constexpr bool kLinuxBackend = true;
#else
inline constexpr bool kLinuxBackend = false;
#endif
#ifdef CP_BACKEND_portable
inline constexpr bool kPortableBackend = true;
#else
inline constexpr bool kPortableBackend = false;
#endif
#define CP_ONLY_ON_LINUX_BACKEND() \
  if (!cptest::kLinuxBackend) GTEST_SKIP() << "about the linux backend (pidfd, epoll, prctl)"
#define CP_ONLY_ON_PORTABLE_BACKEND() \
  if (!cptest::kPortableBackend) GTEST_SKIP() << "about the portable backend (poll, SIGCHLD)"

#ifndef _WIN32
// Descriptors open in this process right now.
inline std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != dirfd(d)) fds.insert(fd);
  }
  closedir(d);
  return fds;
}

// Children of this process that are zombies (exited, never reaped). Windows has none: a process
// is gone once its last handle is.
inline int zombie_children() {
  int zombies = 0;
  const std::string me = std::to_string(getpid());
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == me && state == "Z") ++zombies;
  }
  closedir(d);
  return zombies;
}

#else

inline int zombie_children() {
  return 0;
}

#endif

// Whether the process `pid` (not necessarily our child) exits, or has exited, within `limit`:
// waited on through a handle to it (a pidfd on Linux), never by polling.
inline bool exits_within(int pid, std::chrono::milliseconds limit) {
#ifdef _WIN32
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, static_cast<DWORD>(pid));
  if (h == nullptr) return GetLastError() == ERROR_INVALID_PARAMETER;  // gone already
  DWORD rc = WaitForSingleObject(h, static_cast<DWORD>(limit.count()));
  CloseHandle(h);
  return rc == WAIT_OBJECT_0;
#else
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // gone already
  pollfd p{fd, POLLIN, 0};
  int rc = poll(&p, 1, static_cast<int>(limit.count()));
  close(fd);
  return rc == 1;
#endif
}

// Whether the process `pid` is running now.
inline bool process_alive(int pid) {
  return !exits_within(pid, std::chrono::milliseconds(0));
}

// This process's id.
inline int current_pid() {
#ifdef _WIN32
  return static_cast<int>(GetCurrentProcessId());
#else
  return static_cast<int>(getpid());
#endif
}

// What a job's exit looks like once it called std::abort(): a signal on POSIX; on Windows the C
// runtime's abort() exits with code 3.
#ifdef _WIN32
inline const std::string kAbortedExit = "code 3";
inline const std::string kExeSuffix = ".exe";
#else
inline const std::string kAbortedExit = "signal SIGABRT";
inline const std::string kExeSuffix = "";
#endif

// Ends the process `pid` (not necessarily our child) at once.
inline void kill_pid(int pid) {
#ifdef _WIN32
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, static_cast<DWORD>(pid));
  if (h == nullptr) return;
  TerminateProcess(h, 1);
  CloseHandle(h);
#else
  ::kill(pid, SIGKILL);
#endif
}

// Gets what the first spawn allocates once per process out of the way of a before/after count:
// on POSIX the two /dev/null descriptors ignored slots share; on Windows, the job children join
// and the thread pool's threads.
inline void warm_up() {
  childproc::spawn_sync(kHelper, {"exit", "0"}, {.stdio = "ignore"});
  childproc::Loop loop;
  childproc::spawn(kHelper, {"exit", "0"}, {}, loop);
  loop.run();
}

// What this process has open, to compare before and after: its descriptors on POSIX; on
// Windows, which cannot list them cheaply, the handle count.
inline std::vector<long> open_handles() {
#ifdef _WIN32
  DWORD count = 0;
  GetProcessHandleCount(GetCurrentProcess(), &count);
  return {static_cast<long>(count)};
#else
  std::set<int> fds = open_fds();
  return std::vector<long>(fds.begin(), fds.end());
#endif
}

// Runs the loop until it has nothing left; fails the test (and stops) after `limit`.
inline void run_with_watchdog(childproc::Loop& loop,
                              std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (loop.alive()) {
    loop.run_once(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "loop still busy after " << limit.count() << " ms";
      return;
    }
  }
}

// Runs the loop until `done()` holds (for loops that stay alive, e.g. with resident workers);
// fails the test after `limit`.
template <class Pred>
void run_until(childproc::Loop& loop, Pred done,
               std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    loop.run_once(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "condition not reached after " << limit.count() << " ms";
      return;
    }
  }
}

// Collects everything a spawned child reports, for assertions after the loop ran.
struct Observed {
  std::string out;
  std::string err;
  std::vector<std::string> events;  // "spawn", "exit", "close", "error:<code>"
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  std::optional<int> close_code;
  std::optional<int> close_signal;
  std::optional<childproc::Error> error;
};

inline void observe(const std::shared_ptr<childproc::ChildProcess>& child, Observed& o) {
  child->on_spawn([&o] { o.events.push_back("spawn"); });
  child->on_exit([&o](std::optional<int> code, std::optional<int> sig) {
    o.events.push_back("exit");
    o.exit_code = code;
    o.exit_signal = sig;
  });
  child->on_close([&o](std::optional<int> code, std::optional<int> sig) {
    o.events.push_back("close");
    o.close_code = code;
    o.close_signal = sig;
  });
  child->on_error([&o](const childproc::Error& e) {
    o.events.push_back("error:" + e.code);
    o.error = e;
  });
  if (auto* s = child->std_out()) s->on_data([&o](std::string_view d) { o.out.append(d); });
  if (auto* s = child->std_err()) s->on_data([&o](std::string_view d) { o.err.append(d); });
}

// Runs one child to its end on a loop of its own and returns what it reported.
inline Observed run_child(const std::string& file, const std::vector<std::string>& args,
                          const childproc::SpawnOptions& options = {}) {
  childproc::Loop loop;
  Observed o;
  auto child = childproc::spawn(file, args, options, loop);
  observe(child, o);
  run_with_watchdog(loop);
  return o;
}

// What an exec/exec_file callback received, and how often it ran.
struct Outcome {
  bool called = false;
  int calls = 0;
  std::optional<childproc::ExecError> error;
  std::string out;
  std::string err;
};

inline childproc::ExecCallback record(Outcome& o) {
  return [&o](const std::optional<childproc::ExecError>& error, std::string out, std::string err) {
    o.called = true;
    ++o.calls;
    o.error = error;
    o.out = std::move(out);
    o.err = std::move(err);
  };
}

inline Outcome run_exec(const std::string& command, const childproc::ExecOptions& options = {}) {
  childproc::Loop loop;
  Outcome o;
  childproc::exec(command, options, record(o), loop);
  run_with_watchdog(loop);
  EXPECT_EQ(o.calls, 1);
  return o;
}

inline Outcome run_exec_file(const std::string& file, const std::vector<std::string>& args,
                             const childproc::ExecOptions& options = {}) {
  childproc::Loop loop;
  Outcome o;
  childproc::exec_file(file, args, options, record(o), loop);
  run_with_watchdog(loop);
  EXPECT_EQ(o.calls, 1);
  return o;
}

#ifdef CP_SPAWNER
// Starts cp_spawner (which starts a kill_on_parent_death child, or a detached one), SIGKILLs it
// once it has said its child's pid, and returns that pid.
inline int orphan_of_a_killed_spawner(const std::vector<std::string>& extra) {
  childproc::Loop loop;
  std::vector<std::string> args = {kHelper};
  args.insert(args.end(), extra.begin(), extra.end());
  auto parent = childproc::spawn(std::filesystem::absolute(CP_SPAWNER).string(), args, {}, loop);
  std::string out;
  int grandchild = 0;
  parent->std_out()->on_data([&](std::string_view d) {
    out.append(d);
    if (out.find('\n') != std::string::npos && grandchild == 0) {
      grandchild = std::stoi(out);
      parent->kill("SIGKILL");
    }
  });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(parent->signal_code(), childproc::signal_number("SIGKILL"));
  return grandchild;
}
#endif

}  // namespace cptest
