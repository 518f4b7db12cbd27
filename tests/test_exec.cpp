// exec, exec_file, exec_sync, exec_file_sync and exec_async against real processes, on every
// platform: commands given to a shell run the helper, so the same line means the same thing to
// /bin/sh and to cmd.exe. Shell syntax and POSIX-only cases are in test_posix.cpp.
#include <csignal>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;
using cptest::Outcome;
using cptest::record;
using cptest::run_exec;
using cptest::run_exec_file;

namespace {

// A command line that runs the helper through the shell.
std::string helper_command(const std::string& args) {
  return kHelper + " " + args;
}

TEST(Exec, ExitCodeInTheErrorWithOutputAndMessage) {
  const std::string command = helper_command("report hi oops 3");
  Outcome o = run_exec(command);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->exit_code, 3);
  EXPECT_EQ(o.error->code, "");
  EXPECT_FALSE(o.error->killed);
  EXPECT_EQ(o.error->signal, std::nullopt);
  EXPECT_EQ(o.error->cmd, command);
  EXPECT_EQ(o.error->message, "Command failed: " + command + "\noops\n");
  EXPECT_EQ(o.out, "hi\n");
  EXPECT_EQ(o.err, "oops\n");
  EXPECT_EQ(o.error->std_out, "hi\n");
}

TEST(ExecFile, EnoentIsTheSystemError) {
  Loop loop;
  Outcome o;
  auto child = exec_file("no-such-cmd-xyz", {"q"}, {}, record(o), loop);
  cptest::run_with_watchdog(loop);
  EXPECT_FALSE(child->pid());
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "ENOENT");
  EXPECT_EQ(o.error->exit_code, std::nullopt);
  EXPECT_EQ(o.error->cmd, "no-such-cmd-xyz q");
  EXPECT_EQ(o.error->message, "spawn no-such-cmd-xyz ENOENT");
  ASSERT_TRUE(o.error->system_error);
  EXPECT_EQ(o.error->system_error->errnum, cptest::kEnoentErrnum);
  EXPECT_EQ(o.error->system_error->syscall, "spawn no-such-cmd-xyz");
  EXPECT_EQ(o.error->system_error->spawnargs, std::vector<std::string>{"q"});
  EXPECT_EQ(o.out, "");
}

TEST(ExecFile, MaxBufferOnStdoutKillsAndKeepsExactlyMaxBuffer) {
  Outcome o = run_exec_file(kHelper, {"write", "5000000"});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "ERR_CHILD_PROCESS_STDIO_MAXBUFFER");
  EXPECT_EQ(o.error->name, "RangeError");
  EXPECT_EQ(o.error->message, "stdout maxBuffer length exceeded");
  EXPECT_TRUE(o.error->killed);
  EXPECT_EQ(o.error->signal, SIGTERM);
  EXPECT_EQ(o.out.size(), 1024u * 1024u);
}

TEST(ExecFile, MaxBufferOnStderr) {
  // Far more than any pipe holds, so the child is still writing when it is killed.
  Outcome o = run_exec_file(kHelper, {"write", "5000000", "2"}, {.max_buffer = 1000});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->message, "stderr maxBuffer length exceeded");
  EXPECT_EQ(o.err.size(), 1000u);
  EXPECT_TRUE(o.error->killed);
}

TEST(ExecFile, MaxBufferBoundaryIsStrictlyGreater) {
  EXPECT_FALSE(run_exec_file(kHelper, {"print", "1", "12345"}, {.max_buffer = 5}).error);
  EXPECT_TRUE(run_exec_file(kHelper, {"print", "1", "123456"}, {.max_buffer = 5}).error);
  // 0: any output at all is too much, as in Node; kUnlimited: no check.
  EXPECT_TRUE(run_exec_file(kHelper, {"print", "1", "x"}, {.max_buffer = 0}).error);
  EXPECT_FALSE(run_exec_file(kHelper, {"write", "3000000"}, {.max_buffer = kUnlimited}).error);
}

