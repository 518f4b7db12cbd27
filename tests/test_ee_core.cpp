// ee-core's job protocol, against ee-core itself (2.12.0 and 4.1.5 from the npm registry,
// installed by the ee_core.install_* tests), both ways: an unmodified ee-core ChildJob and
// ChildPoolJob, in node, drive the C++ job host (tests/helpers/cp_job_host) exactly as they drive
// their own Node job processes; childproc's ChildJob and ChildPoolJob drive ee-core's own Node job
// process.
#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
namespace js = childproc::json;

namespace {

#ifdef _WIN32
const std::string kJobHost = std::filesystem::absolute(CP_JOB_HOST).string();
const std::string kEeCoreDir = std::filesystem::absolute(CP_EE_CORE_DIR).string();
const std::string kEeCorePrefixes = std::filesystem::absolute(CP_EE_CORE_PREFIXES).string();
#else
const std::string kJobHost = CP_JOB_HOST;
const std::string kEeCoreDir = CP_EE_CORE_DIR;
const std::string kEeCorePrefixes = CP_EE_CORE_PREFIXES;
#endif

// Each test runs against each ee-core version; the parameter is the version ("v2", "v4" in names).
std::string version_name(const ::testing::TestParamInfo<std::string>& version) {
  std::string name = "v";
  name += version.param.front();
  return name;
}

class EeCore : public ::testing::TestWithParam<std::string> {
 protected:
  std::string prefix() const { return kEeCorePrefixes + GetParam(); }
  bool v4() const { return GetParam()[0] == '4'; }
};

INSTANTIATE_TEST_SUITE_P(Versions, EeCore, ::testing::Values("2.12.0", "4.1.5"), version_name);

// Runs one of tests/ee_core's parent scripts with ee-core pointed at `job_process`; its JSON.
js::Value run_ee_core_parent(const std::string& prefix, const std::string& script,
                             const std::string& job_process) {
  auto r = spawn_sync(cptest::kNode, {kEeCoreDir + "/" + script, prefix, job_process},
                      {.timeout = 90s, .max_buffer = 0});
  EXPECT_EQ(r.status, 0) << script << " with " << job_process << ":\n" << r.std_out << r.std_err;
  try {
    return js::parse(r.std_out);
  } catch (const js::ParseError& e) {
    ADD_FAILURE() << script << " printed no JSON: " << r.std_out << r.std_err;
    return {};
  }
}

TEST_P(EeCore, AnUnmodifiedChildJobRunsTheCppTimerJobAsItRunsItsOwnNodeJob) {
  // node itself as ee-core's execPath is the control: the C++ job process must look the same.
  for (const std::string& job_process : {cptest::kNode, kJobHost}) {
    SCOPED_TRACE(job_process);
    js::Value r = run_ee_core_parent(prefix(), "child_job_parent.js", job_process);
    ASSERT_TRUE(r.is_object());
    // Job 1: every progress event in order on task.emitter, the reset, then exit 0.
    EXPECT_EQ(js::stringify(*r.find("one")),
              R"({"events":[{"jobId":1,"number":0},{"jobId":1,"number":1},)"
              R"({"jobId":1,"number":2},{"jobId":1,"number":3},{"jobId":1,"number":4},)"
              R"({"jobId":1,"number":0,"pid":0}],"code":0,"signal":null})");
    // Job 2: task.kill() after its second event ends it at once with SIGINT (ee-core's ladder
    // never reaches SIGKILL: Node marks the child killed once SIGINT is sent).
    const js::Value& two = *r.find("two");
    EXPECT_EQ(two.find("signal")->as_string(), "SIGINT") << js::stringify(two);
    EXPECT_TRUE(two.find("code")->is_null());
    const js::Array& events = two.find("events")->as_array();
    ASSERT_GE(events.size(), 2u);
    EXPECT_LT(events.size(), 10u);  // a few more may have been on their way, not the 50 and reset
    EXPECT_EQ(js::stringify(events[1]), R"({"jobId":2,"number":1})");
    EXPECT_EQ(events.back().find("pid"), nullptr) << "job 2 ran to its end";
    EXPECT_EQ(r.find("pids_left")->as_number(), 0);  // ee-core saw both exits
  }
}

TEST_P(EeCore, AnUnmodifiedPoolRunsThreeHundredJobsAndCallFuncsOnThreeCppWorkers) {
  // (ee-core 2.x's own Node workers cannot do this: its child app calls instance[undefined] on
  // the second run of a job in one worker, and that job never runs.)
  js::Value r = run_ee_core_parent(prefix(), "pool_parent.js", kJobHost);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r.find("workers")->as_number(), 3);
  EXPECT_EQ(js::stringify(*r.find("served")), "[100,100,100]");  // its polling balancer
  EXPECT_EQ(r.find("resets")->as_number(), 300);
  EXPECT_EQ(r.find("pings")->as_number(), 300);
  EXPECT_EQ(r.find("misrouted")->as_number(), 0);  // each event reached its own task
}

