// Nothing leaks: descriptors, zombies, threads; spawning is safe from several threads at once.
#include <poll.h>
#include <sys/syscall.h>

#include <csignal>
#include <thread>

#include "internal/process.hpp"
#include "test_util.hpp"

using namespace childproc;
using cptest::kHelper;

namespace {

TEST(Resources, ThousandSequentialSpawnsLeaveNoZombieAndNoDescriptor) {
  Loop loop;
  auto before = cptest::open_fds();
  int exits = 0;
  for (int i = 0; i < 1000; ++i) {
    auto child = spawn(kHelper, {"exit", "0"}, {}, loop);
    child->on_close([&](std::optional<int> code, auto) { exits += code == 0; });
    cptest::run_with_watchdog(loop);
  }
  EXPECT_EQ(exits, 1000);
  EXPECT_EQ(cptest::zombie_children(), 0);
  auto after = cptest::open_fds();
  EXPECT_EQ(after, before);
}

TEST(Resources, ThousandSequentialSpawnSyncsLeaveNothing) {
  auto before = cptest::open_fds();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(spawn_sync(kHelper, {"exit", "0"}).status, 0);
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_fds(), before);
}

TEST(Resources, FailedSpawnsLeaveNothing) {
  Loop loop;
  auto before = cptest::open_fds();
  for (int i = 0; i < 100; ++i) {
    spawn("no-such-cmd-xyz", {}, {}, loop);
    spawn(kHelper, {}, {.cwd = "/no/such/dir"}, loop);
    EXPECT_TRUE(spawn_sync("no-such-cmd-xyz", {}).error);
  }
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_fds(), before);
}

TEST(Resources, FourThreadsEachWithItsOwnLoopSpawnAtOnce) {
  auto before = cptest::open_fds();
  constexpr int kPerThread = 100;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Loop loop;
      for (int i = 0; i < kPerThread; ++i) {
        // Appended piecewise: GCC 12 at -O3 warns (-Wrestrict) on "literal" + std::string.
        std::string word = std::to_string(t);
        word.insert(0, 1, 't');
        word += '-';
        word += std::to_string(i);
        auto child = spawn(kHelper, {"print", "1", word}, {}, loop);
        std::string out;
        child->std_out()->on_data([&](std::string_view d) { out.append(d); });
        child->on_close([&](std::optional<int> code, auto) {
          if (code == 0 && out == word) ++ok;
        });
        loop.run();
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(ok.load(), 4 * kPerThread);
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_fds(), before);
}

TEST(Resources, DestroyingALoopWithARunningChildLeavesNoZombie) {
  auto before = cptest::open_fds();
  int pid = 0;
  {
    Loop loop;
    auto child = spawn(kHelper, {"sleep", "100"}, {}, loop);
    pid = *child->pid();
    loop.run_once(std::chrono::milliseconds(0));
  }  // the loop goes first; the child object outlives it without touching it
  // Its pipes are closed; only its pidfd is kept, by the reaper, until it has exited.
  EXPECT_EQ(cptest::open_fds().size(), before.size() + 1);
  // Wait for the exit through a pidfd of our own (an event, not a sleep).
  int watch = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(watch, 0);
  pollfd p{watch, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  close(watch);
  spawn_sync(kHelper, {"exit", "0"});  // any later start reaps orphans first
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_fds(), before);
}

TEST(Resources, ForkFallbackPathReportsErrorsAndRunsChildren) {
  // The path used where shared-memory clone is refused (valgrind, qemu-user).
  detail::force_fork_strategy(true);
  auto ok = spawn_sync(kHelper, {"print", "1", "forked"});
  auto missing = spawn_sync("no-such-cmd-xyz", {});
  auto bad_cwd = spawn_sync(kHelper, {"exit", "0"}, {.cwd = "/no/such/dir"});
  detail::force_fork_strategy(false);
  EXPECT_EQ(ok.std_out, "forked");
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->code, "ENOENT");
  ASSERT_TRUE(bad_cwd.error);
  EXPECT_EQ(bad_cwd.error->step, "chdir");
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Resources, ChildStartsWithEmptySignalMaskAndDefaultDispositions) {
  // Our own process ignores SIGPIPE and blocks SIGUSR2; the child must see neither.
  auto old_pipe = signal(SIGPIPE, SIG_IGN);
  sigset_t block, saved;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, &saved);
  auto r = spawn_sync(kHelper, {"signals"});
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  signal(SIGPIPE, old_pipe);
  EXPECT_EQ(r.std_out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(Resources, HostSigchldHandlerIsLeftAlone) {
  struct sigaction before {};
  sigaction(SIGCHLD, nullptr, &before);
  Loop loop;
  spawn(kHelper, {"exit", "0"}, {}, loop);
  cptest::run_with_watchdog(loop);
  struct sigaction after {};
  sigaction(SIGCHLD, nullptr, &after);
  EXPECT_EQ(before.sa_handler, after.sa_handler);
}

}  // namespace
