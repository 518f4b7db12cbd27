// ee-core's job protocol, against ee-core itself (2.12.0 from the npm registry, installed by the
// ee_core.install test): an unmodified ee-core ChildJob and ChildPoolJob, in node, drive the C++
// job host (tests/helpers/cp_job_host) exactly as they drive their own Node job processes.
#include <filesystem>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
namespace js = childproc::json;

namespace {

#ifdef _WIN32
const std::string kJobHost = std::filesystem::absolute(CP_JOB_HOST).string();
const std::string kEeCoreDir = std::filesystem::absolute(CP_EE_CORE_DIR).string();
const std::string kEeCorePrefix = std::filesystem::absolute(CP_EE_CORE_PREFIX).string();
#else
const std::string kJobHost = CP_JOB_HOST;
const std::string kEeCoreDir = CP_EE_CORE_DIR;
const std::string kEeCorePrefix = CP_EE_CORE_PREFIX;
#endif

// Runs one of tests/ee_core's parent scripts with ee-core pointed at `job_process`; its JSON.
js::Value run_ee_core_parent(const std::string& script, const std::string& job_process) {
  auto r = spawn_sync(cptest::kNode, {kEeCoreDir + "/" + script, kEeCorePrefix, job_process},
                      {.timeout = 90s, .max_buffer = 0});
  EXPECT_EQ(r.status, 0) << script << " with " << job_process << ":\n" << r.std_out << r.std_err;
  try {
    return js::parse(r.std_out);
  } catch (const js::ParseError& e) {
    ADD_FAILURE() << script << " printed no JSON: " << r.std_out << r.std_err;
    return {};
  }
}

TEST(EeCore, AnUnmodifiedChildJobRunsTheCppTimerJobAsItRunsItsOwnNodeJob) {
  // node itself as ee-core's execPath is the control: the C++ job process must look the same.
  for (const std::string& job_process : {cptest::kNode, kJobHost}) {
    SCOPED_TRACE(job_process);
    js::Value r = run_ee_core_parent("child_job_parent.js", job_process);
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
    EXPECT_LE(events.size(), 3u);  // one more may have been on its way
    EXPECT_EQ(js::stringify(events[1]), R"({"jobId":2,"number":1})");
    EXPECT_EQ(r.find("pids_left")->as_number(), 0);  // ee-core saw both exits
  }
}

TEST(EeCore, AnUnmodifiedPoolRunsThreeHundredJobsAndCallFuncsOnThreeCppWorkers) {
  // (ee-core's own Node workers cannot do this: its child app calls instance[undefined] on the
  // second run of a job in one worker, and that job never runs.)
  js::Value r = run_ee_core_parent("pool_parent.js", kJobHost);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r.find("workers")->as_number(), 3);
  EXPECT_EQ(js::stringify(*r.find("served")), "[100,100,100]");  // its polling balancer
  EXPECT_EQ(r.find("resets")->as_number(), 300);
  EXPECT_EQ(r.find("pings")->as_number(), 300);
  EXPECT_EQ(r.find("misrouted")->as_number(), 0);  // each event reached its own task
}

}  // namespace
