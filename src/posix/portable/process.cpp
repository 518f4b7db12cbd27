// Starting and watching a process on any POSIX system (macOS, the BSDs; Linux too, which is
// where CI proves it), top-down:
//   1. the parent builds everything the child needs (argv, envp, exec candidates, fd plan) and
//      an exit pipe for it, registered with the SIGCHLD handler *before* the child exists;
//   2. it blocks every signal, so no handler of ours can run in the child;
//   3. posix_spawn when the request is one it can express (no uid/gid, no cwd: a failed chdir
//      would be reported as a failed exec; setsid and closing the host's descriptors only where
//      the system offers them); otherwise fork(), and the child runs spawn_child.hpp's steps over
//      libc (LibcSys below);
//   4. a failing forked child writes {errno, step} to a close-on-exec pipe and _exits; the
//      parent reaps it at once, so nothing is left behind.
// Exit notification: a SIGCHLD handler, installed once and chained to whatever handler the host
// had, writes a byte to the exit pipe of every child we are watching. The pipe's read end is the
// process handle: readable means "this child may have exited", and try_reap() settles it with
// waitpid(pid, WNOHANG) on that pid only, never waitpid(-1), so a host's own children are left to
// the host. Signals go by pid, under the lock that reaping takes, so a reaped (and perhaps
// recycled) pid is never signalled.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "internal/process.hpp"
#include "spawn_child.hpp"

