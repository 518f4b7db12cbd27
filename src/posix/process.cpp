// Starting a process on Linux, top-down:
//   1. the parent builds everything the child needs (argv, envp, exec candidates, fd plan);
//   2. it blocks every signal, so no handler of ours can run in the child;
//   3. clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD): the child borrows our memory (no page-table copy,
//      so the cost does not grow with our heap) and we sleep until it has exec'd or died;
//   4. the child runs only raw system calls: reset signals, setsid, fd plumbing, chdir,
//      setgid/setuid, unblock signals, execve each candidate;
//   5. a failing child leaves {errno, step} in memory we share (or, on the fork fallback, in a
//      close-on-exec pipe) and _exits; the parent reaps it at once, so nothing is left behind.
#include "internal/process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char** environ;

namespace childproc::detail {

namespace {

enum Step : int {
  kStepNone,
  kStepSetsid,
  kStepMoveFd,
  kStepDup2,
  kStepDevNull,
  kStepChdir,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepExec,
  kStepClone,
  kStepPipe,
  kStepFork,
  kStepSetpgid,
  kStepPrctl,
};

const char* step_name(int step) {
  static const char* const names[] = {"",      "setsid",    "fcntl",  "dup2",    "open",
                                      "chdir", "setgroups", "setgid", "setuid",  "execve",
                                      "clone", "pipe2",     "fork",   "setpgid", "prctl"};
  return step >= 0 && step < static_cast<int>(sizeof names / sizeof *names) ? names[step] : "";
}

// Everything the child reads, prepared by the parent, plus where it reports a failure.
struct ChildContext {
  char* const* paths;
  std::size_t path_count;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  bool detached;
  bool new_process_group;
  bool die_with_parent;
  long parent_pid;  // ours, for the child's check after PR_SET_PDEATHSIG
  bool set_uid;
  bool set_gid;
  uid_t uid;
  gid_t gid;
  const ChildFd* fds;
  int fd_count;
  int* sources;   // fd_count slots of scratch for the fd plumbing
  int report_fd;  // fork path: write {err, step} here; clone path: -1, use the fields below
  volatile int err;
  volatile int step;
};

// The child may only make system calls: no allocation, no locks, no library state (it shares our
// memory). glibc's syscall() is a thin trap; errno it sets lands in our TLS, which the parent
// saves and restores around the spawn.
#define CHILD_SYSCALL(...) syscall(__VA_ARGS__)

[[noreturn]] __attribute__((no_sanitize("address", "thread", "undefined"))) void child_fail(
    ChildContext* c, int step, int err) {
  if (c->report_fd >= 0) {
    int msg[2] = {err, step};
    CHILD_SYSCALL(SYS_write, c->report_fd, msg, sizeof msg);
  } else {
    c->err = err;
    c->step = step;
  }
  CHILD_SYSCALL(SYS_exit_group, 127);
  __builtin_unreachable();
}

// Every caught signal goes back to SIG_DFL before signals are unblocked, so a handler of the
// parent can never run on the child's borrowed memory; ignored standard signals are reset too,
// as libuv does (a SIG_IGN disposition would survive exec).
__attribute__((no_sanitize("address", "thread", "undefined"))) void child_reset_signals() {
  struct KernelSigaction {
    void* handler;
    unsigned long flags;
    void* restorer;
    unsigned long mask;
  };
  KernelSigaction dfl{};  // handler 0 == SIG_DFL
  for (int sig = 1; sig < 32; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    CHILD_SYSCALL(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(unsigned long));
  }
  // Real-time signals: only those with a handler need resetting (exec resets handlers, and an
  // ignored real-time signal is the program's business, as in libuv).
  for (int sig = 32; sig <= 64; ++sig) {
    KernelSigaction old{};
    if (CHILD_SYSCALL(SYS_rt_sigaction, sig, nullptr, &old, sizeof(unsigned long)) != 0) continue;
    if (old.handler != nullptr && old.handler != reinterpret_cast<void*>(SIG_IGN))
      CHILD_SYSCALL(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(unsigned long));
  }
}

__attribute__((no_sanitize("address", "thread", "undefined"))) void child_setup_fds(
    ChildContext* c) {
  const int n = c->fd_count;
  // Move every source that sits in the target range out of the way first, so that a dup2 onto a
  // low fd never destroys a source another slot still needs (stdout/stderr swapped).
  for (int i = 0; i < n; ++i) {
    c->sources[i] = -1;
    if (c->fds[i].kind != ChildFd::Kind::kDescriptor) continue;
    int src = c->fds[i].source;
    if (src < n && src != i) {
      src = static_cast<int>(CHILD_SYSCALL(SYS_fcntl, src, F_DUPFD_CLOEXEC, n));
      if (src < 0) child_fail(c, kStepMoveFd, errno);
    }
    c->sources[i] = src;
  }
  for (int i = 0; i < n; ++i) {
    switch (c->fds[i].kind) {
      case ChildFd::Kind::kDescriptor:
        if (c->sources[i] == i) {
          // Already in place: only let it survive exec.
          if (CHILD_SYSCALL(SYS_fcntl, i, F_SETFD, 0) != 0) child_fail(c, kStepDup2, errno);
        } else if (CHILD_SYSCALL(SYS_dup2, c->sources[i], i) < 0) {
          child_fail(c, kStepDup2, errno);
        }
        break;
      case ChildFd::Kind::kNull: {
        int fd = static_cast<int>(
            CHILD_SYSCALL(SYS_open, "/dev/null", (i == 0 ? O_RDONLY : O_RDWR) | O_CLOEXEC));
        if (fd < 0) child_fail(c, kStepDevNull, errno);
        if (fd == i) {
          CHILD_SYSCALL(SYS_fcntl, i, F_SETFD, 0);
        } else {
          if (CHILD_SYSCALL(SYS_dup2, fd, i) < 0) child_fail(c, kStepDup2, errno);
          CHILD_SYSCALL(SYS_close, fd);
        }
        break;
      }
      case ChildFd::Kind::kNone:
        CHILD_SYSCALL(SYS_close, i);  // not opened in the child, even if we hold that number
        break;
    }
  }
  // Whatever else this process holds without close-on-exec (the host application's descriptors)
  // must not reach the child either. Best effort: ENOSYS on kernels before 5.11.
  CHILD_SYSCALL(SYS_close_range, static_cast<unsigned>(n), ~0U, CLOSE_RANGE_CLOEXEC);
}

// execvp's rules over the candidates the parent prepared: keep going past ENOENT and friends,
// remember EACCES, stop at anything else.
[[noreturn]] __attribute__((no_sanitize("address", "thread", "undefined"))) void child_exec(
    ChildContext* c) {
  bool saw_eacces = false;
  int last = ENOENT;
  for (std::size_t i = 0; i < c->path_count; ++i) {
    CHILD_SYSCALL(SYS_execve, c->paths[i], c->argv, c->envp);
    last = errno;
    if (last == EACCES) {
      saw_eacces = true;
    } else if (last != ENOENT && last != ENOTDIR && last != ESTALE && last != ENODEV &&
               last != ETIMEDOUT) {
      break;
    }
  }
  if (saw_eacces && (last == ENOENT || last == ENOTDIR)) last = EACCES;
  child_fail(c, kStepExec, last);
}

[[noreturn]] __attribute__((no_sanitize("address", "thread", "undefined"))) void child_main(
    ChildContext* c) {
  child_reset_signals();
  if (c->detached && CHILD_SYSCALL(SYS_setsid) < 0) child_fail(c, kStepSetsid, errno);
  if (c->new_process_group && !c->detached && CHILD_SYSCALL(SYS_setpgid, 0, 0) < 0)
    child_fail(c, kStepSetpgid, errno);
  child_setup_fds(c);
  if (c->cwd != nullptr && CHILD_SYSCALL(SYS_chdir, c->cwd) != 0) child_fail(c, kStepChdir, errno);
  // Raw syscalls, not glibc's setuid(): that one would signal every thread of the parent.
  if (c->set_uid || c->set_gid) CHILD_SYSCALL(SYS_setgroups, 0, nullptr);  // may fail: EPERM
  if (c->set_gid && CHILD_SYSCALL(SYS_setgid, c->gid) != 0) child_fail(c, kStepSetgid, errno);
  if (c->set_uid && CHILD_SYSCALL(SYS_setuid, c->uid) != 0) child_fail(c, kStepSetuid, errno);
  // SIGKILL when the thread that started us exits: the spawner thread, which lives as long as the
  // process (see start_process). After the credentials: changing them clears the setting. If the
  // parent died before it was set, nobody will send it: leave now.
  if (c->die_with_parent) {
    if (CHILD_SYSCALL(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
      child_fail(c, kStepPrctl, errno);
    if (CHILD_SYSCALL(SYS_getppid) != c->parent_pid) CHILD_SYSCALL(SYS_exit_group, 127);
  }
  unsigned long empty_mask = 0;
  CHILD_SYSCALL(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, sizeof empty_mask);
  child_exec(c);
}

__attribute__((no_sanitize("address", "thread", "undefined"))) int clone_entry(void* arg) {
  child_main(static_cast<ChildContext*>(arg));
}

// The child's stack for the clone path: one per thread, allocated on first spawn. The parent is
// suspended while the child uses it, so one is enough.
constexpr std::size_t kChildStackSize = 64 * 1024;
char* child_stack_top() {
  thread_local std::unique_ptr<char[]> stack;
  if (!stack) stack.reset(new char[kChildStackSize]);
  auto top = reinterpret_cast<std::uintptr_t>(stack.get() + kChildStackSize);
  return reinterpret_cast<char*>(top & ~std::uintptr_t{63});
}

// ThreadSanitizer intercepts clone() and runs its fork bookkeeping inside the child; with
// CLONE_VM that child is running on our memory, and it corrupts our thread registry. Under TSan
// the fork path is used instead (TSan handles a real fork correctly).
#if defined(__SANITIZE_THREAD__)
constexpr bool kForkByDefault = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kForkByDefault = true;
#else
constexpr bool kForkByDefault = false;
#endif
#else
constexpr bool kForkByDefault = false;
#endif

std::atomic<bool> g_use_fork{kForkByDefault};

// Runs the child with clone(CLONE_VM|CLONE_VFORK); returns the pid or -errno.
int start_with_clone(ChildContext& ctx, int& pidfd) {
  int pid = clone(clone_entry, child_stack_top(), CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                  &ctx, &pidfd);
  return pid < 0 ? -errno : pid;
}

// Runs the child with fork(), for environments that refuse shared-memory clone (valgrind,
// qemu-user); the failure report travels through a close-on-exec pipe.
int start_with_fork(ChildContext& ctx, int& pidfd) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    ctx.err = errno;
    ctx.step = kStepPipe;
    return 0;
  }
  int pid = fork();
  if (pid == 0) {
    ctx.report_fd = report[1];
    child_main(&ctx);
  }
  int fork_errno = errno;
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return -fork_errno;
  }
  int msg[2];
  ssize_t got;
  do {
    got = read(report[0], msg, sizeof msg);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof msg)) {
    ctx.err = msg[0];
    ctx.step = msg[1];
  }
  pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0 && ctx.err == 0) {
    // No pidfd (kernel < 5.3): we cannot watch this child; do not leave it running unwatched.
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ctx.err = err;
    ctx.step = kStepFork;
  }
  return pid;
}

