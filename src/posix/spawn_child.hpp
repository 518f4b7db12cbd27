// The child's side of a POSIX spawn: everything between fork (or clone) and execve, written once
// for both backends. A `Sys` policy supplies the system calls: the Linux backend's clone path
// runs on our memory and may only trap into the kernel (raw syscall(), no libc wrapper, no
// sanitizer interceptor); the portable backend's fork path has a copy of our memory and uses libc.
//
// A Sys has static members: write, exit, setsid, setpgid0, fcntl, dup2, open, close, chdir,
// setgroups0, setgid, setuid, execve (each returns < 0 and sets errno on failure, as libc), and
// reset_signals(bool handlers_cleared), after_credentials(ChildContext*) (0 or an errno; the Linux
// backend sets PR_SET_PDEATHSIG there), unblock_signals() and close_on_exec_from(int first, long
// open_max).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "internal/handle.hpp"
#include "internal/process.hpp"

// Code that runs in the child before execve: no sanitizer instrumentation (on the clone path the
// child shares our memory and our sanitizer state).
#define CHILDPROC_CHILD_CODE __attribute__((no_sanitize("address", "thread", "undefined")))

namespace childproc::detail::posix {

// The step a child failed at, reported as ProcessFailure::step.
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
  kStepSpawn,
};

inline const char* step_name(int step) {
  static const char* const names[] = {
      "",       "setsid", "fcntl", "dup2", "open", "chdir",   "setgroups", "setgid",
      "setuid", "execve", "clone", "pipe", "fork", "setpgid", "prctl",     "posix_spawn"};
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
  long parent_pid;  // ours, for a check after PR_SET_PDEATHSIG
  bool set_uid;
  bool set_gid;
  uid_t uid;
  gid_t gid;
  const ChildFd* fds;
  int fd_count;
  int* sources;   // fd_count slots of scratch for the fd plumbing
  int report_fd;  // fork: write {err, step} here; clone (shared memory): -1, use the fields below
  // /dev/null opened once by the parent for reading (stdin) and for reading and writing, which
  // an ignored slot duplicates: no open() per slot per spawn. -1: the child opens it itself.
  int null_fds[2];
  long open_max;  // sysconf(_SC_OPEN_MAX) read by the parent (not signal-safe), or -1
  // The kernel reset our signal handlers in the child already (clone3's CLONE_CLEAR_SIGHAND).
  bool handlers_cleared;
  volatile int err;
  volatile int step;
};

template <class Sys>
[[noreturn]] CHILDPROC_CHILD_CODE void child_fail(ChildContext* c, int step, int err) {
  if (c->report_fd >= 0) {
    int msg[2] = {err, step};
    Sys::write(c->report_fd, msg, sizeof msg);
  } else {
    c->err = err;
    c->step = step;
  }
  Sys::exit(127);
}

// Puts each ChildFd where the plan says, then marks everything above them close-on-exec.
template <class Sys>
CHILDPROC_CHILD_CODE void child_setup_fds(ChildContext* c) {
  const int n = c->fd_count;
  // Move every source that sits in the target range out of the way first, so that a dup2 onto a
  // low fd never destroys a source another slot still needs (stdout/stderr swapped).
  for (int i = 0; i < n; ++i) {
    c->sources[i] = -1;
    if (c->fds[i].kind != ChildFd::Kind::kDescriptor) continue;
    int src = c->fds[i].source;
    if (src < n && src != i) {
      src = static_cast<int>(Sys::fcntl(src, F_DUPFD_CLOEXEC, n));
      if (src < 0) child_fail<Sys>(c, kStepMoveFd, errno);
    }
    c->sources[i] = src;
  }
  for (int i = 0; i < n; ++i) {
    switch (c->fds[i].kind) {
      case ChildFd::Kind::kDescriptor:
        if (c->sources[i] == i) {
          // Already in place: only let it survive exec.
          if (Sys::fcntl(i, F_SETFD, 0) != 0) child_fail<Sys>(c, kStepDup2, errno);
        } else if (Sys::dup2(c->sources[i], i) < 0) {
          child_fail<Sys>(c, kStepDup2, errno);
        }
        break;
      case ChildFd::Kind::kNull: {
        int shared = c->null_fds[i == 0 ? 0 : 1];
        if (shared >= 0) {
          if (Sys::dup2(shared, i) < 0) child_fail<Sys>(c, kStepDup2, errno);
          break;
        }
        int fd = static_cast<int>(Sys::open("/dev/null", (i == 0 ? O_RDONLY : O_RDWR) | O_CLOEXEC));
        if (fd < 0) child_fail<Sys>(c, kStepDevNull, errno);
        if (fd == i) {
          Sys::fcntl(i, F_SETFD, 0);
        } else {
          if (Sys::dup2(fd, i) < 0) child_fail<Sys>(c, kStepDup2, errno);
          Sys::close(fd);
        }
        break;
      }
      case ChildFd::Kind::kNone:
        Sys::close(i);  // not opened in the child, even if we hold that number
        break;
    }
  }
  // Whatever else this process holds without close-on-exec (the host application's descriptors)
  // must not reach the child either.
  Sys::close_on_exec_from(n, c->open_max);
}

