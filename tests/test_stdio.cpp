// stdio normalization (Node's getValidStdio) and what the child really gets on each fd.
#include <fcntl.h>
#include <unistd.h>

#include "test_util.hpp"

using namespace childproc;
using cptest::kHelper;

namespace {

using K = Stdio::Kind;

std::vector<K> kinds(const StdioOption& o, bool sync = false) {
  std::vector<K> out;
  for (const auto& s : normalize_stdio(o, sync))
    out.push_back(s.kind);
  return out;
}

TEST(StdioNormalize, PresetsExpandToThreeEntries) {
  EXPECT_EQ(kinds("pipe"), (std::vector<K>{K::kPipe, K::kPipe, K::kPipe}));
  EXPECT_EQ(kinds("ignore"), (std::vector<K>{K::kIgnore, K::kIgnore, K::kIgnore}));
  EXPECT_EQ(kinds("inherit"), (std::vector<K>{K::kInherit, K::kInherit, K::kInherit}));
  EXPECT_EQ(kinds("overlapped"), (std::vector<K>{K::kOverlapped, K::kOverlapped, K::kOverlapped}));
}

TEST(StdioNormalize, ArraysArePaddedWithPipes) {
  EXPECT_EQ(kinds({"pipe"}), (std::vector<K>{K::kPipe, K::kPipe, K::kPipe}));
  EXPECT_EQ(kinds({"ignore"}), (std::vector<K>{K::kIgnore, K::kPipe, K::kPipe}));
}

TEST(StdioNormalize, NullMeansPipeBelowThreeAndIgnoreAbove) {
  EXPECT_EQ(kinds({nullptr, nullptr, nullptr, nullptr}),
            (std::vector<K>{K::kPipe, K::kPipe, K::kPipe, K::kIgnore}));
}

TEST(StdioNormalize, NumbersAreDescriptorsAndNegativeNumbersArePipes) {
  auto s = normalize_stdio({0, -1, 2}, false);
  EXPECT_EQ(s[0], Stdio::from_fd(0));
  EXPECT_EQ(s[1].kind, K::kPipe);
  EXPECT_EQ(s[2], Stdio::from_fd(2));
}

TEST(StdioNormalize, ExtraEntriesKeepTheirPlace) {
  EXPECT_EQ(kinds({"pipe", "pipe", "pipe", "pipe", "ignore", "ipc"}),
            (std::vector<K>{K::kPipe, K::kPipe, K::kPipe, K::kPipe, K::kIgnore, K::kIpc}));
}

TEST(StdioNormalize, ErrorsAreNodes) {
  auto code_of = [](const StdioOption& o, bool sync) {
    try {
      normalize_stdio(o, sync);
    } catch (const InvalidArgumentError& e) {
      return e.code();
    }
    return std::string("none");
  };
  EXPECT_EQ(code_of("foo", false), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(code_of({"foo"}, false), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(code_of({"ipc", "ipc"}, false), "ERR_IPC_ONE_PIPE");
  EXPECT_EQ(code_of({"pipe", "pipe", "pipe", "ipc"}, true), "ERR_IPC_SYNC_FORK");
  EXPECT_EQ(code_of({"pipe", "pipe", "pipe", "ipc"}, false), "none");
}

// What the child really has on its descriptors, seen from inside (it lists /proc/self/fd).
std::string child_fds(const StdioOption& stdio) {
  auto r = spawn_sync(kHelper, {"list-fds"}, {.stdio = stdio});
  EXPECT_FALSE(r.error);
  return r.std_out;
}

TEST(StdioChild, SeesOnlyZeroToTwoByDefault) {
  EXPECT_EQ(child_fds("pipe"), "0 1 2");
}

TEST(StdioChild, SeesNothingElseEvenWhenWeHoldInheritableDescriptors) {
  // A descriptor of the host application without close-on-exec must not leak into the child.
  int leaky = open("/dev/null", O_RDONLY);  // deliberately no O_CLOEXEC
  ASSERT_GE(leaky, 3);
  std::string seen = child_fds("pipe");
  close(leaky);
  EXPECT_EQ(seen, "0 1 2");
}

TEST(StdioChild, ExtraPipeAppearsAtFd3AndCarriesData) {
  Loop loop;
  auto child =
      spawn(kHelper, {"print", "3", "via fd 3"}, {.stdio = {"pipe", "pipe", "pipe", "pipe"}}, loop);
  ASSERT_NE(child->stdio(3), nullptr);
  std::string got;
  child->stdio(3)->on_data([&](std::string_view d) { got.append(d); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(got, "via fd 3");
  EXPECT_EQ(child_fds({"pipe", "pipe", "pipe", "pipe"}), "0 1 2 3");
}

TEST(StdioChild, IgnoredStdioIsDevNullNeverClosed) {
  auto r = spawn_sync("/bin/sh", {"-c", "readlink /proc/self/fd/0 >&2; echo out"},
                      {.stdio = {"ignore", "ignore", "pipe"}});
  EXPECT_EQ(r.std_err, "/dev/null\n");
  EXPECT_EQ(r.output[1], std::nullopt);
  // An ignored fd >= 3 is simply not there.
  EXPECT_EQ(child_fds({"pipe", "pipe", "pipe", "ignore"}), "0 1 2");
}

TEST(StdioChild, IgnoreGivesNoStreams) {
  Loop loop;
  auto child = spawn(kHelper, {"exit", "0"}, {.stdio = "ignore"}, loop);
  EXPECT_EQ(child->std_in(), nullptr);
  EXPECT_EQ(child->std_out(), nullptr);
  EXPECT_EQ(child->std_err(), nullptr);
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(StdioChild, InheritPassesOurDescriptorsThrough) {
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

TEST(StdioChild, FdEntryPassesAGivenDescriptor) {
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

TEST(StdioChild, StdoutAndStderrSwapped) {
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

TEST(StdioChild, IpcSlotGetsTheChannelVariables) {
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