// Orphans: children whose owner went away (a Loop destroyed while they ran). Reaped
// opportunistically so that they never stay zombies for long.
std::mutex g_orphans_mutex;
std::vector<std::pair<int, UniqueFd>> g_orphans;
std::atomic<bool> g_have_orphans{false};

}  // namespace

namespace {

std::optional<ProcessFailure> start_here(const ProcessRequest& req, StartedProcess& out);

// PR_SET_PDEATHSIG fires when the *thread* that created the child exits, not the process. A
// child that must die with this process is therefore started from one thread that lives as long
// as the process: the first such spawn creates it, later ones hand it their request and wait.
class SpawnerThread {
 public:
  static SpawnerThread& get() {
    static SpawnerThread* instance = new SpawnerThread;  // never destroyed: it outlives main()
    return *instance;
  }
  std::optional<ProcessFailure> run(const ProcessRequest& req, StartedProcess& out) {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return job_ == nullptr; });
    std::optional<ProcessFailure> result;
    Job job{&req, &out, &result, false};
    job_ = &job;
    wake_.notify_all();
    done_.wait(lock, [&job] { return job.done; });
    job_ = nullptr;
    idle_.notify_one();
    return result;
  }

 private:
  struct Job {
    const ProcessRequest* req;
    StartedProcess* out;
    std::optional<ProcessFailure>* result;
    bool done;
  };
  SpawnerThread() {
    std::thread([this] {
      std::unique_lock lock(mutex_);
      for (;;) {
        wake_.wait(lock, [this] { return job_ != nullptr && !job_->done; });
        *job_->result = start_here(*job_->req, *job_->out);
        job_->done = true;
        done_.notify_all();
      }
    }).detach();
  }
  std::mutex mutex_;
  std::condition_variable wake_, done_, idle_;
  Job* job_ = nullptr;
};

}  // namespace

