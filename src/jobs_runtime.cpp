// The child side of jobs: a process started with `--childproc-job <child|pool>` reads
// {cmd:"run"|"call", jobPath, ..., jobId} from its IPC channel, runs registered Job classes, and
// reports {jobEvent}, {jobDone}, {jobError}. A ChildJob process ends with Job::exit(); a pool
// worker stays until its parent disconnects or kills it.
//
// The same runtime speaks ee-core's dialect when an ee-core parent starts it: ee-core forks its
// execPath with `<ee-core>/jobs/child/app.js '{"type":"childJob"|"childPoolJob"}'`, sends
// {mid, cmd:"run", jobPath, jobParams:[params]} (with jobFunc + jobFuncParams for a call on the
// resident instance), and expects {channel:"ee#sendToMain", eventReceiver:"task", event, data}
// and {channel:"ee#showException", data}. A jobPath (an absolute path to a .js file) names the
// registered job whose name is its longest tail: ".../electron/jobs/example/timer.js" runs
// "example/timer".
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

// An ee-core jobPath as a job name: '/' separators, no .js/.jsc extension.
std::string job_path_stem(std::string path) {
  for (char& c : path)
    if (c == '\\') c = '/';
  for (const char* ext : {".jsc", ".js"}) {
    std::string e = ext;
    if (path.size() > e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) {
      path.resize(path.size() - e.size());
      break;
    }
  }
  return path;
}

// The registered job an ee-core jobPath stands for: the longest registered name that is the
// path's tail after a '/' (or the whole path); none when no name fits.
std::optional<std::string> job_for_ee_core_path(const std::string& job_path) {
  std::string stem = job_path_stem(job_path);
  std::optional<std::string> best;
  for (const auto& [name, factory] : registry()) {
    bool tail = stem == name || (stem.size() > name.size() &&
                                 stem.compare(stem.size() - name.size(), name.size(), name) == 0 &&
                                 stem[stem.size() - name.size() - 1] == '/');
    if (tail && (!best || name.size() > best->size())) best = name;
  }
  return best;
}

class Runtime {
 public:
  enum class Dialect { kChildproc, kEeCore };

