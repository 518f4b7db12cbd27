// spawn_sync() against real processes, on every platform (the POSIX-only cases are in
// test_posix.cpp).
#include <csignal>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;

namespace {

TEST(SpawnSync, ExitCodeAndOutput) {
  auto r = spawn_sync(kHelper, {"print", "1", "hello"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.signal, std::nullopt);
  EXPECT_FALSE(r.error);
  EXPECT_GT(r.pid, 0);
  EXPECT_EQ(r.std_out, "hello");
  ASSERT_EQ(r.output.size(), 3u);
  EXPECT_EQ(r.output[0], std::nullopt);  // stdin: never output, as in Node
  EXPECT_EQ(r.output[1], "hello");
  EXPECT_EQ(spawn_sync(kHelper, {"exit", "7"}).status, 7);
}

TEST(SpawnSync, WithoutPipesOrTimeoutTheExitIsStillCollected) {
  // The blocking wait that replaces the poll loop when nothing is to be fed, drained or timed.
  auto r = spawn_sync(kHelper, {"exit", "7"}, {.stdio = "ignore"});
  EXPECT_EQ(r.status, 7);
  EXPECT_FALSE(r.error);
  EXPECT_GT(r.pid, 0);
  EXPECT_EQ(r.output, (std::vector<std::optional<std::string>>(3)));
}

TEST(SpawnSync, StdinWithoutInputIsAPipeAtEof) {
  // Nothing to write: the child's stdin is a pipe whose other end is already closed.
  auto r = spawn_sync(kHelper, {"count-stdin"}, {.stdio = {"pipe", "pipe", "ignore"}});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.std_out, "0 0");
  auto fed = spawn_sync(kHelper, {"count-stdin"}, {.input = "abc"});
  EXPECT_EQ(fed.std_out, "3 294");
}

TEST(SpawnSync, EnoentIsResultError) {
  auto r = spawn_sync("no-such-cmd-xyz", {"a", "b"});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOENT");
  EXPECT_EQ(r.error->errnum, cptest::kEnoentErrnum);
  EXPECT_EQ(r.error->syscall, "spawnSync no-such-cmd-xyz");
  EXPECT_EQ(r.error->path, "no-such-cmd-xyz");
  EXPECT_EQ(r.error->spawnargs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.pid, 0);
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_TRUE(r.output.empty());
}

TEST(SpawnSync, OneMebibyteToStdoutAndStderrAtOnceDoesNotDeadlock) {
  auto r = spawn_sync(kHelper, {"write-both", "1048576"}, {.max_buffer = 0});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.std_out.size(), 1048576u);
  EXPECT_EQ(r.std_err.size(), 1048576u);
  EXPECT_EQ(r.std_out.find_first_not_of('o'), std::string::npos);
  EXPECT_EQ(r.std_err.find_first_not_of('e'), std::string::npos);
}

TEST(SpawnSync, OneMebibyteOfInputReachesStdin) {
  std::string input(1024 * 1024, '\0');
  unsigned long sum = 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    input[i] = static_cast<char>(i * 31 + 7);
    sum += static_cast<unsigned char>(input[i]);
  }
  auto r = spawn_sync(kHelper, {"count-stdin"}, {.input = input});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.std_out, std::to_string(input.size()) + " " + std::to_string(sum));
}

TEST(SpawnSync, InputWhileOutputAlsoFlowsDoesNotDeadlock) {
  std::string input(4 * 1024 * 1024, 'z');
  auto r = spawn_sync(kHelper, {"cat"}, {.input = input, .max_buffer = 0});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.std_out.size(), input.size());
}

TEST(SpawnSync, TimeoutKillsWithEtimedout) {
  auto start = std::chrono::steady_clock::now();
  auto r = spawn_sync(kHelper, {"sleep", "10000"}, {.timeout = std::chrono::milliseconds(100)});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ETIMEDOUT");
  EXPECT_EQ(r.error->syscall, "spawnSync " + kHelper);
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(SpawnSync, MaxBufferExceededKillsWithEnobufsAndKeepsWhatWasRead) {
  auto r = spawn_sync(kHelper, {"write", "100000000"}, {.max_buffer = 10});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOBUFS");
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_GT(r.std_out.size(), 10u);  // not trimmed, as in Node
  EXPECT_LT(r.std_out.size(), 100000000u);
}

TEST(SpawnSync, MaxBufferCountsAllPipesTogether) {
  // 600 KiB on each pipe: 1.2 MiB in all, over the default 1 MiB.
  auto r = spawn_sync(kHelper, {"write-both", "614400"});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOBUFS");
}

TEST(SpawnSync, ExactlyMaxBufferIsAccepted) {
  auto r = spawn_sync(kHelper, {"write", "1048576"});
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.std_out.size(), 1048576u);
}

TEST(SpawnSync, IpcIsRejectedBeforeAnyProcessExists) {
  cptest::warm_up();
  auto before = cptest::open_handles();
  try {
    spawn_sync(kHelper, {}, {.stdio = {"pipe", "pipe", "pipe", "ipc"}});
    ADD_FAILURE() << "expected ERR_IPC_SYNC_FORK";
  } catch (const InvalidArgumentError& e) {
    EXPECT_EQ(e.code(), "ERR_IPC_SYNC_FORK");
  }
  EXPECT_THROW(spawn_sync(""), InvalidArgumentError);
  EXPECT_THROW(spawn_sync(kHelper, std::vector<std::string>{std::string("a\0b", 3)}),
               InvalidArgumentError);
  EXPECT_EQ(cptest::open_handles(), before);
}

TEST(SpawnSync, InheritedStdioProducesNoOutputSlots) {
  auto r = spawn_sync(kHelper, {"exit", "0"}, {.stdio = "inherit"});
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(r.output.size(), 3u);
  EXPECT_EQ(r.output[1], std::nullopt);
  EXPECT_EQ(r.output[2], std::nullopt);
}

}  // namespace

TEST(SpawnSync, EncodingUtf8GivesTextAndTheDefaultKeepsTheBytes) {
  // An invalid byte, then a cut sequence: written by the child (an argument could not carry
  // them on Windows, where the command line is UTF-16).
  const std::string bytes = "ok \xFF\xC3";
  const std::string hex = "6f6b20ffc3";
  SpawnSyncResult raw = spawn_sync(kHelper, {"print-hex", "1", hex});
  EXPECT_EQ(raw.std_out, bytes);
  EXPECT_EQ(raw.output[1], bytes);
  SpawnSyncResult text =
      spawn_sync(kHelper, {"print-hex", "2", hex}, {.encoding = Encoding::kUtf8});
  EXPECT_EQ(text.std_err, "ok \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(text.output[2], text.std_err);
}

// Node 20: a child that closes its stdin while input is still being written gives EPIPE in
// result.error, with the child's own status and output.
TEST(SpawnSync, InputToAChildThatClosedStdinIsEpipeWithTheStatus) {
  SpawnSyncResult r =
      spawn_sync(kHelper, {"close-stdin", "0"}, {.input = std::string(10 << 20, 'x')});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "EPIPE");
  EXPECT_EQ(r.error->syscall, "spawnSync " + kHelper);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.std_out, "closed\n");
  EXPECT_FALSE(r.timed_out);
  // A timeout outranks the pipe error, whichever came first (Node's order of errors).
  SpawnSyncResult t = spawn_sync(kHelper, {"close-stdin", "10000"},
                                 {.timeout = 200ms, .input = std::string(10 << 20, 'x')});
  ASSERT_TRUE(t.error);
  EXPECT_EQ(t.error->code, "ETIMEDOUT");
}