namespace childproc::detail {

namespace {

using posix::ChildContext;

// The highest signal number: real-time signals included where the system has them.
#if defined(SIGRTMAX)
const int kLastSignal = SIGRTMAX;
#else
const int kLastSignal = NSIG - 1;
#endif

// The child's system calls: it has its own copy of our memory (fork), so libc is safe as long
// as it is async-signal-safe.
struct LibcSys {
  static long write(int fd, const void* buf, std::size_t n) { return ::write(fd, buf, n); }
  [[noreturn]] static void exit(int code) { ::_exit(code); }
  static long setsid() { return ::setsid(); }
  static long setpgid0() { return ::setpgid(0, 0); }
  static long fcntl(int fd, int cmd, int arg) { return ::fcntl(fd, cmd, arg); }
  static long dup2(int from, int to) { return ::dup2(from, to); }
  static long open(const char* path, int flags) { return ::open(path, flags); }
  static long close(int fd) { return ::close(fd); }
  static long chdir(const char* path) { return ::chdir(path); }
  static long setgroups0() { return ::setgroups(0, nullptr); }
  static long setgid(gid_t gid) { return ::setgid(gid); }
  static long setuid(uid_t uid) { return ::setuid(uid); }
  static long execve(const char* path, char* const* argv, char* const* envp) {
    return ::execve(path, argv, envp);
  }
  // Every caught signal back to SIG_DFL (ignored standard ones too, as libuv), so no handler of
  // the parent runs between here and exec, and no SIG_IGN survives exec.
  static void reset_signals(bool) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig <= kLastSignal; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;  // a signal the C library reserves
      if (old.sa_handler == SIG_DFL) continue;
      if (old.sa_handler == SIG_IGN && sig >= 32) continue;
      ::sigaction(sig, &dfl, nullptr);
    }
  }
  static int after_credentials(ChildContext*) { return 0; }
  static void unblock_signals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  // Marks every higher descriptor close-on-exec: close_range where the system has it (Linux,
  // FreeBSD), else one fcntl per possible descriptor up to the soft RLIMIT_NOFILE (capped at
  // 65536; a descriptor above the cap would reach the child).
  static void close_on_exec_from(int first, long open_max) {
#if CHILDPROC_HAVE_CLOSE_RANGE_CLOEXEC
    if (::close_range(static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
    long max = open_max < 0 || open_max > 65536 ? 65536 : open_max;
    for (int fd = first; fd < max; ++fd) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
};

void libc_child_main(ChildContext* c) {
  posix::child_main<LibcSys>(c);
}

// ---- posix_spawn, where the request allows it. ----

// glibc's posix_spawn leaves its own internal signals (32 and 33) ignored in the child, and
// SIG_IGN survives exec: there, fork gives children the clean signal state they are promised.
#ifdef __GLIBC__
constexpr bool kPosixSpawnResetsEverySignal = false;
#else
constexpr bool kPosixSpawnResetsEverySignal = true;
#endif

std::atomic<StartStrategy> g_strategy{StartStrategy::kDefault};

bool posix_spawn_can_start(const ProcessRequest& req) {
  StartStrategy strategy = g_strategy.load(std::memory_order_relaxed);
  if (strategy == StartStrategy::kFork) return false;
  if (strategy == StartStrategy::kDefault && !kPosixSpawnResetsEverySignal) return false;
  if (req.uid || req.gid || req.cwd != nullptr) return false;
#if !CHILDPROC_HAVE_POSIX_SPAWN_SETSID
  if (req.detached) return false;
#endif
    // The host's descriptors without close-on-exec must not reach the child.
#if CHILDPROC_HAVE_POSIX_SPAWN_ADDCLOSEFROM_NP || CHILDPROC_HAVE_POSIX_SPAWN_CLOEXEC_DEFAULT
  return true;
#else
  return false;
#endif
}

// The attribute and file-action objects, destroyed however the spawn ends.
struct SpawnObjects {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  int attr_error, actions_error;  // 0 once initialized
  SpawnObjects()
      : attr_error(posix_spawnattr_init(&attr)),
        actions_error(posix_spawn_file_actions_init(&actions)) {}
  ~SpawnObjects() {
    if (actions_error == 0) posix_spawn_file_actions_destroy(&actions);
    if (attr_error == 0) posix_spawnattr_destroy(&attr);
  }
  SpawnObjects(const SpawnObjects&) = delete;
  SpawnObjects& operator=(const SpawnObjects&) = delete;
};

// Starts the child with posix_spawn, trying each exec candidate in turn. Returns the pid, or 0
// with ctx.err/ctx.step set.
int start_with_posix_spawn(const ProcessRequest& req, ChildContext& ctx) {
  auto fail = [&ctx](int err, int step) {
    ctx.err = err;
    ctx.step = step;
    return 0;
  };
  SpawnObjects spawn;
  if (int err = spawn.attr_error ? spawn.attr_error : spawn.actions_error)
    return fail(err, posix::kStepSpawn);
  const int n = ctx.fd_count;
  // A file action cannot move a descriptor out of the way, so sources inside the target range
  // are duplicated above it here first (stdout/stderr swapped, a source already in place).
  std::vector<UniqueHandle> moved;
  for (int i = 0; i < n; ++i) {
    const ChildFd& want = req.fds[static_cast<std::size_t>(i)];
    int rc = 0;
    switch (want.kind) {
      case ChildFd::Kind::kDescriptor: {
        int source = want.source;
        if (source < n) {
          source = fcntl(source, F_DUPFD_CLOEXEC, n);
          if (source < 0) return fail(errno, posix::kStepMoveFd);
          moved.emplace_back(source);
        }
        rc = posix_spawn_file_actions_adddup2(&spawn.actions, source, i);
        break;
      }
      case ChildFd::Kind::kNull:
        rc = posix_spawn_file_actions_addopen(&spawn.actions, i, "/dev/null",
                                              i == 0 ? O_RDONLY : O_RDWR, 0);
        break;
      case ChildFd::Kind::kNone:
        // Only what we hold can reach the child; closing what is not open may fail the spawn
        // (macOS), and POSIX_SPAWN_CLOEXEC_DEFAULT closes it anyway.
#if !CHILDPROC_HAVE_POSIX_SPAWN_CLOEXEC_DEFAULT || CHILDPROC_HAVE_POSIX_SPAWN_ADDCLOSEFROM_NP
        if (fcntl(i, F_GETFD) >= 0) rc = posix_spawn_file_actions_addclose(&spawn.actions, i);
#endif
        break;
    }
    if (rc != 0) return fail(rc, posix::kStepSpawn);
  }
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
#if CHILDPROC_HAVE_POSIX_SPAWN_ADDCLOSEFROM_NP
  if (int rc = posix_spawn_file_actions_addclosefrom_np(&spawn.actions, n))
    return fail(rc, posix::kStepSpawn);
#elif CHILDPROC_HAVE_POSIX_SPAWN_CLOEXEC_DEFAULT
  flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
#if CHILDPROC_HAVE_POSIX_SPAWN_SETSID
  if (req.detached) flags |= POSIX_SPAWN_SETSID;
#endif
  if (req.new_process_group && !req.detached) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&spawn.attr, 0);
  }
  // Every signal at its default and none blocked, as the fork path leaves them.
  sigset_t all, none;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&spawn.attr, &all);
  posix_spawnattr_setsigmask(&spawn.attr, &none);
  posix_spawnattr_setflags(&spawn.attr, flags);

  posix::ExecAttempts attempts;
  for (std::size_t i = 0; i < ctx.path_count; ++i) {
    pid_t pid = 0;
    int rc = posix_spawn(&pid, ctx.paths[i], &spawn.actions, &spawn.attr, ctx.argv, ctx.envp);
    if (rc == 0) return pid;
    // Out of processes or memory: the spawn itself failed, not this candidate.
    if (rc == EAGAIN || rc == ENOMEM) return fail(rc, posix::kStepSpawn);
    if (!attempts.keep_going(rc)) break;
  }
  return fail(attempts.error(), posix::kStepExec);
}

