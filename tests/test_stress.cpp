// Stress and fault tests: many spawns from many threads, running out of descriptors, hostile IPC
// peers, a pool whose workers keep dying. Each prints its figures ("[ figures  ]" lines) and
// checks that nothing is left behind: no descriptor, no zombie, no thread.
#include <fcntl.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;
const std::string kTiny = CP_TINY;  // a static child that prints its argument: cheap to start
namespace js = childproc::json;

namespace {

using Clock = std::chrono::steady_clock;

int thread_count() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

long peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

// Under sanitizers every spawn costs the instrumented parent several times more (TSan takes the
// fork path): the same test runs a tenth of the spawns there; the plain build runs them all.
#ifdef CP_SANITIZED
constexpr int kScale = 10;
#else
constexpr int kScale = 1;
#endif

TEST(Stress, TenThousandSpawnSyncsOnFourThreadsAndTwoThousandAsyncOnFourLoops) {
  // A sanitizer's runtime starts a helper thread of its own with the first thread we create:
  // create (and join) one before counting, so that only our threads are compared.
  std::thread([] {}).join();
  cptest::warm_up();
  auto fds_before = cptest::open_fds();
  int threads_before = thread_count();
  std::atomic<int> sync_ok{0}, async_ok{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2500 / kScale; ++i) {
        auto r = spawn_sync(kTiny, {std::to_string(t * 10000 + i)});
        if (r.status == 0 && r.std_out == std::to_string(t * 10000 + i)) ++sync_ok;
      }
    });
    threads.emplace_back([&] {
      Loop loop;
      for (int round = 0; round < 5; ++round) {  // 100 children at once, five times
        for (int i = 0; i < 100 / kScale; ++i) {
          auto child = spawn(kTiny, {"", "7"}, {.stdio = "ignore"}, loop);
          child->on_close([&](std::optional<int> code, auto) { async_ok += code == 7; });
        }
        loop.run();
      }
    });
  }
  for (auto& th : threads)
    th.join();
  double took = seconds_since(start);
  std::cout << "[ figures  ] " << 10000 / kScale << " spawn_sync + " << 2000 / kScale
            << " async spawns in " << took << " s (" << static_cast<int>(12000 / kScale / took)
            << " spawns/s on 8 threads)\n";
  EXPECT_EQ(sync_ok.load(), 10000 / kScale);
  EXPECT_EQ(async_ok.load(), 2000 / kScale);
  EXPECT_EQ(cptest::zombie_children(), 0);
  EXPECT_EQ(cptest::open_fds(), fds_before);
  // A joined thread may still be counted for a moment: the kernel wakes the joiner before the
  // thread has left the group. No event says when; poll the count, bounded.
  auto until = Clock::now() + 5s;
  while (thread_count() != threads_before && Clock::now() < until)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(thread_count(), threads_before);
}

// With RLIMIT_NOFILE just above what is open, pipes cannot be made: EMFILE at the call, as an
// 'error' event for spawn and result.error for spawn_sync, nothing leaked; and it works again
// once descriptors are available.
TEST(Stress, RunningOutOfDescriptorsIsEmfileAndLeavesNothing) {
  Loop loop;
  cptest::warm_up();
  auto before = cptest::open_fds();
  // Fill the gaps below the highest open descriptor, so that exactly 2 more can be made.
  std::vector<int> fillers;
  for (int fd = 0; fd < *before.rbegin(); ++fd)
    if (!before.count(fd)) fillers.push_back(fcntl(0, F_DUPFD_CLOEXEC, fd));
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  rlimit tight = original;
  tight.rlim_cur = static_cast<rlim_t>(*before.rbegin() + 3);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  SpawnSyncResult r = spawn_sync(kHelper, {"exit", "0"});
  std::optional<Error> async_error;
  std::optional<int> close_code;
  auto child = spawn(kHelper, {"exit", "0"}, {}, loop);
  child->on_error([&](const Error& e) { async_error = e; });
  child->on_close([&](std::optional<int> code, auto) { close_code = code; });
  cptest::run_with_watchdog(loop);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
  for (int fd : fillers)
    close(fd);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "EMFILE");
  EXPECT_EQ(r.error->step, "pipe");
  ASSERT_TRUE(async_error);
  EXPECT_EQ(async_error->code, "EMFILE");
  EXPECT_EQ(close_code, -EMFILE);
  EXPECT_EQ(cptest::open_fds(), before);
  std::cout << "[ figures  ] with " << tight.rlim_cur
            << " descriptors allowed: " << r.error->message << "; after: nothing leaked\n";
  EXPECT_EQ(spawn_sync(kHelper, {"print", "1", "again"}).std_out, "again");
  EXPECT_EQ(cptest::zombie_children(), 0);
}

