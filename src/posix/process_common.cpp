// The parts of starting and tracking a process that every POSIX backend shares: the parent's
// preparation of the child, the fork path with its failure pipe, PATH search, the environment,
// process groups, the shell, this executable's path, and the orphan reaper.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "internal/poller.hpp"
#include "internal/process.hpp"
#include "spawn_child.hpp"

#if CHILDPROC_HAVE_NSGETENVIRON
#include <crt_externs.h>
#else
extern char** environ;
#endif
#if CHILDPROC_HAVE_NSGETEXECUTABLEPATH
#include <mach-o/dyld.h>
#endif
#if CHILDPROC_HAVE_KERN_PROC_PATHNAME
#include <sys/sysctl.h>
#endif

namespace childproc::detail {

namespace posix {

char** process_environ() {
#if CHILDPROC_HAVE_NSGETENVIRON
  return *_NSGetEnviron();
#else
  return environ;
#endif
}

int make_cloexec_pipe(UniqueHandle& read_end, UniqueHandle& write_end, bool nonblocking) {
  int fds[2];
#if CHILDPROC_HAVE_PIPE2
  if (pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)) != 0) return errno;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
#else
  // No pipe2 (macOS): a fork in another thread between these calls could inherit the pipe.
  if (pipe(fds) != 0) return errno;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  for (int fd : fds) {
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return errno;
    if (nonblocking && fcntl(fd, F_SETFL, O_NONBLOCK) != 0) return errno;
  }
#endif
  return 0;
}

namespace {

// /dev/null, opened once per process (close-on-exec) for the ignored slots of every spawn. A
// host that closes descriptors it does not own may close these, and the numbers may then name
// something else: each spawn checks (one fstat) that they still are /dev/null, else reopens.
class SharedNull {
 public:
  static void get(int (&fds)[2]) {
    static SharedNull instance;
    std::lock_guard lock(instance.mutex_);
    for (int k = 0; k < 2; ++k) {
      if (!instance.still_null(k)) instance.reopen(k);
      fds[k] = instance.fds_[k];
    }
  }

 private:
  bool still_null(int k) const {
    struct stat st;
    return fds_[k] >= 0 && fstat(fds_[k], &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev_ &&
           st.st_ino == ino_[k];
  }
  void reopen(int k) {
    // A number that no longer is ours is not closed: it belongs to whoever reused it.
    int fd = open("/dev/null", (k == 0 ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))) {
      close(fd);
      fd = -1;
    }
    fds_[k] = fd;
    if (fd >= 0) {
      rdev_ = st.st_rdev;
      ino_[k] = st.st_ino;
    }
  }
  std::mutex mutex_;
  int fds_[2] = {-1, -1};
  dev_t rdev_ = 0;
  ino_t ino_[2] = {0, 0};
};

}  // namespace

void prepare_child(const ProcessRequest& req, ChildArrays& a, ChildContext& ctx) {
  a.argv.reserve(req.argv->size() + 1);
  for (const auto& arg : *req.argv)
    a.argv.push_back(const_cast<char*>(arg.c_str()));
  a.argv.push_back(nullptr);
  if (req.env != nullptr) {
    a.envp.reserve(req.env->size() + 1);
    for (const auto& e : *req.env)
      a.envp.push_back(const_cast<char*>(e.c_str()));
    a.envp.push_back(nullptr);
  }
  a.paths.reserve(req.exec_candidates.size());
  for (const auto& p : req.exec_candidates)
    a.paths.push_back(const_cast<char*>(p.c_str()));
  a.sources.resize(req.fds.size());

  ctx = ChildContext{};
  ctx.paths = a.paths.data();
  ctx.path_count = a.paths.size();
  ctx.argv = a.argv.data();
  ctx.envp = req.env != nullptr ? a.envp.data() : process_environ();
  ctx.cwd = req.cwd != nullptr ? req.cwd->c_str() : nullptr;
  ctx.detached = req.detached;
  ctx.new_process_group = req.new_process_group;
  ctx.die_with_parent = req.die_with_parent;
  ctx.parent_pid = req.die_with_parent ? getpid() : 0;  // read only with PR_SET_PDEATHSIG
  ctx.set_uid = req.uid.has_value();
  ctx.set_gid = req.gid.has_value();
  ctx.uid = req.uid.value_or(0);
  ctx.gid = req.gid.value_or(0);
  ctx.fds = req.fds.data();
  ctx.fd_count = static_cast<int>(req.fds.size());
  ctx.sources = a.sources.data();
  ctx.report_fd = -1;
  ctx.open_max = -1;  // filled in by a backend whose child needs it
  ctx.null_fds[0] = ctx.null_fds[1] = -1;
  for (const ChildFd& fd : req.fds)
    if (fd.kind == ChildFd::Kind::kNull) {
      SharedNull::get(ctx.null_fds);
      break;
    }
}

