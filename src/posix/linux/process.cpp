// Starting a process on Linux, top-down:
//   1. the parent builds everything the child needs (argv, envp, exec candidates, fd plan);
//   2. it blocks every signal, so no handler of ours can run in the child;
//   3. clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|CLONE_CLEAR_SIGHAND): the child borrows our memory
//      (no page-table copy, so the cost does not grow with our heap), the kernel resets our
//      signal handlers in it, and we sleep until it has exec'd or died (clone() where clone3 is
//      refused: kernels before 5.5, or architectures without the entry stub below);
//   4. the child runs only raw system calls (spawn_child.hpp's steps over RawSys below);
//   5. a failing child leaves {errno, step} in memory we share (or, on the fork fallback, in a
//      close-on-exec pipe) and _exits; the parent reaps it at once, so nothing is left behind.
// Exit is watched through the pidfd, which is also how the process is signalled and reaped: a
// recycled pid is never hit.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "internal/process.hpp"
#include "spawn_child.hpp"

#if defined(__x86_64__) || defined(__aarch64__)
#define CHILDPROC_HAVE_CLONE3_STUB 1
// clone3 with a stack of its own returns, in the child, onto that empty stack: no C++ frame can
// return there. This stub makes the call and, in the child, calls fn(arg) on the new stack (then
// exits if it ever returned); the parent gets the syscall's result.
//   long childproc_clone3(clone_args* args, size_t size, int (*fn)(void*), void* arg)
extern "C" long childproc_clone3(void* args, std::size_t size, int (*fn)(void*), void* arg);
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl childproc_clone3\n"
    ".hidden childproc_clone3\n"
    ".type childproc_clone3,@function\n"
    "childproc_clone3:\n"
#if defined(__CET__)
    "  endbr64\n"
#endif
    "  mov %rdx, %r8\n"  // fn and arg survive the syscall (it clobbers rcx and r11 only)
    "  mov %rcx, %r9\n"
    "  mov $435, %eax\n"  // SYS_clone3
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"  // the child: an outermost frame, on its own stack
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  mov %eax, %edi\n"
    "  mov $60, %eax\n"  // SYS_exit
    "  syscall\n"
    "  hlt\n"
    "1:\n"
    "  ret\n"
    ".size childproc_clone3, .-childproc_clone3\n");
#else
__asm__(
    ".text\n"
    ".globl childproc_clone3\n"
    ".hidden childproc_clone3\n"
    ".type childproc_clone3,%function\n"
    "childproc_clone3:\n"
    "  mov x9, x2\n"  // fn and arg: the child starts with a copy of our registers
    "  mov x10, x3\n"
    "  mov x8, #435\n"  // SYS_clone3
    "  svc #0\n"
    "  cbnz x0, 1f\n"
    "  mov x29, xzr\n"  // the child: an outermost frame, on its own stack
    "  mov x30, xzr\n"
    "  mov x0, x10\n"
    "  blr x9\n"
    "  mov x8, #93\n"  // SYS_exit
    "  svc #0\n"
    "1:\n"
    "  ret\n"
    ".size childproc_clone3, .-childproc_clone3\n");
#endif
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

namespace childproc::detail {

namespace {

using posix::ChildContext;

// The child's system calls on the clone path: traps only. It shares our memory, so no allocation,
// no lock, no libc state and no sanitizer interceptor may run; errno lands in our TLS, which
// SignalsBlocked saves and restores around the spawn.
struct RawSys {
  CHILDPROC_CHILD_CODE static long write(int fd, const void* buf, std::size_t n) {
    return syscall(SYS_write, fd, buf, n);
  }
  [[noreturn]] CHILDPROC_CHILD_CODE static void exit(int code) {
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
  }
  CHILDPROC_CHILD_CODE static long setsid() { return syscall(SYS_setsid); }
  CHILDPROC_CHILD_CODE static long setpgid0() { return syscall(SYS_setpgid, 0, 0); }
  CHILDPROC_CHILD_CODE static long fcntl(int fd, int cmd, int arg) {
    return syscall(SYS_fcntl, fd, cmd, arg);
  }
  // dup3 and openat: the only spellings every Linux architecture has (aarch64 has no dup2/open).
  // The callers never dup a descriptor onto itself, the one case where dup3 differs.
  CHILDPROC_CHILD_CODE static long dup2(int from, int to) { return syscall(SYS_dup3, from, to, 0); }
  CHILDPROC_CHILD_CODE static long open(const char* path, int flags) {
    return syscall(SYS_openat, AT_FDCWD, path, flags);
  }
  CHILDPROC_CHILD_CODE static long close(int fd) { return syscall(SYS_close, fd); }
  CHILDPROC_CHILD_CODE static long chdir(const char* path) { return syscall(SYS_chdir, path); }
  // Raw system calls, not glibc's setuid(): that one would signal every thread of the parent.
  CHILDPROC_CHILD_CODE static long setgroups0() { return syscall(SYS_setgroups, 0, nullptr); }
  CHILDPROC_CHILD_CODE static long setgid(gid_t gid) { return syscall(SYS_setgid, gid); }
  CHILDPROC_CHILD_CODE static long setuid(uid_t uid) { return syscall(SYS_setuid, uid); }
  CHILDPROC_CHILD_CODE static long execve(const char* path, char* const* argv, char* const* envp) {
    return syscall(SYS_execve, path, argv, envp);
  }

