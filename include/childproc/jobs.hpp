// Jobs: background work in child processes with progress events — ee-core's ChildJob,
// ChildPoolJob and LoadBalancer, in C++.
//
// Child side (in the same executable):
//   struct TimerJob : childproc::jobs::Job {
//     void handle(const json::Value& params) override { send("job-timer-progress", ...); ... }
//   };
//   CHILDPROC_JOB("example/timer", TimerJob);
//   int main(int argc, char** argv) {
//     if (auto code = childproc::jobs::run_if_job_process(argc, argv)) return *code;
//     ...  // the parent program
//   }
// Parent side:
//   childproc::jobs::ChildJob jobs;
//   auto task = jobs.exec("example/timer", json::Value::object({{"jobId", 1}}));
//   task->on("job-timer-progress", [](const json::Value& data) { ... });
//   task->kill();  // SIGINT, then SIGKILL after 1 s
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "childproc/child_process.hpp"
#include "childproc/event.hpp"
#include "childproc/json.hpp"
#include "childproc/loop.hpp"
#include "childproc/options.hpp"

namespace childproc::jobs {

// ---- Child side --------------------------------------------------------------------------

class Runtime;

class Job {
 public:
  virtual ~Job() = default;

  // Runs the job. Return when done (after finish()/exit()), or keep working on loop() and call
  // finish() or exit() later. An exception reaches the parent as an 'error' with its message.
  virtual void handle(const json::Value& params) = 0;
  // call_func(job, name, params) lands here, on the job's resident instance. Default: error.
  virtual json::Value call(const std::string& func_name, const json::Array& params);

  // Emits `event` with `data` on the parent's JobProcess (ee-core's childMessage.send).
  void send(const std::string& event, const json::Value& data = {});
  // Beyond ee-core: ends this run with a result the parent can await; the worker is free again.
  void finish(const json::Value& result = {});
  // Ends this process (a ChildJob must call it when done; ee-core's Ps.exit()).
  void exit(int code = 0);
  bool is_child_job() const;  // ee-core's Ps.isChildJob()
  bool is_pool_job() const;
  Loop& loop();
  const std::string& job_id() const { return job_id_; }

 private:
  friend class Runtime;
  Runtime* runtime_ = nullptr;
  std::string job_id_;
  bool finished_ = false;
};

using JobFactory = std::function<std::unique_ptr<Job>()>;
bool register_job(const std::string& name, JobFactory factory);

#define CHILDPROC_JOB_CONCAT2(a, b) a##b
#define CHILDPROC_JOB_CONCAT(a, b) CHILDPROC_JOB_CONCAT2(a, b)
// Registers Type under `name` at static-initialisation time.
#define CHILDPROC_JOB(name, Type)                                               \
  static const bool CHILDPROC_JOB_CONCAT(childproc_job_registered_, __LINE__) = \
      ::childproc::jobs::register_job(name, [] { return std::make_unique<Type>(); })

// The job runtime's entry: if this process was started as a job process (by ChildJob or
// ChildPoolJob, or by ee-core's as their execPath: `<ee-core>/jobs/child/app.js '{"type":...}'`,
// then spoken to in ee-core's messages), runs jobs until told to stop and returns the exit code;
// otherwise nullopt.
std::optional<int> run_if_job_process(int argc, char** argv);

// ---- Parent side --------------------------------------------------------------------------

// ee-core's own job process: its Node child app (<ee-core>/jobs/child/app.js) run by node. Given
// to ChildJob or ChildPoolJob, their job processes are these, spoken to in ee-core's messages, so
// a C++ program runs an ee-core project's existing Node jobs (job paths are then the jobs' .js
// files, absolute). ee-core's messages report no end of a job: a ChildJob's job settles when its
// process exits (exit code 0: success, with a null result), a pool's and call_func's once sent.
struct EeCoreJobProcess {
  std::string app_js;         // <node_modules>/ee-core/jobs/child/app.js
  std::string node = "node";  // what runs it (ee-core's execPath)
  // The job processes' environment (nullopt: ours) and cwd: ee-core reads its EE_* variables
  // (EE_SERVER_ENV, EE_HOME, EE_BASE_DIR... see docs/jobs.md), and its jobs require ee-core.
  std::optional<Env> env{};
  std::optional<std::string> cwd{};
};

// A job's outcome: an error message, or the value passed to finish() (null if none).
using JobCallback =
    std::function<void(const std::optional<std::string>& error, const json::Value& result)>;

struct RunOptions {
  std::chrono::milliseconds timeout{0};       // > 0: the job fails after this long
  std::optional<AbortSignal> cancellation{};  // abort: the job fails (its process is killed)
  JobCallback callback{};                     // the job's outcome
};

class JobProcess : public std::enable_shared_from_this<JobProcess> {
 public:
  ~JobProcess();

