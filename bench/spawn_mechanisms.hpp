// The ways to start a program and wait for it that the spawn benchmark and childproc-spawn-cost
// compare: the raw mechanisms (no error reporting, no signal or descriptor hygiene: the floor)
// and childproc's. Each starts `argv` (argv[0] a path), waits for it, and returns.
#pragma once

#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

namespace bench {

// A command line, with the argv vector the raw mechanisms want.
class Command {
 public:
  explicit Command(std::vector<std::string> args) : args_(std::move(args)) {
    for (std::string& a : args_)
      argv_.push_back(a.data());
    argv_.push_back(nullptr);
  }
  char* const* argv() const { return argv_.data(); }
  const std::string& file() const { return args_.front(); }
  std::vector<std::string> rest() const { return {args_.begin() + 1, args_.end()}; }

 private:
  std::vector<std::string> args_;
  std::vector<char*> argv_;
};

// What a raw child does: its stdio on `null_fd` when there is one (-1: left as it is), then exec.
struct RawChild {
  const Command* command;
  int null_fd;
};

inline void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
  }
}

inline int exec_raw_child(void* arg) {
  const RawChild* c = static_cast<const RawChild*>(arg);
  if (c->null_fd >= 0)
    for (int fd = 0; fd < 3; ++fd)
      dup2(c->null_fd, fd);
  execve(c->command->argv()[0], c->command->argv(), environ);
  _exit(127);
}

#ifdef __linux__
constexpr std::size_t kCloneStackSize = 64 * 1024;
inline void raw_clone_vfork(const RawChild& child, char* stack) {
  reap(clone(exec_raw_child, stack + kCloneStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD,
             const_cast<RawChild*>(&child)));
}
#endif

inline void raw_vfork(const RawChild& child) {
  pid_t pid = vfork();
  if (pid == 0) exec_raw_child(const_cast<RawChild*>(&child));
  reap(pid);
}

inline void raw_posix_spawn(const RawChild& child) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (child.null_fd >= 0)
    for (int fd = 0; fd < 3; ++fd)
      posix_spawn_file_actions_adddup2(&actions, child.null_fd, fd);
  pid_t pid;
  if (posix_spawn(&pid, child.command->argv()[0], &actions, nullptr, child.command->argv(),
                  environ) == 0)
    reap(pid);
  posix_spawn_file_actions_destroy(&actions);
}

inline void raw_fork_exec(const RawChild& child) {
  pid_t pid = fork();
  if (pid == 0) exec_raw_child(const_cast<RawChild*>(&child));
  reap(pid);
}

inline void spawn_sync_ignore(const Command& command) {
  childproc::spawn_sync(command.file(), command.rest(), {.stdio = "ignore"});
}
inline void spawn_sync_pipe(const Command& command) {
  childproc::spawn_sync(command.file(), command.rest());
}
inline void spawn_async_ignore(const Command& command, childproc::Loop& loop) {
  childproc::spawn(command.file(), command.rest(), {.stdio = "ignore"}, loop);
  loop.run();
}

}  // namespace bench
