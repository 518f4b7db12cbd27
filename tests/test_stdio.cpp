// stdio normalization (Node's getValidStdio) and what the child gets on each fd, on every
// platform (an extra pipe reaches a Windows child's C runtime as fd 3). What needs POSIX to
// look at (/proc/self/fd, dup2 of our own fds, /bin/sh) is in test_posix.cpp.
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

TEST(StdioChild, ExtraPipeAppearsAtFd3AndCarriesData) {
  Loop loop;
  auto child =
      spawn(kHelper, {"print", "3", "via fd 3"}, {.stdio = {"pipe", "pipe", "pipe", "pipe"}}, loop);
  ASSERT_NE(child->stdio(3), nullptr);
  std::string got;
  child->stdio(3)->on_data([&](std::string_view d) { got.append(d); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(got, "via fd 3");
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

}  // namespace
