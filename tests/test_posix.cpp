// What only POSIX systems have, on both POSIX backends: death by a signal, signals a child can
// ignore, fork()ed grandchildren, /bin/sh.
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

namespace {

Observed run_child(const std::string& file, const std::vector<std::string>& args,
                   const SpawnOptions& options = {}) {
  Loop loop;
  Observed o;
  auto child = spawn(file, args, options, loop);
  cptest::observe(child, o);
  cptest::run_with_watchdog(loop);
  return o;
}

}  // namespace

TEST(PosixSpawnSync, DeathBySignalIsASignalNotAStatus) {
  auto r = spawn_sync(kHelper, {"signal", std::to_string(SIGSEGV)});
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_EQ(r.signal, SIGSEGV);
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