  // Every caught signal goes back to SIG_DFL before signals are unblocked, so a handler of the
  // parent can never run on the child's borrowed memory; ignored standard signals are reset too,
  // as libuv does (a SIG_IGN disposition would survive exec). After clone3's CLONE_CLEAR_SIGHAND
  // the kernel has reset every handler already: only the standard signals remain (one may be
  // ignored), and the real-time ones are left as they are.
  CHILDPROC_CHILD_CODE static void reset_signals(bool handlers_cleared) {
    struct KernelSigaction {
      void* handler;
      unsigned long flags;
      void* restorer;
      unsigned long mask;
    };
    KernelSigaction dfl{};  // handler 0 == SIG_DFL
    for (int sig = 1; sig < 32; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(unsigned long));
    }
    if (handlers_cleared) return;
    // Real-time signals: only those with a handler need resetting (exec resets handlers, and an
    // ignored real-time signal is the program's business, as in libuv).
    for (int sig = 32; sig <= 64; ++sig) {
      KernelSigaction old{};
      if (syscall(SYS_rt_sigaction, sig, nullptr, &old, sizeof(unsigned long)) != 0) continue;
      if (old.handler != nullptr && old.handler != reinterpret_cast<void*>(SIG_IGN))
        syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(unsigned long));
    }
  }

  // SIGKILL when the thread that started us exits: the spawner thread, which lives as long as the
  // process (see start_process). If the parent died before it was set, nobody will send it:
  // leave now.
  CHILDPROC_CHILD_CODE static int after_credentials(ChildContext* c) {
    if (!c->die_with_parent) return 0;
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return errno;
    if (syscall(SYS_getppid) != c->parent_pid) exit(127);
    return 0;
  }

  CHILDPROC_CHILD_CODE static void unblock_signals() {
    unsigned long empty_mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, sizeof empty_mask);
  }

  // Best effort: ENOSYS on kernels before 5.11.
  CHILDPROC_CHILD_CODE static void close_on_exec_from(int first, long) {
    syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC);
  }
};

CHILDPROC_CHILD_CODE void raw_child_main(ChildContext* c) {
  posix::child_main<RawSys>(c);
}