  std::optional<int> pid() const { return child_->pid(); }
  bool alive() const { return !exited_; }
  // Why the process could not be started ("job process could not start: spawn <path> ENOENT");
  // every job given to it then fails with this message. nullopt once it started.
  const std::optional<std::string>& start_error() const { return start_error_; }
  // Jobs sent to this process that have not finished.
  std::size_t running_jobs() const { return pending_.size(); }

  // ee-core's task.emitter.on(event, fn): the job's named events.
  ListenerId on(const std::string& event, std::function<void(const json::Value& data)> fn);
  void off(ListenerId id);
  ListenerId on_exit(ChildProcess::ExitListener fn) { return child_->on_exit(std::move(fn)); }
  ListenerId on_error(std::function<void(const Error&)> fn) {
    return child_->on_error(std::move(fn));
  }

  // SIGINT, then SIGKILL if it is still running after `timeout` (ee-core's kill ladder).
  void kill(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  // Calls func_name(params) on the job's resident instance in this process.
  void call_func(const std::string& job_path, const std::string& func_name, json::Array params,
                 JobCallback callback = {});
  // ee-core's dispatch(cmd, jobPath, params): a raw command to the job runtime.
  void dispatch(const std::string& cmd, const std::string& job_path, const json::Value& params);

  ChildProcess& process() { return *child_; }

  // Used by ChildJob and ChildPoolJob.
  static std::shared_ptr<JobProcess> start(const std::string& kind,
                                           const std::optional<std::string>& exec_path, Loop& loop,
                                           const std::optional<EeCoreJobProcess>& ee_core = {});
  void run(const std::string& job_path, const json::Value& params, RunOptions options);
  std::function<void(JobProcess&)> on_job_finished;  // the pool's bookkeeping hook

 private:
  struct Pending {
    JobCallback callback;
    std::optional<Loop::TimerId> timer;
    std::optional<AbortSignal> cancellation;
    ListenerId abort_listener = 0;
  };
  explicit JobProcess(Loop& loop) : loop_(loop) {}
  void on_message(const json::Value& m);
  void on_ee_core_message(const json::Value& m);
  void emit_event(const std::string& event, const json::Value& data);
  void settle(const std::string& job_id, const std::optional<std::string>& error,
              const json::Value& result);
  void settle_from_loop(const std::string& job_id);
  std::string next_job_id();
  void fail_unstarted(JobCallback callback);

  Loop& loop_;
  std::optional<std::string> start_error_;
  std::shared_ptr<ChildProcess> child_;
  std::map<std::string, std::unique_ptr<Event<const json::Value&>>> events_;
  std::map<std::string, Pending> pending_;
  std::uint64_t job_counter_ = 0;
  bool exited_ = false;
  bool ee_core_ = false;  // speaks ee-core's messages to its own Node child app
  bool pool_kind_ = false;
  std::optional<Loop::TimerId> kill_timer_;
};

struct ChildJobOptions {
  std::optional<std::string> exec_path{};     // default: this executable
  std::optional<EeCoreJobProcess> ee_core{};  // set: ee-core's Node job process instead
};

// ee-core's ChildJob: one process per job.
class ChildJob {
 public:
  explicit ChildJob(ChildJobOptions options = {}, Loop& loop = default_loop())
      : options_(std::move(options)), loop_(loop) {}
  std::shared_ptr<JobProcess> exec(const std::string& job_path, const json::Value& params = {},
                                   RunOptions options = {});

 private:
  ChildJobOptions options_;
  Loop& loop_;
};

enum class Algorithm {
  kRandom,
  kPolling,
  kWeights,
  kSpecify,
  kWeightsRandom,
  kWeightsPolling,
  kMinimumConnection,
  kWeightsMinimumConnection,
};

// ee-core's LoadBalancer: picks one of the workers for the next job.
class LoadBalancer {
 public:
  struct Worker {
    int id = 0;  // the pid
    int weight = 1;
    std::size_t connections = 0;  // jobs running on it
  };
  explicit LoadBalancer(Algorithm algorithm, std::uint32_t seed = std::random_device{}())
      : algorithm_(algorithm), rng_(seed) {}
  Algorithm algorithm() const { return algorithm_; }
  // An index into `workers` (non-empty). kSpecify needs `specify` (a worker id) and throws
  // std::invalid_argument when no worker has it.
  std::size_t pick(std::span<const Worker> workers, std::optional<int> specify = std::nullopt);