// Node counts max_buffer in bytes, but with a text encoding it cuts the overflowing chunk with
// String.prototype.slice, in UTF-16 units: "中文测试\n" (13 bytes, 5 units) with max_buffer 10 is
// an overflow that keeps all 5 characters.
TEST(ExecFile, MaxBufferWithTextCountsBytesAndCutsCharacters) {
  const std::string text = "\xE4\xB8\xAD\xE6\x96\x87\xE6\xB5\x8B\xE8\xAF\x95\n";  // 中文测试\n
  Outcome ten = run_exec_file(kHelper, {"print", "1", text}, {.max_buffer = 10});
  ASSERT_TRUE(ten.error);
  EXPECT_EQ(ten.error->code, "ERR_CHILD_PROCESS_STDIO_MAXBUFFER");
  EXPECT_EQ(ten.out, text);
  Outcome three = run_exec_file(kHelper, {"print", "1", text}, {.max_buffer = 3});
  EXPECT_EQ(three.out, text.substr(0, 9));  // 中文测
  Outcome bytes = run_exec_file(kHelper, {"print", "1", text},
                                {.encoding = Encoding::kBuffer, .max_buffer = 10});
  EXPECT_EQ(bytes.out, text.substr(0, 10));
  // A character outside the BMP is two units, and is kept whole or not at all.
  const std::string faces = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80";  // two U+1F600
  Outcome astral = run_exec_file(kHelper, {"print", "1", faces}, {.max_buffer = 3});
  EXPECT_EQ(astral.out, faces.substr(0, 4));
  Outcome fits = run_exec_file(kHelper, {"print", "1", text}, {.max_buffer = 13});
  EXPECT_FALSE(fits.error);
  EXPECT_EQ(fits.out, text);
}

// A character cut between two writes is held back, never turned into U+FFFD; one the output ends
// inside is one U+FFFD, as Node's decoder flushes it.
TEST(ExecFile, TextDecodingHoldsACharacterCutBetweenChunks) {
  const std::string text =
      "ab\xF0\x9F\x98\x80"
      "cd";
  for (std::size_t at = 2; at <= 6; ++at) {
    Outcome o = run_exec_file(kHelper, {"print-split", text, std::to_string(at)});
    EXPECT_FALSE(o.error);
    EXPECT_EQ(o.out, text) << "cut at " << at;
  }
  Outcome cut = run_exec_file(kHelper, {"print-hex", "1", "6162f09f98"});  // ab + a cut U+1F600
  EXPECT_EQ(cut.out, "ab\xEF\xBF\xBD");
}

TEST(Exec, TimeoutSetsKilledAndSignal) {
  Outcome o = run_exec_file(kHelper, {"sleep", "10000"}, {.timeout = 100ms});
  ASSERT_TRUE(o.error);
  EXPECT_TRUE(o.error->killed);
  EXPECT_EQ(o.error->signal, SIGTERM);
  EXPECT_EQ(o.error->exit_code, std::nullopt);
  EXPECT_EQ(o.error->cmd, kHelper + " sleep 10000");
  EXPECT_EQ(o.error->message, "Command failed: " + kHelper + " sleep 10000\n");
}