// The other way round: childproc's ChildJob and ChildPoolJob run ee-core's own Node job process
// (its child app, under node) on the seed's Node TimerJob, in ee-core's messages.
class EeCoreNodeJobs : public EeCore {
 protected:
  void SetUp() override {
    // What ee-core's job processes read (see tests/ee_core/env.js), through our environment,
    // which they inherit; the cwd and logs go to a directory of this test's.
    home_ = std::filesystem::temp_directory_path() /
            ("cp-ee-core-" + std::to_string(cptest::current_pid()));
    std::filesystem::create_directories(home_);
    std::string app = kEeCoreDir + "/app";
    using Variables = std::vector<std::pair<const char*, std::string>>;
    Variables variables = v4() ? Variables{{"EE_ENV", "local"},
                                           {"EE_BASE_DIR", home_.string()},
                                           {"EE_ELECTRON_DIR", app + "/electron"}}
                               : Variables{{"EE_SERVER_ENV", "local"},
                                           {"EE_HOME", home_.string()},
                                           {"EE_BASE_DIR", app + "/electron"},
                                           {"EE_APP_USER_DATA", home_.string()}};
    variables.emplace_back("NODE_PATH", prefix() + "/node_modules");
    for (const auto& [name, value] : variables)
      cptest::set_env(name, value.c_str());
    ee_core_.app_js = prefix() + "/node_modules/ee-core/jobs/child/app.js";
    ee_core_.node = cptest::kNode;
    ee_core_.cwd = home_.string();
    timer_js_ = app + "/electron/jobs/example/timer.js";
  }
  void TearDown() override {
    std::error_code ignored;  // Windows: a log file may still be closing
    std::filesystem::remove_all(home_, ignored);
  }

  std::filesystem::path home_;
  jobs::EeCoreJobProcess ee_core_;
  std::string timer_js_;
};

INSTANTIATE_TEST_SUITE_P(Versions, EeCoreNodeJobs, ::testing::Values("2.12.0", "4.1.5"),
                         version_name);

