// What only POSIX systems have, on both POSIX backends: death by a signal, signals a child can
// ignore, fork()ed grandchildren, /bin/sh.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;
using cptest::Observed;
using cptest::Outcome;
using cptest::run_child;
using cptest::run_exec;
using cptest::run_exec_file;

TEST(PosixSpawnSync, DeathBySignalIsASignalNotAStatus) {
  auto r = spawn_sync(kHelper, {"signal", std::to_string(SIGSEGV)});
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_EQ(r.signal, SIGSEGV);
  // Without a pipe or a timeout the child is only waited for (no process handle is made).
  auto quiet = spawn_sync(kHelper, {"signal", std::to_string(SIGTERM)}, {.stdio = "ignore"});
  EXPECT_EQ(quiet.status, std::nullopt);
  EXPECT_EQ(quiet.signal, SIGTERM);
}

TEST(PosixSpawnSync, TimeoutUsesKillSignal) {
  auto r = spawn_sync(kHelper, {"ignore-term", "10000"},
                      {.timeout = std::chrono::milliseconds(200), .kill_signal = "SIGKILL"});
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.error->code, "ETIMEDOUT");
}

TEST(PosixSpawnSync, AGrandchildHoldingStdoutDoesNotHangPastTheBound) {
  auto start = std::chrono::steady_clock::now();
  auto r = spawn_sync(kHelper, {"grandchild-holds-stdout", "5000"},
                      {.close_timeout_after_exit = std::chrono::milliseconds(200)});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.std_out, "child-done\n");
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
}

TEST(PosixSpawnSync, ShellPipeline) {
  auto r = spawn_sync("echo a | tr a b", {}, {.shell = true});
  EXPECT_EQ(r.std_out, "b\n");
}

TEST(PosixSpawn, DeathBySignalIsASignalNotACode) {
  Observed o = run_child(kHelper, {"signal", std::to_string(SIGUSR1)});
  EXPECT_EQ(o.exit_code, std::nullopt);
  EXPECT_EQ(o.exit_signal, SIGUSR1);
  EXPECT_EQ(o.close_signal, SIGUSR1);
  EXPECT_EQ(signal_name(*o.exit_signal), "SIGUSR1");
}

TEST(PosixSpawn, NonExecutableFileIsEacces) {
  char path[] = "/tmp/cp-noexec-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  chmod(path, 0644);
  Observed o = run_child(path, {});
  unlink(path);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "EACCES");
  EXPECT_EQ(o.close_code, -EACCES);
}

TEST(PosixSpawn, ShellRunsTheJoinedCommandThroughBinSh) {
  Loop loop;
  Observed o;
  auto child = spawn(
      "echo bar | tr a-z A-Z;", {"echo", "$CP_SHELL_VAR"},
      {.env = Env{{"CP_SHELL_VAR", "expanded"}, {"PATH", "/usr/bin:/bin"}}, .shell = true}, loop);
  cptest::observe(child, o);
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.out, "BAR\nexpanded\n");
  EXPECT_EQ(child->spawnfile(), "/bin/sh");
  EXPECT_EQ(child->spawnargs().back(), "echo bar | tr a-z A-Z; echo $CP_SHELL_VAR");
}

TEST(PosixSpawn, ShellMissingCommandExits127WithoutError) {
  Observed o = run_child("no-such-cmd-xyz", {}, {.shell = true});
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_FALSE(o.error);
}

TEST(PosixSpawn, CancellationFromAnotherThread) {
  Loop loop;
  Observed o;
  AbortController controller;
  auto child = spawn(kHelper, {"ignore-term", "10000"},
                     {.kill_signal = SIGKILL, .cancellation = controller.signal()}, loop);
  cptest::observe(child, o);
  std::thread aborter;
  child->std_out()->on_data(
      [&](std::string_view) { aborter = std::thread([&] { controller.abort(); }); });
  cptest::run_with_watchdog(loop);
  aborter.join();
  EXPECT_EQ(o.exit_signal, SIGKILL);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "ABORT_ERR");
}