std::optional<ProcessFailure> start_process(const ProcessRequest& req, StartedProcess& out) {
  if (req.die_with_parent) return SpawnerThread::get().run(req, out);
  return start_here(req, out);
}

namespace {

std::optional<ProcessFailure> start_here(const ProcessRequest& req, StartedProcess& out) {
  reap_orphans();

  // 1. Everything the child needs, as C arrays pointing into the request's strings.
  std::vector<char*> argv;
  argv.reserve(req.argv->size() + 1);
  for (const auto& a : *req.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (req.env != nullptr) {
    envp.reserve(req.env->size() + 1);
    for (const auto& e : *req.env)
      envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  std::vector<char*> paths;
  paths.reserve(req.exec_candidates.size());
  for (const auto& p : req.exec_candidates)
    paths.push_back(const_cast<char*>(p.c_str()));
  std::vector<int> sources(req.fds.size());

  ChildContext ctx{};
  ctx.paths = paths.data();
  ctx.path_count = paths.size();
  ctx.argv = argv.data();
  ctx.envp = req.env != nullptr ? envp.data() : environ;
  ctx.cwd = req.cwd != nullptr ? req.cwd->c_str() : nullptr;
  ctx.detached = req.detached;
  ctx.new_process_group = req.new_process_group;
  ctx.die_with_parent = req.die_with_parent;
  ctx.parent_pid = getpid();
  ctx.set_uid = req.uid.has_value();
  ctx.set_gid = req.gid.has_value();
  ctx.uid = req.uid.value_or(0);
  ctx.gid = req.gid.value_or(0);
  ctx.fds = req.fds.data();
  ctx.fd_count = static_cast<int>(req.fds.size());
  ctx.sources = sources.data();
  ctx.report_fd = -1;

  // 2. No handler of ours may run in the child before it has reset them.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  int saved_errno = errno;

  // 3. Start it.
  int pidfd = -1;
  int pid;
  if (!g_use_fork.load(std::memory_order_relaxed)) {
    pid = start_with_clone(ctx, pidfd);
    if (pid == -EINVAL || pid == -ENOSYS || pid == -EPERM) {
      // Shared-memory clone refused by the environment: use fork from now on.
      g_use_fork.store(true, std::memory_order_relaxed);
      ctx.err = 0;
      pid = start_with_fork(ctx, pidfd);
    }
  } else {
    pid = start_with_fork(ctx, pidfd);
  }

  errno = saved_errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);

  if (pid < 0) return ProcessFailure{-pid, step_name(kStepClone)};
  if (ctx.err != 0) {
    // 5. The child has _exited (or never existed): collect it now, nothing stays behind.
    if (pid > 0) {
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (pidfd >= 0) close(pidfd);
    return ProcessFailure{ctx.err, step_name(ctx.step)};
  }
  out.pid = pid;
  out.handle.reset(pidfd);
  return std::nullopt;
}

}  // namespace

std::vector<std::string> exec_candidates(const std::string& file,
                                         const std::optional<std::vector<std::string>>& env) {
  if (file.find('/') != std::string::npos) return {file};
  const char* path = nullptr;
  if (env) {
    for (const auto& entry : *env)
      if (entry.compare(0, 5, "PATH=") == 0) path = entry.c_str() + 5;
  } else {
    path = getenv("PATH");
  }
  if (path == nullptr) path = "/usr/bin:/bin";  // _PATH_DEFPATH, as libuv
  std::vector<std::string> out;
  const char* p = path;
  for (;;) {
    const char* end = std::strchr(p, ':');
    std::size_t len = end ? static_cast<std::size_t>(end - p) : std::strlen(p);
    // An empty entry means the current directory.
    if (len == 0) {
      out.push_back(file);
    } else {
      std::string candidate(p, len);
      if (candidate.back() != '/') candidate += '/';
      candidate += file;
      out.push_back(std::move(candidate));
    }
    if (!end) break;
    p = end + 1;
  }
  return out;
}

std::vector<std::string> environment_entries() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    out.emplace_back(*e);
  return out;
}

void remove_environment_variable(const char* name) {
  unsetenv(name);
}

std::string current_executable() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("/proc/self/exe");
}