// ---- The SIGCHLD side: what the handler may touch, lock-free. ----

// Slots holding the write end of each watched child's exit pipe (-1: free). Chunks are only
// ever added, never freed, so the handler can walk them at any moment.
struct SlotChunk {
  static constexpr int kSlots = 64;
  std::atomic<int> fds[kSlots];
  std::atomic<SlotChunk*> next{nullptr};
  SlotChunk() {
    for (auto& fd : fds)
      fd.store(-1, std::memory_order_relaxed);
  }
};

static_assert(std::atomic<int>::is_always_lock_free, "the SIGCHLD handler reads slots lock-free");
SlotChunk g_first_chunk;
std::atomic<int> g_handlers_running{0};
struct sigaction g_host_action;  // the SIGCHLD action the host had before ours

void on_sigchld(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  g_handlers_running.fetch_add(1, std::memory_order_seq_cst);
  for (SlotChunk* chunk = &g_first_chunk; chunk != nullptr;
       chunk = chunk->next.load(std::memory_order_acquire)) {
    for (auto& slot : chunk->fds) {
      int fd = slot.load(std::memory_order_seq_cst);
      if (fd < 0) continue;
      char byte = 0;
      // Non-blocking: a full pipe is already readable, which is all the byte is for.
      [[maybe_unused]] ssize_t r = ::write(fd, &byte, 1);
    }
  }
  g_handlers_running.fetch_sub(1, std::memory_order_seq_cst);
  errno = saved_errno;
  // The host's handler runs too, as if we were not here.
  if (g_host_action.sa_handler == SIG_DFL || g_host_action.sa_handler == SIG_IGN) return;
  if (g_host_action.sa_flags & SA_SIGINFO) {
    g_host_action.sa_sigaction(sig, info, context);
  } else {
    g_host_action.sa_handler(sig);
  }
}

void forget_slots_in_forked_child() {
  for (SlotChunk* chunk = &g_first_chunk; chunk != nullptr;
       chunk = chunk->next.load(std::memory_order_acquire))
    for (auto& slot : chunk->fds)
      slot.store(-1, std::memory_order_relaxed);
  g_handlers_running.store(0, std::memory_order_seq_cst);
}

void install_sigchld_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction ours {};
    ours.sa_sigaction = on_sigchld;
    sigfillset(&ours.sa_mask);  // nothing interrupts the walk over the slots
    struct sigaction host {};
    sigaction(SIGCHLD, nullptr, &host);
    g_host_action = host;
    // SA_NOCLDSTOP only if the host asked for it: stops are its business, not ours. SA_ONSTACK
    // always: runtimes that run on small stacks (Go) require it of every handler.
    ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | (host.sa_flags & SA_NOCLDSTOP);
    sigaction(SIGCHLD, &ours, nullptr);
    // A host's fork() without exec inherits the handler and the slots: they are the parent's
    // children, not the new process's, and a handler interrupted by the fork never finishes.
    pthread_atfork(nullptr, nullptr, forget_slots_in_forked_child);
  });
}

std::atomic<int>* claim_slot(int fd) {
  for (SlotChunk* chunk = &g_first_chunk;;) {
    for (auto& slot : chunk->fds) {
      int expected = -1;
      if (slot.compare_exchange_strong(expected, fd)) return &slot;
    }
    SlotChunk* next = chunk->next.load(std::memory_order_acquire);
    if (next == nullptr) {
      auto* fresh = new SlotChunk;  // never freed: the handler may be walking it
      if (chunk->next.compare_exchange_strong(next, fresh)) {
        next = fresh;
      } else {
        delete fresh;  // another thread linked one first; `next` is it
      }
    }
    chunk = next;
  }
}

// Frees a slot; once this returns, no handler can still write to the old descriptor, so the
// caller may close it (its number could otherwise be reused and get our byte).
void release_slot(std::atomic<int>* slot) {
  slot->store(-1, std::memory_order_seq_cst);
  while (g_handlers_running.load(std::memory_order_seq_cst) != 0)
    std::this_thread::yield();
}

// ---- The parent's side: which handle is which child. ----

struct WatchedChild {
  int pid;
  UniqueHandle exit_pipe_write;
  std::atomic<int>* slot;
};

std::mutex g_children_mutex;
std::unordered_map<int, WatchedChild> g_children;  // by the exit pipe's read end (the handle)