// Hostile peers on the IPC channel: a 100,000-deep document, a million tiny messages,
// descriptors by the thousand without NODE_HANDLE. Clear errors, memory bounded, and the channel
// goes on (or closes cleanly) with no descriptor of theirs left open here.
TEST(Stress, HostileIpcPeers) {
  cptest::warm_up();
  auto before = cptest::open_fds();
  long rss_before = peak_rss_kib();
  auto run_peer = [](const std::vector<std::string>& args, std::vector<std::string>& errors,
                     std::size_t& messages) {
    Loop loop;
    auto child = spawn(kHelper, args, {.stdio = {"ignore", "ignore", "ignore", "ipc"}}, loop);
    child->on_error([&](const Error& e) { errors.push_back(e.code); });
    child->on_message([&](const js::Value&, ipc::Handle*) { ++messages; });
    cptest::run_with_watchdog(loop, 120s);
    EXPECT_EQ(child->exit_code(), 0) << args[0];
  };

  std::vector<std::string> errors;
  std::size_t messages = 0;
  run_peer({"print", "3", std::string(100000, '[') + "\n{\"after\":1}\n"}, errors, messages);
  EXPECT_EQ(errors, std::vector<std::string>{"ERR_IPC_BAD_MESSAGE"});
  EXPECT_EQ(messages, 1u);

  errors.clear();
  messages = 0;
  auto start = Clock::now();
  run_peer({"flood", "3", "1000000", "1\n"}, errors, messages);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(messages, 1000000u);
  std::cout << "[ figures  ] a million tiny messages received in " << seconds_since(start)
            << " s\n";

  errors.clear();
  messages = 0;
  run_peer({"fd-flood", "3", "5000"}, errors, messages);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(messages, 5000u);
  EXPECT_EQ(cptest::open_fds(), before);  // the unclaimed descriptors were closed

  long grown = peak_rss_kib() - rss_before;
  std::cout << "[ figures  ] peak memory growth over the three peers: " << grown << " KiB\n";
  EXPECT_LT(grown, 64 * 1024);
  EXPECT_EQ(cptest::zombie_children(), 0);
}

// A pool whose workers are SIGKILLed every 50 ms for 20 s while jobs keep arriving: every job
// settles exactly once (done, or failed with the worker's death), the pool is back at `min`
// afterwards, and nothing is left once it is destroyed.
TEST(Stress, APoolWhoseWorkersKeepDyingLosesNoJob) {
  Loop loop;
  std::size_t submitted = 0, settled = 0, succeeded = 0, twice = 0, kills = 0;
  std::map<std::size_t, int> settle_count;
  {
    jobs::ChildPoolJob pool({.min = 3, .max_queued = 100000, .exec_path = CP_JOB_HOST}, loop);
    pool.create(3);
    ASSERT_EQ(pool.size(), 3u);
    auto start = Clock::now();
    bool submitting = true;
    std::function<void()> submit = [&] {
      std::size_t id = submitted++;
      pool.run("test/slow", js::Value::object({{"ms", 5}}),
               {.callback = [&, id](const std::optional<std::string>& error, const js::Value&) {
                 if (++settle_count[id] > 1) ++twice;
                 ++settled;
                 succeeded += !error;
                 if (submitting) submit();
               }});
    };
    for (int i = 0; i < 12; ++i)
      submit();
    std::mt19937 rng(42);
    std::function<void()> kill_one = [&] {
      if (seconds_since(start) > 20) {
        submitting = false;
        return;
      }
      auto pids = pool.get_pids();
      if (!pids.empty()) {
        int victim = pids[std::uniform_int_distribution<std::size_t>(0, pids.size() - 1)(rng)];
        pool.get_child_by_pid(victim)->process().kill(SIGKILL);
        ++kills;
      }
      loop.set_timeout(50ms, kill_one);
    };
    loop.set_timeout(50ms, kill_one);
    cptest::run_until(
        loop, [&] { return !submitting && settled == submitted && pool.size() == 3; }, 60s);
    EXPECT_EQ(pool.size(), 3u);
    std::cout << "[ figures  ] " << kills << " workers killed in 20 s; " << submitted
              << " jobs: " << succeeded << " done, " << settled - succeeded
              << " failed with their worker, " << submitted - settled << " lost, " << twice
              << " settled twice\n";
  }
  cptest::run_with_watchdog(loop);  // the destroyed pool's workers are stopped and reaped
  EXPECT_EQ(settled, submitted);
  EXPECT_EQ(twice, 0u);
  EXPECT_GT(kills, 100u);  // ~400 on an idle machine; fewer when the loop is starved
  EXPECT_GT(succeeded, 0u);
  EXPECT_EQ(cptest::zombie_children(), 0);
}