std::vector<std::string> shell_argv(const std::string& shell_path, const std::string& command) {
  return {shell_path.empty() ? "/bin/sh" : shell_path, "-c", command};
}

int signal_process_group(int leader_pid, int sig) {
  if (leader_pid <= 0) return ESRCH;
  return ::kill(-leader_pid, sig) == 0 ? 0 : errno;
}

int signal_process(int handle, int sig) {
  if (handle < 0) return ESRCH;
  return syscall(SYS_pidfd_send_signal, handle, sig, nullptr, 0) == 0 ? 0 : errno;
}

std::optional<ExitStatus> try_reap(int handle) {
  siginfo_t info{};
  int rc;
  do {
    rc =
        waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(handle), &info, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    // ECHILD: someone else reaped it (a waitpid(-1) in the host). Report what Node would for an
    // unknown status rather than inventing success.
    return ExitStatus{-errno, std::nullopt};
  }
  if (info.si_pid == 0) return std::nullopt;
  if (info.si_code == CLD_EXITED) return ExitStatus{info.si_status, std::nullopt};
  return ExitStatus{std::nullopt, info.si_status};
}

void abandon_process(int pid, UniqueFd handle) {
  if (try_reap(handle.get())) return;
  std::lock_guard lock(g_orphans_mutex);
  g_orphans.emplace_back(pid, std::move(handle));
  g_have_orphans.store(true, std::memory_order_release);
}

void reap_orphans() {
  if (!g_have_orphans.load(std::memory_order_acquire)) return;
  std::lock_guard lock(g_orphans_mutex);
  std::erase_if(g_orphans,
                [](const auto& orphan) { return try_reap(orphan.second.get()).has_value(); });
  g_have_orphans.store(!g_orphans.empty(), std::memory_order_release);
}

void force_fork_strategy(bool on) {
  g_use_fork.store(on);
}

}  // namespace childproc::detail