CHILDPROC_CHILD_CODE int clone_entry(void* arg) {
  posix::child_main<RawSys>(static_cast<ChildContext*>(arg));
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
// Whether clone3 is worth trying: until it is refused once (a kernel before 5.5, a seccomp filter
// that blocks it), or a test asks for the clone() path.
#ifdef CHILDPROC_HAVE_CLONE3_STUB
std::atomic<bool> g_try_clone3{true};
#else
std::atomic<bool> g_try_clone3{false};
#endif

// clone3's arguments, version 0 (64 bytes): what every kernel with clone3 takes.
struct CloneArgs {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

// Runs the child with clone3(CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND), else clone(); returns
// the pid or -errno. `pidfd` null: none is made (a wait_only start).
int start_with_clone(ChildContext& ctx, int* pidfd) {
  char* top = child_stack_top();
  const std::uint64_t pidfd_flag = pidfd != nullptr ? CLONE_PIDFD : 0;
#ifdef CHILDPROC_HAVE_CLONE3_STUB
  if (g_try_clone3.load(std::memory_order_relaxed)) {
    char* base = top - (kChildStackSize - 64);
    CloneArgs args{};
    args.flags = CLONE_VM | CLONE_VFORK | pidfd_flag | CLONE_CLEAR_SIGHAND;
    args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uintptr_t>(base);
    args.stack_size = static_cast<std::uint64_t>(top - base);
    ctx.handlers_cleared = true;
    long pid = childproc_clone3(&args, sizeof args, clone_entry, &ctx);
    if (pid >= 0) return static_cast<int>(pid);
    ctx.handlers_cleared = false;
    if (pid != -ENOSYS && pid != -EINVAL && pid != -E2BIG && pid != -EPERM)
      return static_cast<int>(pid);
    g_try_clone3.store(false, std::memory_order_relaxed);  // refused here: clone() from now on
  }
#endif
  int pid = clone(clone_entry, top, CLONE_VM | CLONE_VFORK | static_cast<int>(pidfd_flag) | SIGCHLD,
                  &ctx, pidfd);
  return pid < 0 ? -errno : pid;
}

// Runs the child with fork(), for environments that refuse shared-memory clone (valgrind,
// qemu-user, ThreadSanitizer); the exit is then watched through pidfd_open().
int start_with_fork(ChildContext& ctx, int* pidfd) {
  int pid = posix::fork_child(ctx, raw_child_main);
  if (pid <= 0 || ctx.err != 0 || pidfd == nullptr) return pid;
  *pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (*pidfd < 0) {
    // No pidfd (kernel < 5.3): we cannot watch this child; do not leave it running unwatched.
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ctx.err = err;
    ctx.step = posix::kStepFork;
  }
  return pid;
}

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
  posix::ChildArrays arrays;
  ChildContext ctx;
  posix::prepare_child(req, arrays, ctx);

  // A wait_only child is never signalled or watched: blocking waitid on its pid is enough.
  int pidfd = -1;
  int* want_pidfd = req.wait_only ? nullptr : &pidfd;
  int pid;
  {
    // 2. No handler of ours may run in the child before it has reset them.
    posix::SignalsBlocked blocked;
    // 3. Start it.
    if (!g_use_fork.load(std::memory_order_relaxed)) {
      pid = start_with_clone(ctx, want_pidfd);
      if (pid == -EINVAL || pid == -ENOSYS || pid == -EPERM) {
        // Shared-memory clone refused by the environment: use fork from now on.
        g_use_fork.store(true, std::memory_order_relaxed);
        ctx.err = 0;
        pid = start_with_fork(ctx, want_pidfd);
      }
    } else {
      pid = start_with_fork(ctx, want_pidfd);
    }
  }

  if (pid < 0) return ProcessFailure{-pid, posix::step_name(posix::kStepClone)};
  UniqueHandle handle(pidfd);
  // 5. A child that failed has _exited (or never existed): collect it now, nothing stays behind.
  if (ctx.err != 0) return posix::collect_failed_child(pid, ctx);
  out.pid = pid;
  out.handle = std::move(handle);
  return std::nullopt;
}

}  // namespace

int signal_process(int handle, int sig) {
  if (handle < 0) return ESRCH;
  return syscall(SYS_pidfd_send_signal, handle, sig, nullptr, 0) == 0 ? 0 : errno;
}

namespace {

// waitid() on the pidfd, or on the pid where there is none (a wait_only start). nullopt: WNOHANG
// was asked and the process still runs.
std::optional<ExitStatus> wait_child(int pid, int handle, int options) {
  siginfo_t info{};
  int rc;
  do {
    rc = handle >= 0
             ? waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(handle), &info, options)
             : waitid(P_PID, static_cast<id_t>(pid), &info, options);
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

}  // namespace

std::optional<ExitStatus> try_reap(int handle) {
  return wait_child(-1, handle, WEXITED | WNOHANG);
}

ExitStatus wait_for_exit(int pid, int handle) {
  return *wait_child(pid, handle, WEXITED);  // without WNOHANG it returns only on an exit
}

void force_start_strategy(StartStrategy strategy) {
  g_use_fork.store(strategy == StartStrategy::kFork ? true : kForkByDefault);
#ifdef CHILDPROC_HAVE_CLONE3_STUB
  g_try_clone3.store(strategy != StartStrategy::kClone);
#endif
}

}  // namespace childproc::detail
