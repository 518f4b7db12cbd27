// ChildJob, ChildPoolJob and LoadBalancer against real job processes (tests/helpers/cp_job_host),
// on every platform.
#include <filesystem>
#include <map>
#include <set>

#include "test_util.hpp"

using namespace childproc;
using namespace childproc::jobs;
using namespace std::chrono_literals;
namespace js = childproc::json;

namespace {

#ifdef _WIN32
const std::string kJobHost = std::filesystem::absolute(CP_JOB_HOST).string();
#else
const std::string kJobHost = CP_JOB_HOST;
#endif

struct Outcome {
  int calls = 0;
  std::optional<std::string> error;
  js::Value result;
};

JobCallback record(Outcome& o) {
  return [&o](const std::optional<std::string>& error, const js::Value& result) {
    ++o.calls;
    o.error = error;
    o.result = result;
  };
}

js::Value tick_params(int job_id, int count, int interval_ms) {
  return js::Value::object({{"jobId", job_id}, {"count", count}, {"interval_ms", interval_ms}});
}

TEST(ChildJob, ProgressEventsArriveInOrderWithThePayload) {
  Loop loop;
  ChildJob jobs({.exec_path = kJobHost}, loop);
  Outcome o;
  auto task = jobs.exec("test/tick", tick_params(7, 5, 10), {.callback = record(o)});
  EXPECT_GT(task->pid().value_or(0), 0);
  std::vector<int> numbers;
  task->on("progress", [&](const js::Value& data) {
    EXPECT_EQ(data.find("jobId")->as_number(), 7);
    numbers.push_back(static_cast<int>(data.find("number")->as_number()));
  });
  std::optional<int> exit_code;
  task->on_exit([&](auto code, auto) { exit_code = code; });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(numbers, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(o.calls, 1);
  EXPECT_FALSE(o.error);
  EXPECT_EQ(js::stringify(o.result), R"({"ticks":5})");
  EXPECT_EQ(exit_code, 0);  // the ChildJob called exit()
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(ChildJob, KillStopsAJobThatIgnoresSigintWithinTheTimeout) {
  Loop loop;
  ChildJob jobs({.exec_path = kJobHost}, loop);
  Outcome o;
  auto task = jobs.exec("test/stubborn", {}, {.callback = record(o)});
  auto start = std::chrono::steady_clock::now();
  task->on("ready", [&](const js::Value&) {
    start = std::chrono::steady_clock::now();
    task->kill(200ms);
  });
  std::string signal;
  task->on_exit([&](auto, std::optional<int> sig) { signal = sig ? signal_name(*sig) : "none"; });
  cptest::run_with_watchdog(loop);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(o.error);
#ifdef _WIN32
  // Windows has no gentle SIGINT: Node's kill('SIGINT') terminates the process there, so the
  // ladder's first step already ends it, whatever the job does about SIGINT.
  EXPECT_EQ(signal, "SIGINT");
  EXPECT_LT(took, 200ms);
  EXPECT_NE(o.error->find("signal SIGINT"), std::string::npos) << *o.error;
#else
  EXPECT_EQ(signal, "SIGKILL");  // SIGINT was ignored: the ladder's second step
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 3s);
  EXPECT_NE(o.error->find("signal SIGKILL"), std::string::npos) << *o.error;
#endif
}

TEST(ChildJob, AJobThatThrowsReportsItsMessage) {
  Loop loop;
  ChildJob jobs({.exec_path = kJobHost}, loop);
  Outcome o;
  auto task = jobs.exec("test/throw", {}, {.callback = record(o)});
  std::string error_event;
  task->on("error", [&](const js::Value& e) { error_event = e.find("message")->as_string(); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(error_event, "boom from the job");
  EXPECT_EQ(o.error, "boom from the job");
  EXPECT_EQ(task->process().exit_code(), 1);
}

TEST(ChildJob, ChildrenExitAfterExitAndLeaveNoZombie) {
  Loop loop;
  ChildJob jobs({.exec_path = kJobHost}, loop);
  std::vector<Outcome> outcomes(10);
  for (auto& o : outcomes)
    jobs.exec("test/echo", js::Value::object({{"n", 1}}), {.callback = record(o)});
  cptest::run_with_watchdog(loop);
  for (auto& o : outcomes) {
    EXPECT_FALSE(o.error);
    EXPECT_EQ(o.result.find("params")->find("n")->as_number(), 1);
  }
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(ChildJob, PerJobTimeoutFailsAndStopsTheProcess) {
  Loop loop;
  ChildJob jobs({.exec_path = kJobHost}, loop);
  Outcome o;
  jobs.exec("test/slow", js::Value::object({{"ms", 10000}}),
            {.timeout = 100ms, .callback = record(o)});
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(o.error, "job timed out after 100 ms");
}

TEST(ChildJob, CancellationFailsTheJob) {
  Loop loop;
  ChildJob jobs({.exec_path = kJobHost}, loop);
  AbortController controller;
  Outcome o;
  jobs.exec("test/slow", js::Value::object({{"ms", 10000}}),
            {.cancellation = controller.signal(), .callback = record(o)});
  loop.set_timeout(50ms, [&] { controller.abort(); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.error, "job cancelled");
}

TEST(Pool, CreateGivesLivePids) {
  Loop loop;
  {
    ChildPoolJob pool({.exec_path = kJobHost}, loop);
    pool.create(3);
    auto pids = pool.get_pids();
    ASSERT_EQ(pids.size(), 3u);
    for (int pid : pids)
      EXPECT_TRUE(cptest::process_alive(pid));
    EXPECT_EQ(pool.get_child_by_pid(pids[1])->pid(), pids[1]);
    pool.create(10);  // never beyond max (6)
    EXPECT_EQ(pool.size(), 6u);
  }
  cptest::run_with_watchdog(loop);  // the destroyed pool's workers are stopped and reaped
  EXPECT_EQ(cptest::zombie_children(), 0);
}

// Runs `count` echo jobs one after the other (each waits for the previous, so busy counts do
// not interfere) and counts which pid served each.
std::map<int, int> distribution(ChildPoolJob& pool, Loop& loop, int count,
                                std::vector<int>* order = nullptr) {
  std::map<int, int> served;
  int done = 0;
  std::function<void()> next = [&] {
    pool.run("test/echo", {},
             {.callback = [&](const std::optional<std::string>& e, const js::Value& r) {
               EXPECT_FALSE(e);
               int pid = static_cast<int>(r.find("pid")->as_number());
               ++served[pid];
               if (order) order->push_back(pid);
               if (++done < count) next();
             }});
  };
  next();
  cptest::run_until(
      loop, [&] { return done == count; }, 60s);
  EXPECT_EQ(done, count);
  return served;
}

TEST(Pool, PollingDistributes300JobsExactlyRoundRobin) {
  Loop loop;
  ChildPoolJob pool({.algorithm = Algorithm::kPolling, .exec_path = kJobHost}, loop);
  pool.create(3);
  std::vector<int> order;
  auto served = distribution(pool, loop, 300, &order);
  auto pids = pool.get_pids();
  for (int pid : pids)
    EXPECT_EQ(served[pid], 100);
  for (std::size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(order[i], pids[i % 3]) << i;
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, WeightsPollingDistributesExactlyInProportion) {
  Loop loop;
  ChildPoolJob pool(
      {.algorithm = Algorithm::kWeightsPolling, .weights = {1, 2, 3}, .exec_path = kJobHost}, loop);
  pool.create(3);
  auto served = distribution(pool, loop, 300);
  auto pids = pool.get_pids();
  EXPECT_EQ(served[pids[0]], 50);
  EXPECT_EQ(served[pids[1]], 100);
  EXPECT_EQ(served[pids[2]], 150);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, WeightsDistributesInProportion) {
  Loop loop;
  ChildPoolJob pool({.algorithm = Algorithm::kWeights, .weights = {1, 2, 3}, .exec_path = kJobHost},
                    loop);
  pool.create(3);
  auto served = distribution(pool, loop, 600);
  auto pids = pool.get_pids();
  // Weighted random: 100/200/300 expected; 5 standard deviations of slack.
  EXPECT_NEAR(served[pids[0]], 100, 50);
  EXPECT_NEAR(served[pids[1]], 200, 60);
  EXPECT_NEAR(served[pids[2]], 300, 65);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, SpecifyPicksTheNamedWorker) {
  Loop loop;
  ChildPoolJob pool({.algorithm = Algorithm::kSpecify, .exec_path = kJobHost}, loop);
  pool.create(3);
  int wanted = pool.get_pids()[2];
  Outcome o;
  auto w = pool.run("test/echo", {}, {.specify = wanted, .callback = record(o)});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->pid(), wanted);
  cptest::run_until(loop, [&] { return o.calls == 1; });
  EXPECT_EQ(o.result.find("pid")->as_number(), wanted);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, MinimumConnectionPicksTheLeastBusy) {
  Loop loop;
  ChildPoolJob pool(
      {.algorithm = Algorithm::kMinimumConnection, .max_jobs_per_worker = 4, .exec_path = kJobHost},
      loop);
  pool.create(3);
  auto pids = pool.get_pids();
  // Load the first two workers; the next job must go to the idle third.
  pool.run("test/slow", js::Value::object({{"ms", 300}}), {.specify = {}});
  pool.run("test/slow", js::Value::object({{"ms", 300}}));
  auto w0 = pool.get_child_by_pid(pids[0]);
  auto w1 = pool.get_child_by_pid(pids[1]);
  EXPECT_EQ(
      w0->running_jobs() + w1->running_jobs() + pool.get_child_by_pid(pids[2])->running_jobs(), 2u);
  Outcome third_done;
  auto third = pool.run("test/echo", {}, {.callback = record(third_done)});
  ASSERT_TRUE(third);
  EXPECT_EQ(third->running_jobs(), 1u);  // it was idle before this job
  EXPECT_NE(third, w0->running_jobs() ? w0 : w1);
  cptest::run_until(loop, [&] { return third_done.calls == 1; });
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, ABoundIdAlwaysReachesTheSameWorker) {
  Loop loop;
  ChildPoolJob pool({.algorithm = Algorithm::kPolling, .exec_path = kJobHost}, loop);
  pool.create(3);
  auto bound = pool.get_bound_child("user-42");
  ASSERT_TRUE(bound);
  std::set<int> served;
  int done = 0;
  for (int i = 0; i < 20; ++i)
    pool.run("test/echo", {},
             {.bound_id = "user-42", .callback = [&](const auto&, const js::Value& r) {
                served.insert(static_cast<int>(r.find("pid")->as_number()));
                ++done;
              }});
  cptest::run_until(loop, [&] { return done == 20; });
  EXPECT_EQ(done, 20);
  EXPECT_EQ(served, std::set<int>{*bound->pid()});
  EXPECT_EQ(pool.get_bound_child("user-42"), bound);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, ACrashedWorkerIsReplacedAndItsJobFailsClearly) {
  Loop loop;
  ChildPoolJob pool({.min = 2, .exec_path = kJobHost}, loop);
  pool.create(2);
  auto before = pool.get_pids();
  Outcome crashed;
  auto victim = pool.run("test/crash", {}, {.callback = record(crashed)});
  ASSERT_TRUE(victim);
  int victim_pid = *victim->pid();
  cptest::run_until(loop, [&] { return crashed.calls == 1 && pool.size() == 2; });
  ASSERT_TRUE(crashed.error);
  EXPECT_NE(crashed.error->find("exited (" + cptest::kAbortedExit + ") while running the job"),
            std::string::npos)
      << *crashed.error;
  auto after = pool.get_pids();
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(std::count(after.begin(), after.end(), victim_pid), 0);
  // The replacement works.
  Outcome ok;
  pool.run("test/echo", {}, {.callback = record(ok)});
  pool.run("test/echo", {}, {.callback = record(ok)});
  cptest::run_until(loop, [&] { return ok.calls == 2; });
  EXPECT_EQ(ok.calls, 2);
  EXPECT_FALSE(ok.error);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, AWorkerSurvivesAThrowingJob) {
  Loop loop;
  ChildPoolJob pool({.exec_path = kJobHost}, loop);
  pool.create(1);
  int pid = pool.get_pids()[0];
  Outcome thrown, after;
  pool.run("test/throw", {}, {.callback = record(thrown)});
  pool.run("test/echo", {}, {.callback = record(after)});
  cptest::run_until(loop, [&] { return after.calls == 1; });
  EXPECT_EQ(thrown.error, "boom from the job");
  EXPECT_FALSE(after.error);
  EXPECT_EQ(after.result.find("pid")->as_number(), pid);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, QueueIsBoundedWithAClearError) {
  Loop loop;
  ChildPoolJob pool({.max_jobs_per_worker = 1, .max_queued = 2, .exec_path = kJobHost}, loop);
  pool.create(1);
  std::vector<Outcome> o(4);
  auto slow = js::Value::object({{"ms", 100}});
  EXPECT_TRUE(pool.run("test/slow", slow, {.callback = record(o[0])}));   // runs
  EXPECT_FALSE(pool.run("test/slow", slow, {.callback = record(o[1])}));  // queued
  EXPECT_FALSE(pool.run("test/slow", slow, {.callback = record(o[2])}));  // queued
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_FALSE(pool.run("test/slow", slow, {.callback = record(o[3])}));  // refused
  cptest::run_until(loop, [&] { return o[0].calls + o[1].calls + o[2].calls + o[3].calls == 4; });
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(o[i].error) << i;
  ASSERT_TRUE(o[3].error);
  EXPECT_EQ(o[3].error->rfind("ERR_JOB_QUEUE_FULL", 0), 0u) << *o[3].error;
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, KillAllParallelAndSequence) {
  for (KillMode mode : {KillMode::kParallel, KillMode::kSequence}) {
    Loop loop;
    ChildPoolJob pool({.exec_path = kJobHost}, loop);
    pool.create(3);
    auto pids = pool.get_pids();
    std::vector<int> exit_order;
    for (int pid : pids)
      pool.get_child_by_pid(pid)->on_exit(
          [&exit_order, pid](auto, auto) { exit_order.push_back(pid); });
    bool done = false;
    pool.kill_all(mode, [&] { done = true; });
    cptest::run_with_watchdog(loop, 20s);
    EXPECT_TRUE(done);
    EXPECT_EQ(pool.size(), 0u);
    EXPECT_EQ(exit_order.size(), 3u);
    if (mode == KillMode::kSequence) {
      EXPECT_EQ(exit_order, pids);  // one after the other
    }
    for (int pid : pids)
      EXPECT_FALSE(cptest::process_alive(pid));
    EXPECT_EQ(cptest::zombie_children(), 0);
  }
}

TEST(Pool, CallFuncReachesTheResidentInstance) {
  Loop loop;
  ChildPoolJob pool({.exec_path = kJobHost}, loop);
  pool.create(1);
  auto worker = pool.get_child_by_pid(pool.get_pids()[0]);
  std::vector<double> totals;
  std::optional<std::string> missing;
  for (int n : {5, 7, 30})
    worker->call_func("test/counter", "add", {n}, [&](const auto& e, const js::Value& r) {
      EXPECT_FALSE(e);
      totals.push_back(r.as_number());
    });
  bool answered = false;
  worker->call_func("test/counter", "nope", {}, [&](const auto& e, const auto&) {
    missing = e;
    answered = true;
  });
  cptest::run_until(loop, [&] { return answered; });
  EXPECT_EQ(totals, (std::vector<double>{5, 12, 42}));
  EXPECT_EQ(missing, "this job has no function 'nope'");
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

// A job host path that can be made to exist (a copy of the real host) or not, to make spawning
// fail and then work again. It vanishes by a rename, which Windows allows for a running program.
class HostLink {
 public:
  HostLink()
      : dir_(std::filesystem::temp_directory_path() /
             ("cp-jobs-" + std::to_string(cptest::current_pid()))) {
    std::filesystem::create_directories(dir_);
    std::filesystem::remove(path());
  }
  ~HostLink() {
    std::error_code ignored;  // a program still closing may hold it a moment on Windows
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string path() const { return (dir_ / ("host" + cptest::kExeSuffix)).string(); }
  void appear() const {
    if (std::filesystem::exists(hidden())) {
      std::filesystem::rename(hidden(), path());
    } else {
      std::filesystem::copy_file(kJobHost, path());
    }
  }
  void vanish() const { std::filesystem::rename(path(), hidden()); }

 private:
  std::filesystem::path hidden() const { return dir_ / ("gone" + cptest::kExeSuffix); }
  std::filesystem::path dir_;
};

TEST(ChildJob, AJobWhoseProcessCannotStartFailsOnceWithTheReason) {
  HostLink host;  // absent
  Loop loop;
  cptest::warm_up();
  auto before = cptest::open_handles();
  ChildJob jobs({.exec_path = host.path()}, loop);
  Outcome o;
  auto task = jobs.exec("test/tick", tick_params(1, 3, 10), {.callback = record(o)});
  EXPECT_FALSE(task->pid());
  EXPECT_FALSE(task->alive());
  ASSERT_TRUE(task->start_error());
  EXPECT_EQ(o.calls, 0);  // settled from the loop, never inside exec()
  Outcome call;
  task->call_func("test/tick", "stats", {}, record(call));
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(o.calls, 1);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(*o.error, "job process could not start: spawn " + host.path() + " ENOENT");
  EXPECT_EQ(call.calls, 1);
  EXPECT_EQ(call.error, o.error);
  task.reset();
  EXPECT_EQ(cptest::open_handles(), before);
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Pool, WorkersThatCannotStartAreNotCountedAndJobsFailClearly) {
  HostLink host;  // absent
  Loop loop;
  ChildPoolJob pool({.min = 2, .exec_path = host.path(), .restart_attempts = 2}, loop);
  std::vector<std::string> reports;
  pool.on_error([&](const std::string& m) { reports.push_back(m); });
  pool.create(2);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_TRUE(pool.get_pids().empty());
  Outcome o;
  EXPECT_EQ(pool.run("test/echo", {}, {.callback = record(o)}), nullptr);
  cptest::run_with_watchdog(loop);  // returns: the retries are bounded
  EXPECT_EQ(o.calls, 1);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(*o.error,
            "ERR_JOB_NO_WORKERS: no worker could be started (job process could not "
            "start: spawn " +
                host.path() + " ENOENT)");
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.front().rfind("ERR_JOB_POOL_BELOW_MIN: job process could not start", 0), 0u)
      << reports.front();
  EXPECT_NE(reports.front().find("0 of min 2 workers running; retrying in"), std::string::npos)
      << reports.front();
  EXPECT_NE(reports.back().find("gave up after 2 retries"), std::string::npos) << reports.back();
  EXPECT_EQ(cptest::zombie_children(), 0);

  // Spawning works again: the next run() starts the workers and the job runs.
  host.appear();
  Outcome ok;
  EXPECT_NE(pool.run("test/echo", {}, {.callback = record(ok)}), nullptr);
  EXPECT_EQ(pool.size(), 2u);
  cptest::run_until(loop, [&] { return ok.calls == 1; });
  EXPECT_FALSE(ok.error);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
}

TEST(Pool, AReplacementThatCannotStartIsRetriedUntilItCan) {
  HostLink host;
  host.appear();
  Loop loop;
  ChildPoolJob pool({.min = 2, .exec_path = host.path(), .restart_backoff = 20ms}, loop);
  pool.create(2);
  ASSERT_EQ(pool.size(), 2u);
  std::vector<std::string> reports;
  pool.on_error([&](const std::string& m) {
    reports.push_back(m);
    if (reports.size() == 2) host.appear();  // after two failed attempts, spawning works again
  });
  host.vanish();
  int victim = pool.get_pids().front();
  pool.get_child_by_pid(victim)->process().kill("SIGKILL");
  cptest::run_until(loop, [&] { return reports.size() >= 2 && pool.size() == 2; });
  EXPECT_EQ(pool.size(), 2u);
  auto pids = pool.get_pids();
  EXPECT_EQ(std::count(pids.begin(), pids.end(), victim), 0);
  ASSERT_GE(reports.size(), 2u);
  EXPECT_NE(reports[0].find("1 of min 2 workers running; retrying in 20 ms"), std::string::npos)
      << reports[0];
  EXPECT_NE(reports[1].find("retrying in 40 ms"), std::string::npos) << reports[1];
  Outcome ok;
  pool.run("test/echo", {}, {.callback = record(ok)});
  cptest::run_until(loop, [&] { return ok.calls == 1; });
  EXPECT_FALSE(ok.error);
  pool.kill_all();
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(cptest::zombie_children(), 0);
}

TEST(Registry, JobProcessesAreKilledWhenTheApplicationExits) {
  auto r = spawn_sync(kJobHost, {"parent-exits"}, {.timeout = 20s});
  ASSERT_EQ(r.status, 0) << r.std_err;
  int pid = std::atoi(r.std_out.c_str());
  ASSERT_GT(pid, 0);
  // The job ignored SIGINT and was never stopped by its parent: it must be gone (or a zombie
  // about to be reaped by init) now that the parent has exited.
  EXPECT_TRUE(cptest::exits_within(pid, 5000ms))
      << "job process " << pid << " outlived its application";
}

TEST(LoadBalancer, DeterministicAlgorithms) {
  std::vector<LoadBalancer::Worker> w = {{101, 1, 3}, {102, 2, 1}, {103, 1, 1}};
  LoadBalancer polling(Algorithm::kPolling);
  EXPECT_EQ(polling.pick(w), 0u);
  EXPECT_EQ(polling.pick(w), 1u);
  EXPECT_EQ(polling.pick(w), 2u);
  EXPECT_EQ(polling.pick(w), 0u);
  LoadBalancer specify(Algorithm::kSpecify);
  EXPECT_EQ(specify.pick(w, 103), 2u);
  EXPECT_THROW(specify.pick(w, 999), std::invalid_argument);
  LoadBalancer least(Algorithm::kMinimumConnection);
  EXPECT_EQ(least.pick(w), 1u);  // 1 connection, first of the ties
  LoadBalancer weighted_least(Algorithm::kWeightsMinimumConnection);
  EXPECT_EQ(weighted_least.pick(w), 1u);  // 1/2 per unit of weight beats 1/1
  LoadBalancer smooth(Algorithm::kWeightsPolling);
  std::vector<std::size_t> seq;
  for (int i = 0; i < 8; ++i)
    seq.push_back(smooth.pick(w));
  EXPECT_EQ(std::count(seq.begin(), seq.end(), 1u), 4);  // weight 2 of 4: half
  EXPECT_NE(seq[0], seq[1]);                             // spread out, not bunched
  LoadBalancer random(Algorithm::kRandom, 42), weights_random(Algorithm::kWeightsRandom, 42);
  std::map<std::size_t, int> r, wr;
  for (int i = 0; i < 4000; ++i) {
    ++r[random.pick(w)];
    ++wr[weights_random.pick(w)];
  }
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(r[i], 1333, 150);
  EXPECT_NEAR(wr[1], 2000, 200);
}

}  // namespace

// kill_all() with jobs still queued: each settles once, with a clear reason, and nothing restarts
// the pool behind the caller's back.
TEST(Pool, KillAllFailsQueuedJobsOnce) {
  Loop loop;
  ChildPoolJob pool({.min = 1, .exec_path = kJobHost}, loop);
  pool.create(1);
  Outcome running, queued1, queued2;
  pool.run("test/slow", js::Value::object({{"ms", 10000}}), {.callback = record(running)});
  pool.run("test/echo", {}, {.callback = record(queued1)});
  pool.run("test/echo", {}, {.callback = record(queued2)});
  EXPECT_EQ(pool.queued(), 2u);
  bool done = false;
  pool.kill_all(KillMode::kParallel, [&] { done = true; });
  cptest::run_until(loop, [&] { return done && running.calls == 1 && queued2.calls == 1; });
  for (Outcome* o : {&queued1, &queued2}) {
    EXPECT_EQ(o->calls, 1);
    ASSERT_TRUE(o->error);
    EXPECT_EQ(o->error->rfind("ERR_JOB_POOL_STOPPED", 0), 0u) << *o->error;
  }
  EXPECT_EQ(running.calls, 1);
  EXPECT_TRUE(running.error);
  EXPECT_EQ(pool.size(), 0u);
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(cptest::zombie_children(), 0);
}
