// Nothing left behind: kill_tree() ends a child and its descendants; a child started with
// kill_on_parent_death dies when its parent is SIGKILLed. Exits are observed through pidfds
// (POSIX: this file is the Linux backend's; the Win32 backend uses a job object).
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <sstream>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;

namespace {

// Whether `pid` exits (or has exited) within `limit`; its pidfd becomes readable when it does.
bool exits_within(int pid, std::chrono::milliseconds limit) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // gone already
  pollfd p{fd, POLLIN, 0};
  int rc = poll(&p, 1, static_cast<int>(limit.count()));
  close(fd);
  return rc == 1;
}

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
      EXPECT_TRUE(child->kill_tree(SIGKILL));
    }
  });
  cptest::run_with_watchdog(loop);
  auto pids = read_pids(out);
  ASSERT_EQ(pids.size(), 3u);  // the child, a grandchild, a great-grandchild
  EXPECT_EQ(pids[0], child->pid());
  EXPECT_EQ(child->signal_code(), SIGKILL);
  for (int pid : pids)
    EXPECT_TRUE(exits_within(pid, 10s)) << "process " << pid << " survived kill_tree";
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Tree, KillTreeReachesDescendantsAfterTheChildHasExited) {
  Loop loop;
  // The child exits at once; its two descendants live on in its group.
  auto child = spawn(kHelper, {"tree", "2", "30000"}, {.detached = true}, loop);
  std::string out;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  std::vector<int> pids;
  child->std_out()->on_data([&](std::string_view) {
    if (read_pids(out).size() == 3 && pids.empty()) {
      pids = read_pids(out);
      child->kill(SIGKILL);  // only the child
    }
  });
  child->on_exit([&](auto, auto) { EXPECT_TRUE(child->kill_tree(SIGKILL)); });
  cptest::run_with_watchdog(loop);
  ASSERT_EQ(pids.size(), 3u);
  for (int pid : pids)
    EXPECT_TRUE(exits_within(pid, 10s)) << "process " << pid << " survived kill_tree";
}

TEST(Tree, KillTreeNeedsAProcessGroup) {
  Loop loop;
  auto child = spawn(kHelper, {"sleep", "10000"}, {.stdio = "ignore"}, loop);
  EXPECT_THROW(child->kill_tree(), std::logic_error);
  child->kill(SIGKILL);
  cptest::run_with_watchdog(loop);
}

namespace {

// Starts cp_spawner (which starts a kill_on_parent_death child), SIGKILLs it once it has said its
// child's pid, and returns that pid.
int orphan_of_a_killed_spawner(const std::vector<std::string>& extra) {
  Loop loop;
  std::vector<std::string> args = {kHelper};
  args.insert(args.end(), extra.begin(), extra.end());
  auto parent = spawn(CP_SPAWNER, args, {}, loop);
  std::string out;
  int grandchild = 0;
  parent->std_out()->on_data([&](std::string_view d) {
    out.append(d);
    if (out.find('\n') != std::string::npos && grandchild == 0) {
      grandchild = std::stoi(out);
      parent->kill(SIGKILL);
    }
  });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(parent->signal_code(), SIGKILL);
  return grandchild;
}

}  // namespace

TEST(LinuxBackend, AChildWithKillOnParentDeathDiesWhenItsParentIsSigkilled) {
  CP_ONLY_ON_LINUX_BACKEND();
  int grandchild = orphan_of_a_killed_spawner({});
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(exits_within(grandchild, 10s)) << "the orphan " << grandchild << " lives on";
}

// Changing credentials clears PR_SET_PDEATHSIG: it must be set after setuid/setgid.
TEST(LinuxBackend, KillOnParentDeathSurvivesAChangeOfUser) {
  CP_ONLY_ON_LINUX_BACKEND();
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start a child as another user (CI is root)";
  int grandchild = orphan_of_a_killed_spawner({"nobody"});
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(exits_within(grandchild, 10s)) << "the orphan " << grandchild << " lives on";
}

// PR_SET_PDEATHSIG has no portable equivalent: the spawn is refused, clearly, at the call.
TEST(PortableBackend, KillOnParentDeathIsRefusedWithEnotsup) {
  CP_ONLY_ON_PORTABLE_BACKEND();
  auto before = cptest::open_fds();
  auto r = spawn_sync(kHelper, {"exit", "0"}, {.kill_on_parent_death = true});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOTSUP");
  EXPECT_EQ(r.error->step, "kill_on_parent_death");
  EXPECT_EQ(cptest::open_fds(), before);
  EXPECT_EQ(cptest::zombie_children(), 0);
}