 private:
  Algorithm algorithm_;
  std::mt19937 rng_;
  std::size_t cursor_ = 0;
  std::vector<long> current_weight_;  // smooth weighted round robin state (weights_polling)
};

struct PoolOptions {
  int min = 1;  // dead workers are replaced up to this many
  int max = 6;  // create() never goes beyond (ee-core's limit)
  Algorithm algorithm = Algorithm::kPolling;
  std::vector<int> weights{};  // per worker, in creation order (default 1)
  // Beyond ee-core: jobs one worker runs at once; when every worker is at the limit, run()
  // queues, up to max_queued (more: the job fails with ERR_JOB_QUEUE_FULL).
  std::size_t max_jobs_per_worker = 1;
  std::size_t max_queued = 1000;
  std::optional<std::string> exec_path{};
  std::optional<EeCoreJobProcess> ee_core{};  // set: ee-core's Node job processes instead
  std::chrono::milliseconds kill_timeout{1000};
  // A worker that cannot be started (ENOENT, EAGAIN...) is not counted; starting up to `min` is
  // retried after restart_backoff, doubling each time, restart_attempts times. Each failure is
  // reported to on_error(); run() and create() on an empty pool try again at once.
  std::chrono::milliseconds restart_backoff{100};
  int restart_attempts = 5;
};

struct PoolRunOptions {
  std::optional<int> specify{};           // a worker pid, for Algorithm::kSpecify
  std::optional<std::string> bound_id{};  // the same id always reaches the same worker
  std::chrono::milliseconds timeout{0};
  std::optional<AbortSignal> cancellation{};
  JobCallback callback{};
};

enum class KillMode { kParallel, kSequence };

// ee-core's ChildPoolJob: resident workers that run job after job.
class ChildPoolJob {
 public:
  explicit ChildPoolJob(PoolOptions options = {}, Loop& loop = default_loop());
  ~ChildPoolJob();  // stops every worker with the kill ladder and reaps it
  ChildPoolJob(const ChildPoolJob&) = delete;
  ChildPoolJob& operator=(const ChildPoolJob&) = delete;

  void create(int count = 3);
  // Runs the job on the worker the load balancer picks (or queues it); returns that worker, or
  // nullptr when the job was queued or refused.
  std::shared_ptr<JobProcess> run(const std::string& job_path, const json::Value& params = {},
                                  PoolRunOptions options = {});
  std::shared_ptr<JobProcess> get_bound_child(const std::string& bound_id);
  std::shared_ptr<JobProcess> get_child_by_pid(int pid) const;
  std::vector<int> get_pids() const;
  std::size_t size() const { return workers_.size(); }
  std::size_t queued() const { return queue_.size(); }
  // Stops every worker: all at once, or one after the other; `done` runs when all have exited.
  // Jobs still queued fail with ERR_JOB_POOL_STOPPED.
  void kill_all(KillMode mode = KillMode::kParallel, std::function<void()> done = {});
  // Beyond ee-core: the pool could not keep `min` workers. The message starts with
  // ERR_JOB_POOL_BELOW_MIN and says why, how many run, and whether it retries.
  ListenerId on_error(std::function<void(const std::string& message)> fn) {
    return error_event_.on(std::move(fn));
  }

 private:
  struct Queued {
    std::string job_path;
    json::Value params;
    PoolRunOptions options;
  };
  std::shared_ptr<JobProcess> add_worker();
  void replenish();
  void retry_later();
  void cancel_retry();
  void fail_queued();
  void on_worker_exit(const std::shared_ptr<JobProcess>& worker);
  std::shared_ptr<JobProcess> choose(const PoolRunOptions& options);
  void drain_queue();
  void kill_next_in_sequence(std::vector<std::shared_ptr<JobProcess>> rest,
                             std::function<void()> done);

  PoolOptions options_;
  Loop& loop_;
  LoadBalancer balancer_;
  std::vector<std::shared_ptr<JobProcess>> workers_;
  std::vector<int> weights_;          // parallel to workers_
  std::map<std::string, int> bound_;  // bound id -> pid
  std::deque<Queued> queue_;
  bool stopping_ = false;
  bool created_ = false;
  std::optional<std::string> start_error_;  // the last worker start that failed, if the latest did
  std::optional<Loop::TimerId> retry_timer_;
  int retry_attempt_ = 0;
  Event<const std::string&> error_event_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace childproc::jobs
