// Nothing left behind: kill_tree() ends a child and its descendants; a child started with
// kill_on_parent_death dies when its parent is killed. The same tests on every backend: the
// tree is a process group on POSIX and a job object on Windows; the death of the parent is
// PR_SET_PDEATHSIG on Linux and the close of a kill-on-close job on Windows.
#include <sstream>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::exits_within;
using cptest::kHelper;

namespace {

const int kSigkill = *signal_number("SIGKILL");

std::vector<int> read_pids(const std::string& text) {
  std::vector<int> pids;
  std::istringstream in(text);
  for (int pid; in >> pid;)
    pids.push_back(pid);
  return pids;
}

}  // namespace

TEST(Tree, KillTreeEndsTheChildAndEveryDescendant) {
  Loop loop;
  auto child = spawn(kHelper, {"tree", "2", "30000"}, {.new_process_group = true}, loop);
  std::string out;
  child->std_out()->on_data([&](std::string_view d) {
    out.append(d);
    if (read_pids(out).size() == 3) {
      EXPECT_TRUE(child->kill_tree(kSigkill));
    }
  });
  cptest::run_with_watchdog(loop);
  auto pids = read_pids(out);
  ASSERT_EQ(pids.size(), 3u);  // the child, a grandchild, a great-grandchild
  EXPECT_EQ(pids[0], child->pid());
  EXPECT_EQ(child->signal_code(), kSigkill);
  for (int pid : pids)
    EXPECT_TRUE(exits_within(pid, 10s)) << "process " << pid << " survived kill_tree";
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Tree, KillTreeReachesDescendantsAfterTheChildHasExited) {
  Loop loop;
  // The child is killed alone; its two descendants live on in its group.
  auto child = spawn(kHelper, {"tree", "2", "30000"}, {.detached = true}, loop);
  std::string out;
  std::vector<int> pids;
  child->std_out()->on_data([&](std::string_view d) {
    out.append(d);
    if (read_pids(out).size() == 3 && pids.empty()) {
      pids = read_pids(out);
      child->kill(kSigkill);  // only the child
    }
  });
  child->on_exit([&](auto, auto) { EXPECT_TRUE(child->kill_tree(kSigkill)); });
  cptest::run_with_watchdog(loop);
  ASSERT_EQ(pids.size(), 3u);
  for (int pid : pids)
    EXPECT_TRUE(exits_within(pid, 10s)) << "process " << pid << " survived kill_tree";
}

TEST(Tree, KillTreeNeedsAProcessGroup) {
  Loop loop;
  auto child = spawn(kHelper, {"sleep", "10000"}, {.stdio = "ignore"}, loop);
  EXPECT_THROW(child->kill_tree(), std::logic_error);
  child->kill(kSigkill);
  cptest::run_with_watchdog(loop);
}

TEST(Tree, AChildWithKillOnParentDeathDiesWhenItsParentIsKilled) {
  if (cptest::kPortableBackend) GTEST_SKIP() << "refused with ENOTSUP on the portable backend";
  int grandchild = cptest::orphan_of_a_killed_spawner({});
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(exits_within(grandchild, 10s)) << "the orphan " << grandchild << " lives on";
}

// The other side of the same coin, and Node's test-child-process-detached: a detached child is
// nobody's to kill, on Windows too, where every other child dies with its parent.
TEST(Tree, ADetachedChildOutlivesItsParent) {
  int orphan = cptest::orphan_of_a_killed_spawner({"detached"});
  ASSERT_GT(orphan, 0);
  EXPECT_FALSE(exits_within(orphan, 1s))
      << "the detached child " << orphan << " died with its parent";
  cptest::kill_pid(orphan);
  EXPECT_TRUE(exits_within(orphan, 10s));
}
