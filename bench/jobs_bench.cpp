// A job round trip: through a warm ChildPoolJob worker, and through ChildJob's process per job.
// This executable is also its own job host. The Node peer (ee-core's pattern: fork + send) is
// bench/node/jobs_bench.js, run in the same session; docs/benchmarks.md has both.
#include <benchmark/benchmark.h>

#include <childproc/childproc.hpp>

namespace json = childproc::json;

namespace {

struct EchoJob : childproc::jobs::Job {
  void handle(const json::Value& params) override {
    finish(params);
    if (is_child_job()) exit(0);
  }
};
CHILDPROC_JOB("bench/echo", EchoJob);

void run_job(childproc::Loop& loop,
             const std::function<void(childproc::jobs::JobCallback)>& start) {
  bool done = false;
  start([&](const std::optional<std::string>& error, const json::Value&) {
    if (error) std::abort();
    done = true;
  });
  while (!done)
    loop.run_once();
}

void BM_pool_job_round_trip(benchmark::State& state) {
  childproc::Loop loop;
  childproc::jobs::ChildPoolJob pool({}, loop);
  pool.create(1);
  json::Value params = json::Value::object({{"n", 1}});
  for (auto _ : state)
    run_job(loop, [&](childproc::jobs::JobCallback cb) {
      pool.run("bench/echo", params, {.callback = std::move(cb)});
    });
  pool.kill_all();
  loop.run();
}

void BM_childjob_process_per_job(benchmark::State& state) {
  childproc::Loop loop;
  childproc::jobs::ChildJob jobs({}, loop);
  json::Value params = json::Value::object({{"n", 1}});
  for (auto _ : state) {
    run_job(loop, [&](childproc::jobs::JobCallback cb) {
      jobs.exec("bench/echo", params, {.callback = std::move(cb)});
    });
    loop.run();  // until the process has exited and closed
  }
}

}  // namespace

BENCHMARK(BM_pool_job_round_trip)->UseRealTime();
BENCHMARK(BM_childjob_process_per_job)->UseRealTime();

int main(int argc, char** argv) {
  if (auto code = childproc::jobs::run_if_job_process(argc, argv)) return *code;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