SignalsBlocked::SignalsBlocked() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved_);
  saved_errno_ = errno;
}

SignalsBlocked::~SignalsBlocked() {
  errno = saved_errno_;
  pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

int fork_child(ChildContext& ctx, void (*child_entry)(ChildContext*)) {
  UniqueHandle report_read, report_write;
  if (int err = make_cloexec_pipe(report_read, report_write, false)) {
    ctx.err = err;
    ctx.step = kStepPipe;
    return 0;
  }
  int pid = fork();
  if (pid == 0) {
    ctx.report_fd = report_write.get();
    child_entry(&ctx);  // does not return
  }
  int fork_errno = errno;
  report_write.reset();  // our copy: the read below ends when the child execs or exits
  if (pid < 0) return -fork_errno;
  int msg[2];
  ssize_t got;
  do {
    got = read(report_read.get(), msg, sizeof msg);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof msg)) {
    ctx.err = msg[0];
    ctx.step = msg[1];
  }
  return pid;
}

ProcessFailure collect_failed_child(int pid, const ChildContext& ctx) {
  if (pid > 0) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return ProcessFailure{ctx.err, step_name(ctx.step)};
}

}  // namespace posix

namespace {

// Orphans: children whose owner went away (a Loop destroyed while they ran). Reaped
// opportunistically so that they never stay zombies for long.
std::mutex g_orphans_mutex;
std::vector<std::pair<int, UniqueHandle>> g_orphans;
std::atomic<bool> g_have_orphans{false};

}  // namespace

void abandon_process(int pid, UniqueHandle handle) {
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

std::vector<std::string> exec_candidates(const std::string& file,
                                         const std::optional<std::vector<std::string>>& env,
                                         const std::optional<std::string>&) {
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
  for (char** e = posix::process_environ(); e != nullptr && *e != nullptr; ++e)
    out.emplace_back(*e);
  return out;
}

void remove_environment_variable(const char* name) {
  unsetenv(name);
}

int parent_process_id() {
  return static_cast<int>(getppid());
}

std::string current_executable() {
#if CHILDPROC_HAVE_NSGETEXECUTABLEPATH
  char buf[4096];
  std::uint32_t size = sizeof buf;
  if (_NSGetExecutablePath(buf, &size) == 0) return buf;
#elif CHILDPROC_HAVE_KERN_PROC_PATHNAME
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
  char buf[4096];
  std::size_t size = sizeof buf;
  if (sysctl(mib, 4, buf, &size, nullptr, 0) == 0 && size > 1) return std::string(buf, size - 1);
#endif
  // Linux and the systems that mimic its /proc (NetBSD: /proc/curproc/exe).
  for (const char* link : {"/proc/self/exe", "/proc/curproc/exe", "/proc/curproc/file"}) {
    char buf[4096];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
  }
  return "/proc/self/exe";
}

ShellCommand shell_command(const std::string& shell_path, const std::string& command) {
  return {{shell_path.empty() ? "/bin/sh" : shell_path, "-c", command}, false};
}

std::uint64_t watch_exit(LoopCore& loop, NativeHandle handle, std::function<void()> on_exit) {
  // Both backends' process handles (a pidfd, an exit pipe) turn readable at exit.
  return loop.watch(handle, kIoReadable, [on_exit = std::move(on_exit)](unsigned) { on_exit(); });
}

void unwatch_exit(LoopCore& loop, std::uint64_t watch) {
  loop.unwatch(watch);
}

int signal_process_group(int leader_pid, NativeHandle, int sig) {
  if (leader_pid <= 0) return ESRCH;
  return ::kill(-leader_pid, sig) == 0 ? 0 : errno;
}

}  // namespace childproc::detail