// execvp's rules over a list of candidates: keep going past ENOENT and friends, remember EACCES,
// stop at anything else. Shared by the child's exec loop and the parent's posix_spawn loop.
struct ExecAttempts {
  bool saw_eacces = false;
  int last = ENOENT;
  // Records a failed attempt; whether the next candidate is worth trying.
  CHILDPROC_CHILD_CODE bool keep_going(int err) {
    last = err;
    if (err == EACCES) {
      saw_eacces = true;
      return true;
    }
    return err == ENOENT || err == ENOTDIR || err == ESTALE || err == ENODEV || err == ETIMEDOUT;
  }
  // The error to report once no candidate worked.
  CHILDPROC_CHILD_CODE int error() const {
    return saw_eacces && (last == ENOENT || last == ENOTDIR) ? EACCES : last;
  }
};

template <class Sys>
[[noreturn]] CHILDPROC_CHILD_CODE void child_exec(ChildContext* c) {
  ExecAttempts attempts;
  for (std::size_t i = 0; i < c->path_count; ++i) {
    Sys::execve(c->paths[i], c->argv, c->envp);
    if (!attempts.keep_going(errno)) break;
  }
  child_fail<Sys>(c, kStepExec, attempts.error());
}

// The whole child: signals back to default, session or group, descriptors, directory,
// credentials, then exec. Entered with every signal blocked (the parent blocked them).
template <class Sys>
[[noreturn]] CHILDPROC_CHILD_CODE void child_main(ChildContext* c) {
  Sys::reset_signals(c->handlers_cleared);
  if (c->detached && Sys::setsid() < 0) child_fail<Sys>(c, kStepSetsid, errno);
  if (c->new_process_group && !c->detached && Sys::setpgid0() < 0)
    child_fail<Sys>(c, kStepSetpgid, errno);
  child_setup_fds<Sys>(c);
  if (c->cwd != nullptr && Sys::chdir(c->cwd) != 0) child_fail<Sys>(c, kStepChdir, errno);
  if (c->set_uid || c->set_gid) Sys::setgroups0();  // may fail: EPERM
  if (c->set_gid && Sys::setgid(c->gid) != 0) child_fail<Sys>(c, kStepSetgid, errno);
  if (c->set_uid && Sys::setuid(c->uid) != 0) child_fail<Sys>(c, kStepSetuid, errno);
  // After the credentials: changing them clears a parent-death signal.
  if (int err = Sys::after_credentials(c)) child_fail<Sys>(c, kStepPrctl, err);
  Sys::unblock_signals();
  child_exec<Sys>(c);
}

// ---- The parent's side, shared by both backends (src/posix/process_common.cpp). ----

// This process's environment block (macOS: _NSGetEnviron, as a library may not name `environ`).
char** process_environ();

// A pipe whose ends are close-on-exec from birth where the system can (pipe2), else at once
// after; `nonblocking` applies to both ends. 0 or an errno.
int make_cloexec_pipe(UniqueHandle& read_end, UniqueHandle& write_end, bool nonblocking);

// The C arrays a child reads, pointing into the request's strings (which outlive the spawn).
struct ChildArrays {
  std::vector<char*> argv, envp, paths;
  std::vector<int> sources;
};

// Fills `ctx` and `arrays` from the request; report_fd is -1, err and step are 0.
void prepare_child(const ProcessRequest& req, ChildArrays& arrays, ChildContext& ctx);

// Blocks every signal in this thread for the lifetime of the guard, so that no handler of ours
// runs in the child before it has reset them; errno is kept across the spawn too.
class SignalsBlocked {
 public:
  SignalsBlocked();
  ~SignalsBlocked();
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_;
  int saved_errno_;
};

// fork(), then child_main<Sys> in the child; the child's failure travels back through a
// close-on-exec pipe into ctx.err/ctx.step. Returns the pid (the caller reaps it when ctx.err is
// set), 0 when the pipe could not be made (ctx says why), or -errno when fork failed.
int fork_child(ChildContext& ctx, void (*child_entry)(ChildContext*));

// After a failed start: collects the child that _exited (pid > 0), then the failure.
ProcessFailure collect_failed_child(int pid, const ChildContext& ctx);

}  // namespace childproc::detail::posix