TEST(PosixSpawn, DetachedChildRunsInItsOwnSession) {
  Observed o = run_child(kHelper, {"sid"}, {.detached = true});
  int pid = 0, sid = 0, pgid = 0;
  ASSERT_EQ(std::sscanf(o.out.c_str(), "%d %d %d", &pid, &sid, &pgid), 3);
  EXPECT_EQ(pid, sid);
  EXPECT_EQ(pid, pgid);
  EXPECT_NE(sid, getsid(0));
}

TEST(PosixSpawn, NotDetachedChildSharesOurSession) {
  Observed o = run_child(kHelper, {"sid"});
  int pid = 0, sid = 0, pgid = 0;
  ASSERT_EQ(std::sscanf(o.out.c_str(), "%d %d %d", &pid, &sid, &pgid), 3);
  EXPECT_EQ(sid, getsid(0));
}

TEST(PosixSpawn, CloseTimeoutAfterExitStopsWaitingForAGrandchild) {
  Loop loop;
  Observed o;
  auto child = spawn(kHelper, {"grandchild-holds-stdout", "5000"},
                     {.close_timeout_after_exit = std::chrono::milliseconds(100)}, loop);
  cptest::observe(child, o);
  auto start = std::chrono::steady_clock::now();
  cptest::run_with_watchdog(loop);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3000));
  EXPECT_EQ(o.out, "child-done\n");
  EXPECT_EQ(o.events, (std::vector<std::string>{"spawn", "exit", "close"}));
}

TEST(PosixSpawn, ErrorsNodeThrowsAreThrownWithTheirCode) {
  // ENOTDIR is not among Node's asynchronous spawn errors: it is thrown.
  try {
    spawn("/etc/passwd/x");
    ADD_FAILURE() << "expected SystemError";
  } catch (const SystemError& e) {
    EXPECT_EQ(e.error().code, "ENOTDIR");
  }
}

TEST(PosixSpawn, SetuidAsNonRootFailsWithEperm) {
  if (geteuid() == 0) {
    // As root, switching to nobody must work and the child runs as that user.
    Observed o = run_child("/usr/bin/id", {"-u"}, {.uid = 65534, .gid = 65534});
    EXPECT_EQ(o.out, "65534\n");
    return;
  }
  EXPECT_THROW(spawn(kHelper, {"exit", "0"}, {.uid = 0}), SystemError);
}

namespace {

// What the child really has on its descriptors, seen from inside (it lists /proc/self/fd).
std::string child_fds(const StdioOption& stdio) {
  auto r = spawn_sync(kHelper, {"list-fds"}, {.stdio = stdio});
  EXPECT_FALSE(r.error);
  return r.std_out;
}

TEST(PosixStdioChild, SeesOnlyZeroToTwoByDefault) {
  EXPECT_EQ(child_fds("pipe"), "0 1 2");
}

TEST(PosixStdioChild, SeesNothingElseEvenWhenWeHoldInheritableDescriptors) {
  // A descriptor of the host application without close-on-exec must not leak into the child.
  int leaky = open("/dev/null", O_RDONLY);  // deliberately no O_CLOEXEC
  ASSERT_GE(leaky, 3);
  std::string seen = child_fds("pipe");
  close(leaky);
  EXPECT_EQ(seen, "0 1 2");
}

TEST(PosixStdioChild, IgnoredStdioIsDevNullNeverClosed) {
  auto r = spawn_sync("/bin/sh", {"-c", "readlink /proc/self/fd/0 >&2; echo out"},
                      {.stdio = {"ignore", "ignore", "pipe"}});
  EXPECT_EQ(r.std_err, "/dev/null\n");
  EXPECT_EQ(r.output[1], std::nullopt);
  // An ignored fd >= 3 is simply not there.
  EXPECT_EQ(child_fds({"pipe", "pipe", "pipe", "ignore"}), "0 1 2");
}

TEST(PosixStdioChild, AnExtraPipeIsTheChildsFd3AndNothingMore) {
  EXPECT_EQ(child_fds({"pipe", "pipe", "pipe", "pipe"}), "0 1 2 3");
}

TEST(PosixStdioChild, InheritPassesOurDescriptorsThrough) {
  // Our stdout becomes a pipe we read, then a child with "inherit" writes into it.
  int saved = dup(1);
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  dup2(p[1], 1);
  close(p[1]);
  auto r = spawn_sync(kHelper, {"print", "1", "inherited"}, {.stdio = "inherit"});
  dup2(saved, 1);
  close(saved);
  char buf[64] = {};
  ssize_t n = read(p[0], buf, sizeof buf);
  close(p[0]);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "inherited");
}

