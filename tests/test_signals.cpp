// Kill signals as Node takes them, on every platform: no signal 0 where a signal must kill
// (kill(0) stays a liveness probe), timed_out, cancellation listeners. POSIX's names and aliases
// (against node's os.constants.signals) are checked in test_posix.cpp.
#include <csignal>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;

namespace {

void expect_unknown_signal_0(const std::function<void()>& call, const char* what) {
  try {
    call();
    ADD_FAILURE() << what << " accepted kill_signal 0";
  } catch (const InvalidArgumentError& e) {
    EXPECT_EQ(e.code(), "ERR_UNKNOWN_SIGNAL") << what;
    EXPECT_STREQ(e.what(), "Unknown signal: 0") << what;
  }
}

}  // namespace

TEST(Signals, KillSignalZeroIsRefusedWhereverAKillSignalIsTaken) {
  Loop loop;
  cptest::warm_up();
  auto before = cptest::open_handles();
  expect_unknown_signal_0(
      [] {
        spawn_sync(kHelper, {"sleep", "2000"}, {.timeout = 100ms, .kill_signal = 0});
      },
      "spawn_sync");
  expect_unknown_signal_0(
      [&] {
        spawn(kHelper, {"sleep", "2000"}, {.timeout = 100ms, .kill_signal = 0}, loop);
      },
      "spawn");
  expect_unknown_signal_0(
      [&] {
        exec_file(kHelper, {"sleep", "2000"}, {.kill_signal = 0}, {}, loop);
      },
      "exec_file");
  expect_unknown_signal_0([&] { exec("sleep 2", {.kill_signal = 0}, {}, loop); }, "exec");
  expect_unknown_signal_0(
      [] {
        exec_file_sync(kHelper, {"sleep", "2000"}, {.kill_signal = 0});
      },
      "exec_file_sync");
  expect_unknown_signal_0([] { exec_sync("sleep 2", {.kill_signal = 0}); }, "exec_sync");
  expect_unknown_signal_0([&] { fork("x", {}, {.exec_path = kHelper, .kill_signal = 0}, loop); },
                          "fork");
  EXPECT_FALSE(loop.alive());  // nothing was started
  EXPECT_EQ(cptest::open_handles(), before);
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Signals, KillZeroStillProbesWhetherTheChildIsAlive) {
  Loop loop;
  auto child = spawn(kHelper, {"sleep", "10000"}, {.stdio = "ignore"}, loop);
  EXPECT_TRUE(child->kill(0));
  EXPECT_TRUE(child->killed());  // as in Node: any signal delivered, even the probe, sets it
  EXPECT_TRUE(child->kill(KillSignal("sigkill")));
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(child->signal_code(), signal_number("SIGKILL"));
  EXPECT_FALSE(child->kill(0));
}

TEST(Signals, TimedOutIsSetByTheTimeoutAndNothingElse) {
  Loop loop;
  auto timed = spawn(kHelper, {"sleep", "10000"}, {.stdio = "ignore", .timeout = 50ms}, loop);
  auto killed = spawn(kHelper, {"sleep", "10000"}, {.stdio = "ignore"}, loop);
  killed->kill();
  auto quick = spawn(kHelper, {"exit", "0"}, {.stdio = "ignore", .timeout = 10s}, loop);
  cptest::run_with_watchdog(loop);
  EXPECT_TRUE(timed->timed_out());
  EXPECT_TRUE(timed->killed());
  EXPECT_FALSE(killed->timed_out());
  EXPECT_TRUE(killed->killed());
  EXPECT_FALSE(quick->timed_out());

  SpawnSyncResult r = spawn_sync(kHelper, {"sleep", "10000"}, {.timeout = 50ms});
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.error->code, "ETIMEDOUT");
  EXPECT_FALSE(spawn_sync(kHelper, {"exit", "3"}, {.timeout = 10s}).timed_out);

  std::optional<ExecError> exec_error;
  exec_file(
      kHelper, {"sleep", "10000"}, {.timeout = 50ms},
      [&](const std::optional<ExecError>& e, std::string, std::string) { exec_error = e; }, loop);
  cptest::run_with_watchdog(loop);
  ASSERT_TRUE(exec_error);
  EXPECT_TRUE(exec_error->timed_out);
  EXPECT_TRUE(exec_error->killed);
  try {
    exec_file_sync(kHelper, {"sleep", "10000"}, {.timeout = 50ms});
    ADD_FAILURE() << "no throw";
  } catch (const ExecSyncError& e) {
    EXPECT_TRUE(e.timed_out());
  }
}

// One AbortController reused for many children: each child lets go of its listener when it ends.
TEST(Signals, CancellationListenersAreReleasedWhenChildrenFinish) {
  AbortController controller;
  Loop loop;
  for (int i = 0; i < 20; ++i)
    spawn(kHelper, {"exit", "0"}, {.stdio = "ignore", .cancellation = controller.signal()}, loop);
  for (int i = 0; i < 5; ++i)
    spawn("no-such-program-xyz", {}, {.cancellation = controller.signal()}, loop);
  for (int i = 0; i < 5; ++i)
    exec_file(
        kHelper, {"exit", "1"}, {.cancellation = controller.signal()},
        [](const std::optional<ExecError>&, std::string, std::string) {}, loop);
  EXPECT_EQ(controller.signal().listener_count(), 25u);  // the running children's
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(controller.signal().listener_count(), 0u);
}