TEST(Exec, EncodingBufferKeepsInvalidUtf8AndTextReplacesIt) {
  // \xff is never valid UTF-8; \xe2\x82 is a truncated three-byte sequence.
  const std::string bytes =
      "a\xff"
      "b\xe2\x82"
      "c";
  const std::string hex = "61ff62e28263";  // the same, written by the child
  Outcome raw = run_exec_file(kHelper, {"print-hex", "1", hex}, {.encoding = Encoding::kBuffer});
  EXPECT_EQ(raw.out, bytes);
  Outcome text = run_exec_file(kHelper, {"print-hex", "1", hex});
  EXPECT_EQ(text.out,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c");
  Outcome valid = run_exec_file(kHelper, {"print", "1", "h\xC3\xA9llo \xF0\x9F\x98\x80"});
  EXPECT_EQ(valid.out, "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

TEST(ExecFile, ArgumentsReachTheChildUnchangedWithoutAShell) {
  std::vector<std::string> args = {"argv",  "two words",   "\"quoted\"", "'single'",
                                   "$HOME", "back\\slash", "",           "semi;colon | pipe"};
  Outcome o = run_exec_file(kHelper, args);
  std::string expected = kHelper + "\n";
  for (std::size_t i = 0; i < args.size(); ++i)
    expected += args[i] + "\n";
  EXPECT_EQ(o.out, expected);
}

TEST(Exec, ManyConcurrentExecsOnOneLoopAllComplete) {
  Loop loop;
  constexpr int kCount = 50;
  std::vector<Outcome> outcomes(kCount);
  for (int i = 0; i < kCount; ++i)
    exec_file(kHelper, {"print", "1", "job-" + std::to_string(i)}, {}, record(outcomes[i]), loop);
  cptest::run_with_watchdog(loop, 60s);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(outcomes[i].calls, 1);
    EXPECT_FALSE(outcomes[i].error);
    EXPECT_EQ(outcomes[i].out, "job-" + std::to_string(i));
  }
}

TEST(Exec, CancellationGivesAbortError) {
  Loop loop;
  Outcome o;
  AbortController controller;
  exec_file(kHelper, {"sleep", "10000"}, {.cancellation = controller.signal()}, record(o), loop);
  loop.set_timeout(50ms, [&] { controller.abort(); });
  cptest::run_with_watchdog(loop);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "ABORT_ERR");
  EXPECT_EQ(o.error->name, "AbortError");
}

TEST(ExecSync, ReturnsStdout) {
  EXPECT_EQ(exec_sync(helper_command("echo one two")), "one two\n");
}

TEST(ExecSync, ThrowsWithStatusAndCapturedStderrOnNonZeroExit) {
  const std::string command = helper_command("report partial bad 4");
  try {
    exec_sync(command, {.stdio = StdioOption("pipe")});
    ADD_FAILURE() << "expected ExecSyncError";
  } catch (const ExecSyncError& e) {
    EXPECT_EQ(e.status(), 4);
    EXPECT_EQ(e.signal(), std::nullopt);
    EXPECT_EQ(e.std_out(), "partial\n");
    EXPECT_EQ(e.std_err(), "bad\n");
    EXPECT_GT(e.pid(), 0);
    EXPECT_FALSE(e.error());
    EXPECT_EQ(std::string(e.what()), "Command failed: " + command + "\nbad\n");
  }
}

TEST(ExecSync, TimeoutThrowsEtimedout) {
  try {
    exec_file_sync(kHelper, {"sleep", "10000"}, {.timeout = 100ms});
    ADD_FAILURE() << "expected ExecSyncError";
  } catch (const ExecSyncError& e) {
    ASSERT_TRUE(e.error());
    EXPECT_EQ(e.error()->code, "ETIMEDOUT");
    EXPECT_EQ(e.signal(), SIGTERM);
    EXPECT_EQ(e.status(), std::nullopt);
  }
}

TEST(ExecSync, MaxBufferThrowsEnobufs) {
  try {
    exec_file_sync(kHelper, {"write", "3000000"});
    ADD_FAILURE() << "expected ExecSyncError";
  } catch (const ExecSyncError& e) {
    ASSERT_TRUE(e.error());
    EXPECT_EQ(e.error()->code, "ENOBUFS");
  }
}

TEST(ExecSync, MissingFileThrowsEnoent) {
  try {
    exec_file_sync("no-such-cmd-xyz", {"a"});
    ADD_FAILURE() << "expected ExecSyncError";
  } catch (const ExecSyncError& e) {
    ASSERT_TRUE(e.error());
    EXPECT_EQ(e.error()->code, "ENOENT");
    EXPECT_STREQ(e.what(), "spawnSync no-such-cmd-xyz ENOENT");
  }
}

TEST(ExecFileSync, WithInput) {
  EXPECT_EQ(exec_file_sync(kHelper, {"cat"}, {.input = "fed through stdin"}), "fed through stdin");
}

// A capture past the huge-page threshold and past one grown pipe: every byte, in order. The
// one invalid byte deep inside also checks that text mode replaces it where it is (the ASCII
// fast path skips eight bytes at a time).
TEST(ExecFileSync, LargeOutputArrivesWholeAndInOrder) {
  std::string input(24u << 20, '\0');
  for (std::size_t i = 0; i < input.size(); ++i)
    input[i] = static_cast<char>('a' + (i * 7 + i / 4099) % 26);
  ExecSyncOptions raw{.input = input, .encoding = Encoding::kBuffer, .max_buffer = 0};
  std::string out = exec_file_sync(kHelper, {"cat"}, raw);
  ASSERT_EQ(out.size(), input.size());
  EXPECT_TRUE(out == input);

  const std::size_t bad_at = (9u << 20) + 7;  // the last byte of an 8-byte word
  input[bad_at] = '\xff';
  ExecSyncOptions text{.input = input, .max_buffer = 0};
  out = exec_file_sync(kHelper, {"cat"}, text);
  std::string expected = input.substr(0, bad_at) + "\xEF\xBF\xBD" + input.substr(bad_at + 1);
  ASSERT_EQ(out.size(), expected.size());
  EXPECT_TRUE(out == expected);
}

// ---- co_await ----

Task<std::string> echo_words(Loop& loop) {
  ExecResult r = co_await exec_async(helper_command("echo a b c"), {}, loop);  // default options
  if (!r) co_return "failed: " + r.error->message;
  co_return r.std_out;
}

TEST(ExecAsync, CoAwaitInsideATask) {
  Loop loop;
  auto task = echo_words(loop);
  EXPECT_FALSE(task.done());  // suspended until the loop runs the child
  cptest::run_with_watchdog(loop);
  ASSERT_TRUE(task.done());
  EXPECT_EQ(task.result(), "a b c\n");
}

Task<int> sequence_of_commands(Loop& loop, std::vector<std::string>& log) {
  // Named vectors, not braced lists of literals, in the co_await expression: GCC 12 rejects
  // those inside coroutines ("array used as initializer", GCC PR 100611 family).
  const std::vector<std::string> words = {"first", "second", "third"};
  for (const auto& word : words) {
    std::vector<std::string> args = {"print", "1", word};
    ExecResult r = co_await exec_file_async(kHelper, std::move(args), {}, loop);
    log.push_back(r.std_out);
  }
  ExecResult failing = co_await exec_async("exit 9", {}, loop);
  co_return failing.error ? *failing.error->exit_code : 0;
}

Task<int> outer(Loop& loop, std::vector<std::string>& log) {
  int code = co_await sequence_of_commands(loop, log);  // a Task awaits a Task
  co_return code + 1;
}

TEST(ExecAsync, SequentialAwaitsAndNestedTasks) {
  Loop loop;
  std::vector<std::string> log;
  auto task = outer(loop, log);
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(task.result(), 10);
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second", "third"}));
}

TEST(ExecAsync, DroppedTaskStillFinishesAndFreesItself) {
  Loop loop;
  std::vector<std::string> log;
  { auto task = sequence_of_commands(loop, log); }  // detached: runs on, frees itself
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(log.size(), 3u);
}

Task<void> bad_arguments(Loop& loop, std::string& caught) {
  try {
    co_await exec_file_async("", {}, {}, loop);
  } catch (const InvalidArgumentError& e) {
    caught = e.code();
  }
}

TEST(ExecAsync, BadArgumentsThrowAtTheAwait) {
  Loop loop;
  std::string caught;
  auto task = bad_arguments(loop, caught);
  cptest::run_with_watchdog(loop);
  EXPECT_TRUE(task.done());
  EXPECT_EQ(caught, "ERR_INVALID_ARG_VALUE");
}

}  // namespace
