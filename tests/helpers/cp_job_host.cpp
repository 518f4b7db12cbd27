// The executable job tests fork: it registers the test jobs and enters the job runtime.
#ifdef _WIN32
#include <process.h>
#define getpid _getpid
#else
#include <unistd.h>
#endif
#include <signal.h>

#include <childproc/childproc.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace json = childproc::json;
using childproc::jobs::Job;

namespace {

// Sends "progress" {jobId, number} `count` times, `interval_ms` apart, then finishes (and, as a
// ChildJob, exits).
struct TickJob : Job {
  int count = 0, sent = 0;
  json::Value job_id;
  void handle(const json::Value& params) override {
    count = static_cast<int>(params.find("count")->as_number());
    job_id = *params.find("jobId");
    tick(static_cast<int>(params.find("interval_ms")->as_number()));
  }
  void tick(int interval_ms) {
    loop().set_timeout(std::chrono::milliseconds(interval_ms), [this, interval_ms] {
      send("progress", json::Value::object({{"jobId", job_id}, {"number", ++sent}}));
      if (sent < count) return tick(interval_ms);
      finish(json::Value::object({{"ticks", sent}}));
      if (is_child_job()) exit(0);
    });
  }
};
CHILDPROC_JOB("test/tick", TickJob);

// The electron-egg seed's TimerJob (electron/jobs/example/timer.js), in C++, with its pace as
// params so tests run it fast: "job-timer-progress" {jobId, number} every interval_ms with number
// 0, 1, ... count-1, then the reset {jobId, number: 0, pid: 0}; a ChildJob then exits, a pool
// worker stays for the next job. Functions for call/callFunc: "ping" (a "job-ping" event with the
// arguments and our pid), "pid".
struct TimerJob : Job {
  json::Value job_id;
  int number = 0, count = 10, interval_ms = 1000;
  void handle(const json::Value& params) override {
    job_id = params.find("jobId") ? *params.find("jobId") : json::Value(0);
    if (const json::Value* c = params.find("count")) count = static_cast<int>(c->as_number());
    if (const json::Value* i = params.find("interval_ms"))
      interval_ms = static_cast<int>(i->as_number());
    tick();
  }
  void tick() {
    loop().set_timeout(std::chrono::milliseconds(interval_ms), [this] {
      if (number < count) {
        send("job-timer-progress", json::Value::object({{"jobId", job_id}, {"number", number++}}));
        return tick();
      }
      send("job-timer-progress",
           json::Value::object({{"jobId", job_id}, {"number", 0}, {"pid", 0}}));
      finish(json::Value::object({{"ticks", number}}));
      if (is_child_job()) exit(0);
    });
  }
  json::Value call(const std::string& func, const json::Array& params) override {
    int pid = static_cast<int>(getpid());
    if (func == "ping") {
      send("job-ping", json::Value::object({{"args", json::Value(params)}, {"pid", pid}}));
      return nullptr;
    }
    if (func == "pid") return pid;
    return Job::call(func, params);
  }
};
CHILDPROC_JOB("example/timer", TimerJob);

// Ignores SIGINT and never finishes: only SIGKILL ends it.
struct StubbornJob : Job {
  void handle(const json::Value&) override {
    signal(SIGINT, SIG_IGN);
    send("ready");
    loop().set_timeout(std::chrono::hours(1), [] {});
  }
};
CHILDPROC_JOB("test/stubborn", StubbornJob);

// Stuck in synchronous work (never back on its loop, so it never sees its parent go away) and
// deaf to SIGINT: only the exit-time registry's SIGKILL ends it early.
struct BlockingJob : Job {
  void handle(const json::Value&) override {
    signal(SIGINT, SIG_IGN);
    send("ready");
    std::this_thread::sleep_for(std::chrono::seconds(60));
  }
};
CHILDPROC_JOB("test/blocking", BlockingJob);

struct ThrowJob : Job {
  void handle(const json::Value&) override { throw std::runtime_error("boom from the job"); }
};
CHILDPROC_JOB("test/throw", ThrowJob);

// Answers at once with its pid and the params: the pool round trip.
struct EchoJob : Job {
  void handle(const json::Value& params) override {
    finish(json::Value::object({{"pid", static_cast<int>(getpid())}, {"params", params}}));
    if (is_child_job()) exit(0);
  }
};
CHILDPROC_JOB("test/echo", EchoJob);

// Finishes after params.ms, reporting its pid.
struct SlowJob : Job {
  void handle(const json::Value& params) override {
    auto ms = static_cast<int>(params.find("ms")->as_number());
    loop().set_timeout(std::chrono::milliseconds(ms), [this] {
      finish(json::Value::object({{"pid", static_cast<int>(getpid())}}));
    });
  }
};
CHILDPROC_JOB("test/slow", SlowJob);

// The worker dies while running it.
struct CrashJob : Job {
  void handle(const json::Value&) override { std::abort(); }
};
CHILDPROC_JOB("test/crash", CrashJob);

// A resident counter for call_func.
struct CounterJob : Job {
  double total = 0;
  void handle(const json::Value&) override { finish(total); }
  json::Value call(const std::string& func, const json::Array& params) override {
    if (func == "add") return total += params.at(0).as_number();
    if (func == "pid") return static_cast<int>(getpid());
    return Job::call(func, params);
  }
};
CHILDPROC_JOB("test/counter", CounterJob);

}  // namespace

int main(int argc, char** argv) {
  if (auto code = childproc::jobs::run_if_job_process(argc, argv)) return *code;
  if (argc > 1 && std::string(argv[1]) == "parent-exits") {
    // A parent that starts a job ignoring SIGINT, prints its pid, and returns from main without
    // stopping it: the exit-time registry must kill it.
    childproc::jobs::ChildJob jobs({.exec_path = std::string(argv[0])});
    auto task = jobs.exec("test/blocking");
    bool ready = false;
    task->on("ready", [&](const json::Value&) { ready = true; });
    while (!ready)
      childproc::default_loop().run_once();
    std::printf("%d\n", *task->pid());
    std::fflush(stdout);
    return 0;
  }
  return 2;
}
