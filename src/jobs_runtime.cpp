// The child side of jobs: a process started with `--childproc-job <child|pool>` reads
// {cmd:"run"|"call", jobPath, ..., jobId} from its IPC channel, runs registered Job classes, and
// reports {jobEvent}, {jobDone}, {jobError}. A ChildJob process ends with Job::exit(); a pool
// worker stays until its parent disconnects or kills it.
#include <exception>
#include <map>
#include <mutex>

#include "childproc/ipc.hpp"
#include "childproc/jobs.hpp"

namespace childproc::jobs {

namespace {

std::map<std::string, JobFactory>& registry() {
  static std::map<std::string, JobFactory> jobs;
  return jobs;
}

}  // namespace

constexpr const char* kJobProcessFlag = "--childproc-job";

class Runtime {
 public:
  Runtime(bool child_kind, ipc::Channel& parent, Loop& loop)
      : child_kind_(child_kind), parent_(parent), loop_(loop) {}

  int run() {
    parent_.on_message([this](const json::Value& m, ipc::Handle*) { on_message(m); });
    // The parent went away (or we disconnected in exit()): this process is done.
    parent_.on_disconnect([this] { loop_.stop(); });
    loop_.run();
    return exit_code_;
  }

  bool child_kind() const { return child_kind_; }
  Loop& loop() { return loop_; }

  void send_event(const Job& job, const std::string& event, const json::Value& data) {
    parent_.send(
        json::Value::object({{"jobEvent", event}, {"data", data}, {"jobId", job.job_id()}}));
  }

  void finish(Job& job, const json::Value& result) {
    parent_.send(json::Value::object({{"jobDone", job.job_id()}, {"result", result}}));
    retire(job.job_id());
  }

  void exit(int code) {
    exit_code_ = code;
    parent_.disconnect();  // queued messages are written first; then 'disconnect' stops the loop
  }

 private:
  void on_message(const json::Value& m) {
    const json::Value* cmd = m.find("cmd");
    const json::Value* id = m.find("jobId");
    const json::Value* path = m.find("jobPath");
    if (!cmd || !cmd->is_string() || !id || !id->is_string() || !path || !path->is_string())
      return;  // not ours
    const std::string& job_id = id->as_string();
    auto factory = registry().find(path->as_string());
    if (factory == registry().end()) {
      report_error(job_id, "no job registered as '" + path->as_string() + "'");
      return;
    }
    if (cmd->as_string() == "run") {
      auto job = factory->second();
      job->runtime_ = this;
      job->job_id_ = job_id;
      Job* raw = job.get();
      running_[job_id] = std::move(job);
      const json::Value* params = m.find("jobParams");
      guarded(
          job_id, [&] { raw->handle(params ? *params : json::Value()); }, true);
    } else if (cmd->as_string() == "call") {
      // ee-core's callFunc: the job's resident instance, created on first use.
      auto& resident = resident_[path->as_string()];
      if (!resident) {
        resident = factory->second();
        resident->runtime_ = this;
      }
      resident->job_id_ = job_id;
      const json::Value* func = m.find("funcName");
      const json::Value* params = m.find("params");
      guarded(
          job_id,
          [&] {
            json::Value result =
                resident->call(func && func->is_string() ? func->as_string() : "",
                               params && params->is_array() ? params->as_array() : json::Array{});
            parent_.send(json::Value::object({{"jobDone", job_id}, {"result", result}}));
          },
          false);
    }
  }

  // Runs a job's code; an exception becomes the job's error (and ends a ChildJob process).
  template <class Fn>
  void guarded(const std::string& job_id, Fn&& fn, bool is_run) {
    try {
      fn();
      return;
    } catch (const std::exception& e) {
      report_error(job_id, e.what());
    } catch (...) {
      report_error(job_id, "unknown exception");
    }
    if (is_run) retire(job_id);
    if (child_kind_) exit(1);
  }

  void report_error(const std::string& job_id, const std::string& message) {
    parent_.send(json::Value::object({{"jobError", job_id}, {"message", message}}));
  }

  // The job object may be the caller (finish() from inside handle()): drop it on the next tick.
  void retire(const std::string& job_id) {
    auto it = running_.find(job_id);
    if (it == running_.end()) return;
    std::shared_ptr<Job> done(std::move(it->second));
    running_.erase(it);
    loop_.next_tick([done] {});
  }

  bool child_kind_;
  ipc::Channel& parent_;
  Loop& loop_;
  std::map<std::string, std::unique_ptr<Job>> running_;
  std::map<std::string, std::unique_ptr<Job>> resident_;
  int exit_code_ = 0;
};

json::Value Job::call(const std::string& func_name, const json::Array&) {
  throw std::runtime_error("this job has no function '" + func_name + "'");
}

void Job::send(const std::string& event, const json::Value& data) {
  runtime_->send_event(*this, event, data);
}

void Job::finish(const json::Value& result) {
  if (finished_) return;
  finished_ = true;
  runtime_->finish(*this, result);
}

void Job::exit(int code) {
  runtime_->exit(code);
}
bool Job::is_child_job() const {
  return runtime_->child_kind();
}
bool Job::is_pool_job() const {
  return !runtime_->child_kind();
}
Loop& Job::loop() {
  return runtime_->loop();
}

bool register_job(const std::string& name, JobFactory factory) {
  return registry().emplace(name, std::move(factory)).second;
}

std::optional<int> run_if_job_process(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != kJobProcessFlag) return std::nullopt;
  Loop& loop = default_loop();
  ipc::Channel* parent = ipc::parent_channel(loop);
  if (parent == nullptr) return 3;  // started by hand, not by ChildJob/ChildPoolJob
  Runtime runtime(std::string(argv[2]) == "child", *parent, loop);
  return runtime.run();
}

}  // namespace childproc::jobs
