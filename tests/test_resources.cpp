// Nothing leaks: descriptors (handles on Windows), zombies, threads; spawning is safe from
// several threads at once. On every backend: Windows counts its handles (the 1,000
// spawns leaving GetProcessHandleCount where it was) where POSIX lists its descriptors.
#include <atomic>
#include <thread>

#include "test_util.hpp"

using namespace childproc;
using cptest::kHelper;

namespace {

TEST(Resources, ThousandSequentialSpawnsLeaveNoZombieAndNoDescriptor) {
  Loop loop;
  cptest::warm_up();
  auto before = cptest::open_handles();
  int exits = 0;
  for (int i = 0; i < 1000; ++i) {
    // Every third leads a tree (a job object on Windows) and has a pipe beyond stdio (fd 3).
    bool tree = i % 3 == 0;
    auto child =
        spawn(kHelper, {"exit", "0"},
              {.stdio = tree ? StdioOption{"pipe", "pipe", "pipe", "pipe"} : StdioOption("pipe"),
               .new_process_group = tree},
              loop);
    child->on_close([&](std::optional<int> code, auto) { exits += code == 0; });
    cptest::run_with_watchdog(loop);
  }
  EXPECT_EQ(exits, 1000);
  EXPECT_EQ(cptest::zombie_children(), 0);
  auto after = cptest::open_handles();
  EXPECT_EQ(after, before);
}

TEST(Resources, ThousandSequentialSpawnSyncsLeaveNothing) {
  cptest::warm_up();
  auto before = cptest::open_handles();
  for (int i = 0; i < 1000; ++i) {
    auto r = spawn_sync(kHelper, {"exit", "0"});
    ASSERT_EQ(r.status, 0) << "spawn " << i << ": "
                           << (r.error ? r.error->message + " step " + r.error->step : "")
                           << " signal " << r.signal.value_or(0);
  }
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_handles(), before);
}

TEST(Resources, FailedSpawnsLeaveNothing) {
  Loop loop;
  cptest::warm_up();
  auto before = cptest::open_handles();
  for (int i = 0; i < 100; ++i) {
    spawn("no-such-cmd-xyz", {}, {}, loop);
    spawn(kHelper, {}, {.cwd = "/no/such/dir"}, loop);
    EXPECT_TRUE(spawn_sync("no-such-cmd-xyz", {}).error);
  }
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_handles(), before);
}

TEST(Resources, FourThreadsEachWithItsOwnLoopSpawnAtOnce) {
  cptest::warm_up();
  auto before = cptest::open_handles();
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
  EXPECT_EQ(cptest::open_handles(), before);
}

}  // namespace