  Runtime(Dialect dialect, bool child_kind, ipc::Channel& parent, Loop& loop)
      : dialect_(dialect), child_kind_(child_kind), parent_(parent), loop_(loop) {}

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
    if (dialect_ == Dialect::kEeCore) {
      // ee-core's childMessage.send(): the task's emitter receives it.
      parent_.send(json::Value::object({{"channel", "ee#sendToMain"},
                                        {"eventReceiver", "task"},
                                        {"event", event},
                                        {"data", data}}));
      return;
    }
    parent_.send(
        json::Value::object({{"jobEvent", event}, {"data", data}, {"jobId", job.job_id()}}));
  }

  void finish(Job& job, const json::Value& result) {
    // ee-core has no result message: a finished run only frees its instance.
    if (dialect_ == Dialect::kChildproc)
      parent_.send(json::Value::object({{"jobDone", job.job_id()}, {"result", result}}));
    retire(job.job_id());
  }

  void exit(int code) {
    exit_code_ = code;
    parent_.disconnect();  // queued messages are written first; then 'disconnect' stops the loop
  }

 private:
  void on_message(const json::Value& m) {
    if (dialect_ == Dialect::kEeCore) return on_ee_core_message(m);
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

  // {mid, cmd:"run", jobPath, jobParams} runs a new instance, which becomes the resident one for
  // jobPath; with jobFunc, jobFuncParams go to the resident instance (made if there is none).
  // Where ee-core's own child would call instance[undefined] on a second run of one jobPath in
  // a pool worker (and die), each run here gets its instance.
  void on_ee_core_message(const json::Value& m) {
    const json::Value* cmd = m.find("cmd");
    const json::Value* path = m.find("jobPath");
    if (!cmd || !cmd->is_string() || cmd->as_string() != "run" || !path || !path->is_string())
      return;  // ee-core's child ignores anything else too
    const json::Value* mid = m.find("mid");
    std::string job_id = mid && mid->is_string() ? mid->as_string() : next_id();
    std::optional<std::string> name = job_for_ee_core_path(path->as_string());
    if (!name) {
      report_error(job_id, "no C++ job is registered for the ee-core job " + path->as_string() +
                               " (a job registered as its tail, e.g. \"example/timer\" for "
                               ".../jobs/example/timer.js)");
      if (child_kind_) exit(1);
      return;
    }
    JobFactory& factory = registry().find(*name)->second;
    const json::Value* func = m.find("jobFunc");
    if (func && func->is_string()) {
      auto& resident = resident_[path->as_string()];
      if (!resident) {
        resident = factory();
        resident->runtime_ = this;
      }
      const json::Value* params = m.find("jobFuncParams");
      Job* raw = resident.get();
      guarded(
          job_id,
          [&] {
            raw->call(func->as_string(),
                      params && params->is_array() ? params->as_array() : json::Array{});
          },
          false);
      return;
    }
    std::shared_ptr<Job> job(factory());
    job->runtime_ = this;
    job->job_id_ = job_id;
    Job* raw = job.get();
    running_[job_id] = job;
    ee_core_resident_[path->as_string()] = job;
    // ee-core calls handle(...jobParams): exec() sends one params object.
    const json::Value* params = m.find("jobParams");
    json::Value arg;
    if (params && params->is_array() && params->as_array().size() == 1) {
      arg = params->as_array()[0];
    } else if (params) {
      arg = *params;
    }
    guarded(
        job_id, [&] { raw->handle(arg); }, true);
  }

  std::string next_id() { return "ee-" + std::to_string(++anonymous_ids_); }

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
    if (dialect_ == Dialect::kEeCore) {
      // What ee-core's child sends for an uncaught exception (its parent logs it).
      parent_.send(
          json::Value::object({{"channel", "ee#showException"}, {"data", "Error: " + message}}));
      return;
    }
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

  Dialect dialect_;
  bool child_kind_;
  ipc::Channel& parent_;
  Loop& loop_;
  std::map<std::string, std::shared_ptr<Job>> running_;
  std::map<std::string, std::unique_ptr<Job>> resident_;
  // ee-core: the instance of each jobPath's latest run, which jobFunc calls reach.
  std::map<std::string, std::shared_ptr<Job>> ee_core_resident_;
  std::uint64_t anonymous_ids_ = 0;
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

namespace {

// Started by ee-core as its execPath: argv[1] is <ee-core>/jobs/child/app.js, argv[2] its
// processArgs ({"type":"childJob"} or {"type":"childPoolJob"}). Whether it is a pool worker.
std::optional<bool> ee_core_start(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  std::string app = argv[1];
  for (char& c : app)
    if (c == '\\') c = '/';
  const std::string tail = "/jobs/child/app.js";
  if (app.size() < tail.size() || app.compare(app.size() - tail.size(), tail.size(), tail) != 0)
    return std::nullopt;
  if (argc < 3) return false;
  try {
    json::Value args = json::parse(argv[2]);
    const json::Value* type = args.find("type");
    return type && type->is_string() && type->as_string() == "childPoolJob";
  } catch (const json::ParseError&) {
    return false;
  }
}

}  // namespace

std::optional<int> run_if_job_process(int argc, char** argv) {
  std::optional<bool> ee_core_pool = ee_core_start(argc, argv);
  bool ours = argc >= 3 && std::string(argv[1]) == kJobProcessFlag;
  if (!ours && !ee_core_pool) return std::nullopt;
  Loop& loop = default_loop();
  ipc::Channel* parent = ipc::parent_channel(loop);
  if (parent == nullptr) return 3;  // started by hand, not by ChildJob/ChildPoolJob
  if (ee_core_pool) {
    Runtime runtime(Runtime::Dialect::kEeCore, !*ee_core_pool, *parent, loop);
    return runtime.run();
  }
  Runtime runtime(Runtime::Dialect::kChildproc, std::string(argv[2]) == "child", *parent, loop);
  return runtime.run();
}

}  // namespace childproc::jobs