TEST(PosixStdioChild, FdEntryPassesAGivenDescriptor) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  auto r = spawn_sync(kHelper, {"print", "1", "to fd"}, {.stdio = {"pipe", p[1], "pipe"}});
  close(p[1]);
  char buf[64] = {};
  ssize_t n = read(p[0], buf, sizeof buf);
  close(p[0]);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to fd");
}

TEST(PosixStdioChild, StdoutAndStderrSwapped) {
  // Our fd 1 and fd 2 are two pipes; the child gets them crossed: its 1 is our 2, its 2 our 1.
  int out_pipe[2], err_pipe[2];
  ASSERT_EQ(pipe2(out_pipe, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
  int saved1 = dup(1), saved2 = dup(2);
  dup2(out_pipe[1], 1);
  dup2(err_pipe[1], 2);
  auto r = spawn_sync("/bin/sh", {"-c", "echo to-stdout; echo to-stderr >&2"},
                      {.stdio = {"pipe", 2, 1}});
  dup2(saved1, 1);
  dup2(saved2, 2);
  close(saved1);
  close(saved2);
  close(out_pipe[1]);
  close(err_pipe[1]);
  char a[64] = {}, b[64] = {};
  ssize_t na = read(out_pipe[0], a, sizeof a);
  ssize_t nb = read(err_pipe[0], b, sizeof b);
  close(out_pipe[0]);
  close(err_pipe[0]);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(std::string(a, na > 0 ? na : 0), "to-stderr\n");  // our 1 got the child's 2
  EXPECT_EQ(std::string(b, nb > 0 ? nb : 0), "to-stdout\n");
}

TEST(PosixStdioChild, IpcSlotGetsTheChannelVariables) {
  Loop loop;
  auto child = spawn("/bin/sh", {"-c", "echo $NODE_CHANNEL_FD $NODE_CHANNEL_SERIALIZATION_MODE"},
                     {.stdio = {"pipe", "pipe", "pipe", "ipc"}}, loop);
  std::string out;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  EXPECT_EQ(child->stdio(3), nullptr);  // the channel is not a plain stream
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(out, "3 json\n");
}

}  // namespace

TEST(LinuxBackend, LoopBackendFdBecomesReadableWhenWorkArrives) {
  CP_ONLY_ON_LINUX_BACKEND();
  Loop loop;
  loop.post([] {});
  pollfd p{loop.backend_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_TRUE(loop.run_once(0ms) || true);
  EXPECT_FALSE(loop.alive());
}

TEST(PortableBackend, LoopHasNoBackendFd) {
  CP_ONLY_ON_PORTABLE_BACKEND();
  Loop loop;
  EXPECT_EQ(loop.backend_fd(), -1);
}

TEST(PosixSignals, NamesAreTakenInAnyCaseAndWithNodesAliases) {
  SpawnSyncResult lower =
      spawn_sync(kHelper, {"sleep", "10000"}, {.timeout = 50ms, .kill_signal = "sigkill"});
  EXPECT_EQ(lower.signal, SIGKILL);
  SpawnSyncResult mixed =
      spawn_sync(kHelper, {"sleep", "10000"}, {.timeout = 50ms, .kill_signal = "SigUsr1"});
  EXPECT_EQ(mixed.signal, SIGUSR1);
  SpawnSyncResult iot =
      spawn_sync(kHelper, {"sleep", "10000"}, {.timeout = 50ms, .kill_signal = "SIGIOT"});
  ASSERT_TRUE(iot.signal);
  EXPECT_EQ(signal_name(*iot.signal), "SIGABRT");  // as Node reports a death by 6
  EXPECT_EQ(KillSignal("SIGPOLL").resolve(), SIGIO);
  EXPECT_EQ(KillSignal("sigpoll").resolve(), SIGIO);
  EXPECT_THROW(KillSignal("TERM").resolve(), InvalidArgumentError);  // no prefix-less names
  EXPECT_THROW(KillSignal(-1).resolve(), InvalidArgumentError);
}

// signal_number() knows exactly the names os.constants.signals has, with their numbers, and
// signal_name() gives a number the name Node reports for a death by it (the first of its names).
TEST(PosixSignals, NamesAndNumbersAgreeWithNodesOsConstants) {
  json::Value node = json::parse(
      exec_file_sync("node", {"-p", "JSON.stringify(require('os').constants.signals)"}));
  std::map<int, std::string> first_name;
  for (const auto& [name, number] : node.as_object()) {
    int n = static_cast<int>(number.as_number());
    EXPECT_EQ(signal_number(name), n) << name;
    first_name.emplace(n, name);
  }
  for (int n = -1; n < 100; ++n) {
    auto it = first_name.find(n);
    EXPECT_EQ(signal_name(n), it == first_name.end() ? "" : it->second) << n;
  }
}

TEST(PosixExec, Pipeline) {
  Outcome o = run_exec("echo a | tr a b");
  EXPECT_FALSE(o.error);
  EXPECT_EQ(o.out, "b\n");
  EXPECT_EQ(o.err, "");
}

TEST(PosixExec, ShellSyntaxError) {
  Outcome o = run_exec("if then fi (");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->exit_code, 2);  // dash reports syntax errors with status 2
  EXPECT_NE(o.err.find("Syntax error"), std::string::npos) << o.err;
}

TEST(PosixExec, MissingCommandThroughTheShellIs127) {
  Outcome o = run_exec("no-such-cmd-xyz");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->exit_code, 127);
  EXPECT_FALSE(o.error->system_error);
}

