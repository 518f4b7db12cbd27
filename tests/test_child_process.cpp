// spawn() and ChildProcess against real processes: events, their order, errors, options. On
// every platform; the POSIX-only cases (signals, sessions, /bin/sh, setuid) are in test_posix.cpp.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test_util.hpp"

using namespace childproc;
using cptest::kHelper;
using cptest::Observed;
using cptest::run_child;

namespace {

TEST(Spawn, ExitCodeIsReportedInExitAndClose) {
  Observed o = run_child(kHelper, {"exit", "23"});
  EXPECT_EQ(o.events, (std::vector<std::string>{"spawn", "exit", "close"}));
  EXPECT_EQ(o.exit_code, 23);
  EXPECT_EQ(o.exit_signal, std::nullopt);
  EXPECT_EQ(o.close_code, 23);
}

TEST(Spawn, EnoentIsAnErrorEventThenCloseWithNegativeCode) {
  Loop loop;
  Observed o;
  auto child = spawn("no-such-cmd-xyz", {"q"}, {}, loop);
  cptest::observe(child, o);
  EXPECT_FALSE(child->pid().has_value());
  EXPECT_NE(child->std_out(), nullptr);  // streams exist, as in Node
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.events, (std::vector<std::string>{"error:ENOENT", "close"}));
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->errnum, cptest::kEnoentErrnum);
  EXPECT_EQ(o.error->syscall, "spawn no-such-cmd-xyz");
  EXPECT_EQ(o.error->path, "no-such-cmd-xyz");
  EXPECT_EQ(o.error->spawnargs, std::vector<std::string>{"q"});
  EXPECT_EQ(o.error->message, "spawn no-such-cmd-xyz ENOENT");
  EXPECT_EQ(o.error->step, cptest::kExecStep);
  EXPECT_EQ(o.close_code, cptest::kEnoentErrnum);
  EXPECT_EQ(child->exit_code(), cptest::kEnoentErrnum);
}

TEST(Spawn, MissingCwdIsEnoentNamingTheFileAndTheChdirStep) {
  Observed o = run_child(kHelper, {"exit", "0"}, {.cwd = "/no/such/dir"});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "ENOENT");
  EXPECT_EQ(o.error->path, kHelper);
  EXPECT_EQ(o.error->step, cptest::kChdirStep);
}

TEST(Spawn, CwdIsApplied) {
  std::string dir = cptest::temp_directory();
  Observed o = run_child(kHelper, {"cwd"}, {.cwd = dir});
  EXPECT_EQ(o.out, dir);
}

TEST(Spawn, EnvIsInheritedByDefault) {
  cptest::set_env("CP_TEST_INHERITED", "from-parent");
  Observed o = run_child(kHelper, {"env", "CP_TEST_INHERITED"});
  EXPECT_EQ(o.out, "from-parent");
}

TEST(Spawn, EnvReplacesTheEnvironment) {
  cptest::set_env("CP_TEST_INHERITED", "from-parent");
  Observed a = run_child(kHelper, {"env", "CP_TEST_INHERITED"}, {.env = Env{{"ONLY", "this"}}});
  EXPECT_EQ(a.out, "<unset>");
  Observed b = run_child(kHelper, {"env", "ONLY"}, {.env = Env{{"ONLY", "this"}}});
  EXPECT_EQ(b.out, "this");
}

TEST(Spawn, PathSearchUsesTheChildEnvironmentsPath) {
  std::filesystem::path helper(kHelper);
  std::string dir = helper.parent_path().string();
  std::string name = helper.filename().string();
  Observed o = run_child(name, {"exit", "4"},
                         {.env = Env{{"PATH", "/nonexistent" + cptest::kPathListSeparator + dir}}});
  EXPECT_EQ(o.exit_code, 4);
}

TEST(Spawn, Argv0ReplacesArgvZero) {
  Loop loop;
  Observed o;
  auto child = spawn(kHelper, {"argv", "x y"}, {.argv0 = "custom-name"}, loop);
  cptest::observe(child, o);
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.out, "custom-name\nargv\nx y\n");
  EXPECT_EQ(child->spawnargs(), (std::vector<std::string>{"custom-name", "argv", "x y"}));
  EXPECT_EQ(child->spawnfile(), kHelper);
}

TEST(Spawn, TimeoutKillsWithKillSignal) {
  Observed a = run_child(kHelper, {"sleep", "10000"}, {.timeout = std::chrono::milliseconds(100)});
  EXPECT_EQ(a.exit_signal, SIGTERM);
  Observed b = run_child(kHelper, {"sleep", "10000"},
                         {.timeout = std::chrono::milliseconds(100), .kill_signal = "SIGKILL"});
  EXPECT_EQ(b.exit_signal, signal_number("SIGKILL"));
}

