// What a Node-faithful spawn costs above raw clone-vfork, step by step: raw clone(CLONE_VM |
// CLONE_VFORK) + execve + waitpid, then the same with each thing childproc's child and parent do
// added alone, then all of them, then childproc's spawn_sync itself, interleaved
// (bench/interleaving.hpp). The steps, and why childproc takes them:
//   sigreset   29 rt_sigaction(SIG_DFL) in the child: Node's children start with every standard
//              signal at its default, SIG_IGN included (clone3's CLONE_CLEAR_SIGHAND resets
//              handlers, not SIG_IGN);
//   hygiene    close_range(3, ~0, CLOEXEC) in the child (no descriptor leaks into it), the signal
//              mask blocked around the clone and cleared in the child, an fstat of each shared
//              /dev/null descriptor;
//   pidfd      CLONE_PIDFD and waitid(P_PIDFD): a process handle that a recycled pid cannot
//              alias, needed once anything may signal the child (timeouts, kill(), maxBuffer).
// Usage: spawn_floor [ROUNDS] (default 3000). Prints medians and ratios to the raw row.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "interleaving.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char** environ;

namespace {

enum Step : unsigned { kSigreset = 1, kHygiene = 2, kPidfd = 4 };

struct Child {
  char* argv[2];
  int null_fd;
  unsigned steps;
};

int child_main(void* arg) {
  const Child* c = static_cast<const Child*>(arg);
  if (c->steps & kSigreset) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 32; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  for (int fd = 0; fd < 3; ++fd)
    dup2(c->null_fd, fd);
  if (c->steps & kHygiene) {
    syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  execve(c->argv[0], c->argv, environ);
  _exit(127);
}

void spawn_with(Child& c, char* stack_top) {
  sigset_t all, old;
  if (c.steps & kHygiene) {
    struct stat st;
    fstat(c.null_fd, &st);
    fstat(c.null_fd, &st);
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
  }
  int pidfd = -1;
  int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | ((c.steps & kPidfd) ? CLONE_PIDFD : 0);
  pid_t pid = clone(child_main, stack_top, flags, &c, &pidfd);
  if (c.steps & kHygiene) sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    std::perror("clone");
    std::exit(1);
  }
  if (c.steps & kPidfd) {
    siginfo_t info;
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
    close(pidfd);
  } else {
    int status;
    waitpid(pid, &status, 0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 3000;
  std::string program = CHILDPROC_BENCH_TINY;
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  constexpr std::size_t kStack = 64 * 1024;
  auto stack = std::make_unique<char[]>(kStack);
  char* top = stack.get() + kStack;
  struct Variant {
    const char* name;
    unsigned steps;
  };
  const Variant variants[] = {
      {"raw clone-vfork + execve + waitpid", 0},
      {"+ sigreset (29 rt_sigaction)", kSigreset},
      {"+ hygiene (close_range, mask, fstat)", kHygiene},
      {"+ pidfd (CLONE_PIDFD, waitid, close)", kPidfd},
      {"+ sigreset + hygiene", kSigreset | kHygiene},
      {"+ all three", kSigreset | kHygiene | kPidfd},
  };
  std::vector<Child> children;
  for (const Variant& v : variants)
    children.push_back({{program.data(), nullptr}, null_fd, v.steps});
  bench::Interleaving cases;
  for (std::size_t i = 0; i < std::size(variants); ++i)
    cases.add(variants[i].name, [&, i] { spawn_with(children[i], top); });
  cases.add("childproc::spawn_sync, stdio ignore (no timeout: no pidfd)",
            [&] { childproc::spawn_sync(program, {}, {.stdio = "ignore"}); });
  cases.add("childproc::spawn_sync, stdio ignore, timeout (pidfd)", [&] {
    childproc::spawn_sync(program, {}, {.stdio = "ignore", .timeout = std::chrono::hours(1)});
  });
  for (int r = 0; r < rounds; ++r)
    cases.round();
  auto medians = cases.medians();
  std::printf("spawn + wait of %s, %d rounds interleaved, medians\n\n", program.c_str(), rounds);
  std::printf("| case | median | vs raw |\n|---|---|---|\n");
  for (const auto& m : medians)
    std::printf("| %s | %.1f us | %.2fx |\n", m.name.c_str(), m.us, m.us / medians[0].us);
  close(null_fd);
  return 0;
}