// Forgets a child (lock held): the handler stops writing, then the write end closes.
void forget(std::unordered_map<int, WatchedChild>::iterator it) {
  if (it->second.slot != nullptr) release_slot(it->second.slot);
  g_children.erase(it);
}

std::optional<ProcessFailure> refuse(int err, int step) {
  return ProcessFailure{err, posix::step_name(step)};
}

}  // namespace

std::optional<ProcessFailure> start_process(const ProcessRequest& req, StartedProcess& out) {
  reap_orphans();
  // PR_SET_PDEATHSIG has no portable equivalent; refusing is better than a child that outlives
  // a parent who asked otherwise.
  if (req.die_with_parent) return ProcessFailure{ENOTSUP, "kill_on_parent_death"};
  install_sigchld_handler();

  // 1. Everything the child needs, and the exit pipe, watched from before the child exists.
  posix::ChildArrays arrays;
  ChildContext ctx;
  posix::prepare_child(req, arrays, ctx);
  UniqueHandle exit_read, exit_write;
  if (int err = posix::make_cloexec_pipe(exit_read, exit_write, true))
    return refuse(err, posix::kStepPipe);
  const int handle = exit_read.get();
  {
    // Registered before the spawn, so that nothing after it can fail. An entry already under
    // this number is stale (its handle was closed without a reap, after an exception): drop it.
    std::lock_guard lock(g_children_mutex);
    if (auto stale = g_children.find(handle); stale != g_children.end()) forget(stale);
    auto& entry =
        g_children.emplace(handle, WatchedChild{-1, std::move(exit_write), nullptr}).first->second;
    entry.slot = claim_slot(entry.exit_pipe_write.get());
  }

  const bool by_posix_spawn = posix_spawn_can_start(req);
  // The fork path's child may have to walk every possible descriptor (no close_range).
  if (!by_posix_spawn) ctx.open_max = sysconf(_SC_OPEN_MAX);
  int pid;
  {
    // 2. No handler of ours may run in the child before it has reset them.
    posix::SignalsBlocked blocked;
    // 3. Start it.
    pid =
        by_posix_spawn ? start_with_posix_spawn(req, ctx) : posix::fork_child(ctx, libc_child_main);
  }

  std::unique_lock lock(g_children_mutex);
  auto entry = g_children.find(handle);
  if (pid < 0 || ctx.err != 0) {
    forget(entry);
    lock.unlock();
    // 4. A child that failed has _exited (or never existed): collect it now.
    if (pid < 0) return refuse(-pid, posix::kStepFork);
    return posix::collect_failed_child(pid, ctx);
  }
  entry->second.pid = pid;
  out.pid = pid;
  out.handle = std::move(exit_read);
  return std::nullopt;
}

int signal_process(int handle, int sig) {
  std::lock_guard lock(g_children_mutex);
  auto it = g_children.find(handle);
  // Reaped (its pid may belong to someone else now), or not started.
  if (it == g_children.end() || it->second.pid <= 0) return ESRCH;
  return ::kill(it->second.pid, sig) == 0 ? 0 : errno;
}

std::optional<ExitStatus> try_reap(int handle) {
  std::lock_guard lock(g_children_mutex);
  auto it = g_children.find(handle);
  if (it == g_children.end() || it->second.pid <= 0) return ExitStatus{-ECHILD, std::nullopt};
  // Drain first: an exit after the waitpid below writes a new byte, so none is missed.
  char drain[64];
  while (::read(handle, drain, sizeof drain) > 0) {
  }
  int status = 0;
  int rc;
  do {
    rc = ::waitpid(it->second.pid, &status, WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return std::nullopt;  // another child's SIGCHLD woke us
  int wait_errno = errno;
  forget(it);
  // ECHILD: someone else reaped it (a waitpid(-1) in the host). Report what Node would for an
  // unknown status rather than inventing success.
  if (rc < 0) return ExitStatus{-wait_errno, std::nullopt};
  if (WIFEXITED(status)) return ExitStatus{WEXITSTATUS(status), std::nullopt};
  return ExitStatus{std::nullopt, WTERMSIG(status)};
}

ExitStatus wait_for_exit(int, int handle) {
  // The handle is readable once a SIGCHLD has come for any child: wait for that, then ask.
  for (;;) {
    if (auto status = try_reap(handle)) return *status;
    pollfd readable{handle, POLLIN, 0};
    ::poll(&readable, 1, -1);
  }
}

void force_start_strategy(StartStrategy strategy) {
  // kClone names the Linux backend's clone() path: here it is the default.
  g_strategy.store(strategy == StartStrategy::kClone ? StartStrategy::kDefault : strategy);
}

}  // namespace childproc::detail