TEST(Spawn, CancellationKillsAndEmitsAbortError) {
  Loop loop;
  Observed o;
  AbortController controller;
  auto child = spawn(kHelper, {"sleep", "10000"}, {.cancellation = controller.signal()}, loop);
  cptest::observe(child, o);
  child->on_spawn([&] { controller.abort(); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.events, (std::vector<std::string>{"spawn", "error:ABORT_ERR", "exit", "close"}));
  EXPECT_EQ(o.error->name, "AbortError");
  EXPECT_EQ(o.exit_signal, SIGTERM);
  EXPECT_TRUE(child->killed());
}

TEST(Spawn, AlreadyAbortedSignalKillsOnTheNextTick) {
  AbortController controller;
  controller.abort();
  Observed o = run_child(kHelper, {"sleep", "10000"}, {.cancellation = controller.signal()});
  EXPECT_EQ(o.exit_signal, SIGTERM);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "ABORT_ERR");
}

TEST(Spawn, ExitComesBeforeCloseEvenWhenOutputIsPending) {
  // The child writes 256 KiB and exits: its exit is usually seen before the pipe drains.
  Observed o = run_child(kHelper, {"write", "262144"});
  EXPECT_EQ(o.events, (std::vector<std::string>{"spawn", "exit", "close"}));
  EXPECT_EQ(o.out.size(), 262144u);
}

TEST(Spawn, KillSendsSigtermAndSetsKilled) {
  Loop loop;
  Observed o;
  auto child = spawn(kHelper, {"sleep", "10000"}, {}, loop);
  cptest::observe(child, o);
  child->on_spawn([&] {
    EXPECT_TRUE(child->kill(0));  // only a check, as Node (which still sets killed)
    EXPECT_TRUE(child->kill());
  });
  cptest::run_with_watchdog(loop);
  EXPECT_TRUE(child->killed());
  EXPECT_EQ(o.exit_signal, SIGTERM);
  EXPECT_FALSE(child->kill());  // after exit: false, as Node
  EXPECT_THROW(child->kill(KillSignal("SIGNOPE")), InvalidArgumentError);
}

TEST(Spawn, SeveralListenersPerEventAllRunInOrder) {
  Loop loop;
  std::vector<int> calls;
  auto child = spawn(kHelper, {"exit", "0"}, {}, loop);
  child->on_exit([&](auto, auto) { calls.push_back(1); });
  auto id = child->on_exit([&](auto, auto) { calls.push_back(2); });
  child->on_exit([&](auto, auto) { calls.push_back(3); });
  child->remove_listener(id);
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(calls, (std::vector<int>{1, 3}));
}

TEST(Spawn, UnrefLetsTheLoopEndWhileTheChildRuns) {
  Loop loop;
  auto child = spawn(kHelper, {"sleep", "2000"}, {.stdio = "ignore"}, loop);
  child->unref();
  auto start = std::chrono::steady_clock::now();
  loop.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  child->ref();
  child->kill("SIGKILL");
  loop.run();
  EXPECT_EQ(child->signal_code(), signal_number("SIGKILL"));
}

TEST(Spawn, BackpressureOnASlowReader) {
  Loop loop;
  auto child = spawn(kHelper, {"slow-reader", "2"}, {}, loop);
  Stream* in = child->std_in();
  std::string chunk(64 * 1024, 'x');
  std::size_t sent = 0;
  int drains = 0;
  bool saw_false = false;
  // Write until write() says stop; resume on 'drain'; 4 MiB in all.
  std::function<void()> pump = [&] {
    while (sent < 4u * 1024 * 1024) {
      sent += chunk.size();
      if (!in->write(chunk)) {
        saw_false = true;
        EXPECT_GE(in->writable_length(), in->writable_high_water_mark());
        return;
      }
    }
    in->end();
  };
  in->on_drain([&] {
    ++drains;
    pump();
  });
  std::string out;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  pump();
  cptest::run_with_watchdog(loop, std::chrono::seconds(60));
  EXPECT_TRUE(saw_false);
  EXPECT_GT(drains, 0);
  EXPECT_EQ(out, std::to_string(4u * 1024 * 1024));
}

TEST(Spawn, StdinPipeCarriesDataAndEndGivesEof) {
  Loop loop;
  auto child = spawn(kHelper, {"cat"}, {}, loop);
  std::string out;
  bool finished = false;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  child->std_in()->on_finish([&] { finished = true; });
  child->std_in()->write("hello ");
  child->std_in()->end("world");
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(out, "hello world");
  EXPECT_TRUE(finished);
}