TEST_P(EeCoreNodeJobs, ChildJobRunsTheSeedsNodeTimerJobAndKillEndsOne) {
  Loop loop;
  jobs::ChildJob jobs({.ee_core = ee_core_}, loop);
  std::vector<std::string> one_events, two_events;
  std::optional<std::string> one_error = "unsettled", two_error = "unsettled";
  auto one =
      jobs.exec(timer_js_, js::Value::object({{"jobId", 1}, {"interval_ms", 20}, {"count", 5}}),
                {.callback = [&](const auto& e, const js::Value&) { one_error = e; }});
  auto two =
      jobs.exec(timer_js_, js::Value::object({{"jobId", 2}, {"interval_ms", 20}, {"count", 50}}),
                {.callback = [&](const auto& e, const js::Value&) { two_error = e; }});
  one->on("job-timer-progress",
          [&](const js::Value& d) { one_events.push_back(js::stringify(d)); });
  two->on("job-timer-progress", [&](const js::Value& d) {
    two_events.push_back(js::stringify(d));
    if (two_events.size() == 2) two->kill();  // SIGINT; SIGKILL after 1 s if it still runs
  });
  std::optional<int> one_code, two_signal;
  one->on_exit([&](auto code, auto) { one_code = code; });
  two->on_exit([&](auto, auto signal) { two_signal = signal; });
  cptest::run_with_watchdog(loop, 60s);
  EXPECT_EQ(one_events, (std::vector<std::string>{
                            R"({"jobId":1,"number":0})", R"({"jobId":1,"number":1})",
                            R"({"jobId":1,"number":2})", R"({"jobId":1,"number":3})",
                            R"({"jobId":1,"number":4})", R"({"jobId":1,"number":0,"pid":0})"}));
  EXPECT_EQ(one_code, 0);
  EXPECT_EQ(one_error, std::nullopt);  // its process exited 0: the job succeeded
  ASSERT_GE(two_events.size(), 2u);
  EXPECT_LT(two_events.size(), 10u);  // a few more may have been on their way, not the 50
  EXPECT_EQ(two_events.back().find("pid"), std::string::npos) << "job 2 ran to its end";
  ASSERT_TRUE(two_signal);
  EXPECT_EQ(signal_name(*two_signal), "SIGINT");  // Node's default for SIGINT: it ends at once
  ASSERT_TRUE(two_error);
  EXPECT_NE(two_error->find("exited (signal SIGINT)"), std::string::npos) << *two_error;
}

TEST_P(EeCoreNodeJobs, PoolRunsNodeJobsAndCallFuncReachesTheirInstances) {
  Loop loop;
  jobs::ChildPoolJob pool({.ee_core = ee_core_}, loop);
  pool.create(3);
  ASSERT_EQ(pool.size(), 3u);
  std::map<int, std::vector<std::string>> seen;  // worker pid -> events its emitter got
  for (int pid : pool.get_pids()) {
    auto worker = pool.get_child_by_pid(pid);
    worker->on("job-timer-progress", [&seen, pid](const js::Value& d) {
      seen[pid].push_back("progress " + js::stringify(d));
    });
    worker->on("job-ping", [&seen, pid](const js::Value& d) {
      seen[pid].push_back("ping " + js::stringify(*d.find("args")) +
                          (d.find("pid")->as_number() == pid ? " from itself" : " from elsewhere"));
    });
  }
  // One job per worker: ee-core 2.x's own child app runs a jobPath once per process (a second
  // run calls instance[undefined]).
  std::map<int, int> job_of;  // worker pid -> jobId
  for (int job_id = 0; job_id < 3; ++job_id) {
    auto worker = pool.run(
        timer_js_, js::Value::object({{"jobId", job_id}, {"interval_ms", 1}, {"count", 1}}));
    ASSERT_TRUE(worker);
    job_of[*worker->pid()] = job_id;
    worker->call_func(timer_js_, "ping", {job_id, "x"});
  }
  cptest::run_until(loop, [&] {
    std::size_t n = 0;
    for (auto& [pid, events] : seen)
      n += events.size();
    return n == 9;
  });
  ASSERT_EQ(job_of.size(), 3u);  // the balancer spread them over the three workers
  for (auto& [pid, job_id] : job_of) {
    std::string id = std::to_string(job_id);
    std::vector<std::string> events = seen[pid];
    std::sort(events.begin(), events.end());  // the ping may come before the timer's first tick
    EXPECT_EQ(events,
              (std::vector<std::string>{"ping [" + id + ",\"x\"] from itself",
                                        "progress {\"jobId\":" + id + ",\"number\":0,\"pid\":0}",
                                        "progress {\"jobId\":" + id + ",\"number\":0}"}));
  }
  bool stopped = false;
  pool.kill_all(jobs::KillMode::kParallel, [&] { stopped = true; });
  cptest::run_until(loop, [&] { return stopped; });
}

}  // namespace
