// Kill signals as Node takes them: names in any case, the aliases os.constants.signals has, and
// no signal 0 where a signal must kill (kill(0) stays a liveness probe).
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
  auto before = cptest::open_fds();
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
  EXPECT_EQ(cptest::open_fds(), before);
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Signals, KillZeroStillProbesWhetherTheChildIsAlive) {
  Loop loop;
  auto child = spawn(kHelper, {"sleep", "10000"}, {.stdio = "ignore"}, loop);
  EXPECT_TRUE(child->kill(0));
  EXPECT_TRUE(child->killed());  // as in Node: any signal delivered, even the probe, sets it
  EXPECT_TRUE(child->kill(KillSignal("sigkill")));
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(child->signal_code(), SIGKILL);
  EXPECT_FALSE(child->kill(0));
}

TEST(Signals, NamesAreTakenInAnyCaseAndWithNodesAliases) {
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
TEST(Signals, NamesAndNumbersAgreeWithNodesOsConstants) {
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