TEST(PosixExec, TimeoutWithCustomKillSignal) {
  Outcome o = run_exec_file(kHelper, {"ignore-term", "10000"},
                            {.timeout = 200ms, .kill_signal = "SIGKILL"});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->signal, SIGKILL);
  EXPECT_EQ(o.out, "ready\n");  // what it printed before the kill is kept
}

TEST(PosixExec, AGrandchildHoldingStdoutDoesNotHoldTheCallback) {
  auto start = std::chrono::steady_clock::now();
  Outcome o = run_exec_file(kHelper, {"grandchild-holds-stdout", "5000"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_FALSE(o.error);
  EXPECT_EQ(o.out, "child-done\n");
}

TEST(PosixExecSync, StderrIsCopiedToOursByDefault) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  int saved = dup(2);
  dup2(p[1], 2);
  close(p[1]);
  std::string out = exec_sync("echo to-out; echo to-err >&2");
  dup2(saved, 2);
  close(saved);
  char buf[64] = {};
  ssize_t n = read(p[0], buf, sizeof buf);
  close(p[0]);
  EXPECT_EQ(out, "to-out\n");
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to-err\n");
}

// Changing credentials clears PR_SET_PDEATHSIG: it must be set after setuid/setgid.
TEST(LinuxBackend, KillOnParentDeathSurvivesAChangeOfUser) {
  CP_ONLY_ON_LINUX_BACKEND();
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start a child as another user (CI is root)";
  int grandchild = cptest::orphan_of_a_killed_spawner({"nobody"});
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(cptest::exits_within(grandchild, 10s)) << "the orphan " << grandchild << " lives on";
}

// PR_SET_PDEATHSIG has no portable equivalent: the spawn is refused, clearly, at the call.
TEST(PortableBackend, KillOnParentDeathIsRefusedWithEnotsup) {
  CP_ONLY_ON_PORTABLE_BACKEND();
  cptest::warm_up();
  auto before = cptest::open_fds();
  auto r = spawn_sync(kHelper, {"exit", "0"}, {.kill_on_parent_death = true});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOTSUP");
  EXPECT_EQ(r.error->step, "kill_on_parent_death");
  EXPECT_EQ(cptest::open_fds(), before);
  EXPECT_EQ(cptest::zombie_children(), 0);
}