TEST(Spawn, PauseStopsReadingAndResumeContinues) {
  Loop loop;
  auto child = spawn(kHelper, {"write", "1048576"}, {}, loop);
  Stream* out = child->std_out();
  std::size_t got = 0;
  bool resumed = false;
  out->on_data([&](std::string_view d) {
    got += d.size();
    if (!resumed && got > 65536) {
      out->pause();
      loop.set_timeout(std::chrono::milliseconds(50), [&] {
        resumed = true;
        out->resume();
      });
    }
  });
  cptest::run_with_watchdog(loop);
  EXPECT_TRUE(resumed);
  EXPECT_EQ(got, 1048576u);
}

TEST(Spawn, BadArgumentsThrowBeforeAnyProcessExists) {
  default_loop();  // the calls below use it; its own descriptors are not what we count
  cptest::warm_up();
  auto before = cptest::open_handles();
  auto expect_code = [](auto&& fn, const std::string& code) {
    try {
      fn();
      ADD_FAILURE() << "no exception, expected " << code;
    } catch (const InvalidArgumentError& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  expect_code([] { spawn(""); }, "ERR_INVALID_ARG_VALUE");
  expect_code([] { spawn(std::string("a\0b", 3)); }, "ERR_INVALID_ARG_VALUE");
  expect_code([] { spawn(kHelper, std::vector<std::string>{std::string("x\0y", 3)}); },
              "ERR_INVALID_ARG_VALUE");
  expect_code(
      [] {
        spawn(kHelper, {}, {.env = Env{{"K", std::string("v\0", 2)}}});
      },
      "ERR_INVALID_ARG_VALUE");
  expect_code([] { spawn(kHelper, {}, {.stdio = "sideways"}); }, "ERR_INVALID_ARG_VALUE");
  expect_code([] { spawn(kHelper, {}, {.stdio = {"pipe", "nope"}}); }, "ERR_INVALID_ARG_VALUE");
  expect_code(
      [] {
        spawn(kHelper, {}, {.stdio = {"pipe", "pipe", "pipe", "ipc", "ipc"}});
      },
      "ERR_IPC_ONE_PIPE");
  expect_code([] { spawn(kHelper, {}, {.kill_signal = "SIGNOPE"}); }, "ERR_UNKNOWN_SIGNAL");
  expect_code([] { spawn(kHelper, {}, {.timeout = std::chrono::milliseconds(-1)}); },
              "ERR_OUT_OF_RANGE");
  EXPECT_EQ(cptest::open_handles(), before);
  EXPECT_FALSE(default_loop().alive());
}

}  // namespace

// Writes queued when the child closes its stdin all fail with EPIPE, as in Node (never
// ERR_STREAM_DESTROYED), before the stream's own 'error' (EPIPE, syscall "write").
TEST(Spawn, QueuedWritesToAClosedStdinAllGetEpipeThenError) {
  Loop loop;
  // The child lives on after closing its stdin until we have seen the error (its exit would
  // destroy stdin, and writes still queued then are ERR_STREAM_DESTROYED, as in Node).
  auto child = spawn(kHelper, {"close-stdin", "60000"}, {}, loop);
  std::vector<std::string> seen;
  // Larger than any socket buffer (wmem_max is 4 MiB by default): every write stays queued.
  const std::string chunk(8 << 20, 'x');
  for (int i = 0; i < 5; ++i)
    child->std_in()->write(chunk, [&, i](const std::optional<Error>& e) {
      seen.push_back("write " + std::to_string(i) + ": " + (e ? e->code : "ok"));
    });
  child->std_in()->on_error([&](const Error& e) {
    seen.push_back("error: " + e.code + " " + e.syscall);
    child->kill("SIGKILL");
  });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"write 0: EPIPE", "write 1: EPIPE", "write 2: EPIPE",
                                      "write 3: EPIPE", "write 4: EPIPE", "error: EPIPE write"}));
}

TEST(Spawn, ANulInAnEnvKeyIsNamedEscapedInTheMessage) {
  try {
    spawn_sync(kHelper, {"exit", "0"}, {.env = Env{{std::string("A\0B", 3), "1"}}});
    ADD_FAILURE() << "accepted";
  } catch (const InvalidArgumentError& e) {
    EXPECT_EQ(e.code(), "ERR_INVALID_ARG_VALUE");
    EXPECT_STREQ(e.what(),
                 "The argument 'options.env['A\\x00B']' must be a string without null bytes. "
                 "Received 'A\\x00B'");
  }
}
