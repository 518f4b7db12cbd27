// The parent side of jobs: JobProcess (one forked job runtime), ChildJob (a process per job),
// ChildPoolJob (resident workers, a load balancer, a bounded queue, replacement of dead
// workers) and the registry that kills every job process when the application exits.
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>

#include "childproc/fork.hpp"
#include "childproc/jobs.hpp"
#include "internal/errc.hpp"

namespace childproc::jobs {

namespace {

// Every live job process; at exit, they are killed (ee-core's jobs registry). The registry is
// never destroyed: job processes may unregister during the default Loop's own destruction,
// which comes later. Its kill runs from an atexit hook registered on first use, i.e. after the
// Loop's construction, hence before the Loop's destructor.
struct Registry {
  std::mutex mutex;
  std::set<JobProcess*> live;
  void kill_all() {
    std::lock_guard lock(mutex);
    for (JobProcess* p : live)
      p->process().kill(detail::os::kSIGKILL);
  }
};

Registry& registry() {
  static Registry* r = [] {
    auto* created = new Registry;
    std::atexit([] { registry().kill_all(); });
    return created;
  }();
  return *r;
}

std::string describe_exit(std::optional<int> code, std::optional<int> signal) {
  return signal ? "signal " + signal_name(*signal) : "code " + std::to_string(code.value_or(-1));
}

}  // namespace

// ---- JobProcess ------------------------------------------------------------------------------

std::shared_ptr<JobProcess> JobProcess::start(const std::string& kind,
                                              const std::optional<std::string>& exec_path,
                                              Loop& loop,
                                              const std::optional<EeCoreJobProcess>& ee_core) {
  std::shared_ptr<JobProcess> jp(new JobProcess(loop));
  jp->pool_kind_ = kind == "pool";
  if (ee_core) {
    // What ee-core's ForkProcess starts: its child app, told the kind of job process it is,
    // with no stdio (ee-core's default; its jobs log to files).
    jp->ee_core_ = true;
    json::Value args =
        json::Value::object({{"type", jp->pool_kind_ ? "childPoolJob" : "childJob"}});
    jp->child_ = fork(ee_core->app_js, {json::stringify(args)},
                      {.cwd = ee_core->cwd,
                       .env = ee_core->env,
                       .exec_path = ee_core->node,
                       .stdio = StdioOption{"ignore", "ignore", "ignore", "ipc"}},
                      loop);
  } else {
    jp->child_ =
        fork("--childproc-job", {kind},
             {.exec_path = exec_path, .stdio = StdioOption{"ignore", "inherit", "inherit", "ipc"}},
             loop);
  }
  if (!jp->child_->pid()) {
    // ENOENT, EACCES, EAGAIN, EMFILE...: known now (the child's 'error' follows on the next
    // tick). No exit will come, so jobs given to this process fail with this instead.
    int err = -jp->child_->exit_code().value_or(0);
    jp->exited_ = true;
    jp->start_error_ =
        "job process could not start: spawn " + jp->child_->spawnfile() + " " + errno_name(err);
    return jp;
  }
  std::weak_ptr<JobProcess> weak = jp;
  jp->child_->on_message([weak](const json::Value& m, ipc::Handle*) {
    if (auto self = weak.lock()) self->on_message(m);
  });
  // A running job process keeps its JobProcess alive, like the loop keeps a ChildProcess.
  auto keep = std::make_shared<std::shared_ptr<JobProcess>>(jp);
  jp->child_->on_exit([keep](std::optional<int> code, std::optional<int> signal) {
    std::shared_ptr<JobProcess> self = std::move(*keep);
    self->exited_ = true;
    if (self->kill_timer_) self->loop_.clear_timeout(*self->kill_timer_);
    // Jobs still open end here: a clean exit (a ChildJob that called exit()) is success.
    std::vector<std::string> ids;
    for (const auto& [id, pending] : self->pending_)
      ids.push_back(id);
    std::optional<std::string> error;
    if (code != 0 || signal)
      error = "job process " + std::to_string(self->pid().value_or(0)) + " exited (" +
              describe_exit(code, signal) + ") while running the job";
    for (const auto& id : ids)
      self->settle(id, error, json::Value());
    std::lock_guard lock(registry().mutex);
    registry().live.erase(self.get());
  });
  {
    std::lock_guard lock(registry().mutex);
    registry().live.insert(jp.get());
  }
  return jp;
}

JobProcess::~JobProcess() {
  std::lock_guard lock(registry().mutex);
  registry().live.erase(this);
}

std::string JobProcess::next_job_id() {
  return std::to_string(child_->pid().value_or(0)) + "-" + std::to_string(++job_counter_);
}

ListenerId JobProcess::on(const std::string& event,
                          std::function<void(const json::Value& data)> fn) {
  auto& slot = events_[event];
  if (!slot) slot = std::make_unique<Event<const json::Value&>>();
  return slot->on(std::move(fn));
}

void JobProcess::off(ListenerId id) {
  for (auto& [name, event] : events_)
    if (event->off(id)) return;
}

void JobProcess::kill(std::chrono::milliseconds timeout) {
  if (exited_) return;
  child_->kill(detail::os::kSIGINT);
  if (kill_timer_) return;
  std::weak_ptr<JobProcess> weak = weak_from_this();
  kill_timer_ = loop_.set_timeout(timeout, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->kill_timer_.reset();
    if (!self->exited_) self->child_->kill(detail::os::kSIGKILL);
  });
}

void JobProcess::run(const std::string& job_path, const json::Value& params, RunOptions options) {
  if (start_error_) return fail_unstarted(std::move(options.callback));
  std::string id = next_job_id();
  Pending& p = pending_[id];
  p.callback = std::move(options.callback);
  std::weak_ptr<JobProcess> weak = weak_from_this();
  if (options.timeout.count() > 0) {
    p.timer = loop_.set_timeout(options.timeout, [weak, id, ms = options.timeout.count()] {
      auto self = weak.lock();
      if (!self) return;
      self->pending_[id].timer.reset();
      self->settle(id, "job timed out after " + std::to_string(ms) + " ms", json::Value());
      self->kill();  // the process may be stuck in it: it goes (a pool replaces it)
    });
  }
  if (options.cancellation) {
    p.cancellation = options.cancellation;
    Loop* loop = &loop_;
    p.abort_listener = options.cancellation->add_listener([weak, id, loop] {
      loop->post([weak, id] {
        auto self = weak.lock();
        if (!self || !self->pending_.count(id)) return;
        self->settle(id, "job cancelled", json::Value());
        self->kill();
      });
    });
  }
  if (ee_core_) {
    // ee-core's dispatch: handle(...jobParams) gets the one params object.
    child_->send(json::Value::object({{"mid", id},
                                      {"cmd", "run"},
                                      {"jobPath", job_path},
                                      {"jobParams", json::Value::array({params})}}));
    // No end of the job will be reported: a pool's job is done once sent (a ChildJob's when
    // its process exits).
    if (pool_kind_) settle_from_loop(id);
    return;
  }
  child_->send(json::Value::object(
      {{"cmd", "run"}, {"jobPath", job_path}, {"jobParams", params}, {"jobId", id}}));
}

void JobProcess::settle_from_loop(const std::string& job_id) {
  std::weak_ptr<JobProcess> weak = weak_from_this();
  loop_.next_tick([weak, job_id] {
    if (auto self = weak.lock()) self->settle(job_id, std::nullopt, json::Value());
  });
}

void JobProcess::fail_unstarted(JobCallback callback) {
  // Settled from the loop, as a job that ran would be: never inside the call that asked.
  if (callback)
    loop_.next_tick([callback = std::move(callback), error = *start_error_] {
      callback(error, json::Value());
    });
}

void JobProcess::call_func(const std::string& job_path, const std::string& func_name,
                           json::Array params, JobCallback callback) {
  if (start_error_) return fail_unstarted(std::move(callback));
  std::string id = next_job_id();
  pending_[id].callback = std::move(callback);
  if (ee_core_) {
    // ee-core's callFunc: a method of the job's instance in that process; nothing comes back.
    child_->send(json::Value::object({{"mid", id},
                                      {"cmd", "run"},
                                      {"jobPath", job_path},
                                      {"jobFunc", func_name},
                                      {"jobFuncParams", json::Value(std::move(params))}}));
    settle_from_loop(id);
    return;
  }
  child_->send(json::Value::object({{"cmd", "call"},
                                    {"jobPath", job_path},
                                    {"funcName", func_name},
                                    {"params", json::Value(std::move(params))},
                                    {"jobId", id}}));
}

void JobProcess::dispatch(const std::string& cmd, const std::string& job_path,
                          const json::Value& params) {
  if (start_error_) return;
  child_->send(json::Value::object(
      {{"cmd", cmd}, {"jobPath", job_path}, {"jobParams", params}, {"jobId", next_job_id()}}));
}

void JobProcess::emit_event(const std::string& event, const json::Value& data) {
  auto it = events_.find(event);
  if (it != events_.end()) it->second->emit(data);
}

// ee-core's child app: {channel: "ee#sendToMain", eventReceiver, event, data} (whichever the
// receiver, "task", "job" or "all", this JobProcess is the one emitter there is), and
// {channel: "ee#showException", data}: an uncaught exception in a job, which fails what runs.
void JobProcess::on_ee_core_message(const json::Value& m) {
  const json::Value* channel = m.find("channel");
  if (!channel || !channel->is_string()) return;
  const json::Value* data = m.find("data");
  if (channel->as_string() == "ee#sendToMain") {
    const json::Value* event = m.find("event");
    if (event && event->is_string()) emit_event(event->as_string(), data ? *data : json::Value());
  } else if (channel->as_string() == "ee#showException") {
    std::string text = data && data->is_string() ? data->as_string() : "ee-core job failed";
    emit_event("error", json::Value::object({{"message", text}}));
    std::vector<std::string> ids;
    for (const auto& [id, pending] : pending_)
      ids.push_back(id);
    for (const auto& id : ids)
      settle(id, text, json::Value());
  }
}

void JobProcess::on_message(const json::Value& m) {
  if (ee_core_) return on_ee_core_message(m);
  if (const json::Value* event = m.find("jobEvent"); event && event->is_string()) {
    const json::Value* data = m.find("data");
    emit_event(event->as_string(), data ? *data : json::Value());
    return;
  }
  if (const json::Value* done = m.find("jobDone"); done && done->is_string()) {
    const json::Value* result = m.find("result");
    settle(done->as_string(), std::nullopt, result ? *result : json::Value());
    return;
  }
  if (const json::Value* failed = m.find("jobError"); failed && failed->is_string()) {
    const json::Value* message = m.find("message");
    std::string text = message && message->is_string() ? message->as_string() : "job failed";
    // The job threw: an 'error' event on the emitter, and the job's outcome.
    auto it = events_.find("error");
    if (it != events_.end())
      it->second->emit(json::Value::object({{"message", text}, {"jobId", failed->as_string()}}));
    settle(failed->as_string(), text, json::Value());
  }
}

void JobProcess::settle(const std::string& job_id, const std::optional<std::string>& error,
                        const json::Value& result) {
  auto it = pending_.find(job_id);
  if (it == pending_.end()) return;  // already settled (timed out, cancelled)
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.timer) loop_.clear_timeout(*p.timer);
  if (p.cancellation) p.cancellation->remove_listener(p.abort_listener);
  auto keep = shared_from_this();  // a callback may drop the last outside reference
  if (p.callback) p.callback(error, result);
  if (on_job_finished) on_job_finished(*this);
}

// ---- ChildJob --------------------------------------------------------------------------------

std::shared_ptr<JobProcess> ChildJob::exec(const std::string& job_path, const json::Value& params,
                                           RunOptions options) {
  auto jp = JobProcess::start("child", options_.exec_path, loop_, options_.ee_core);
  jp->run(job_path, params, std::move(options));
  return jp;
}

// ---- LoadBalancer ----------------------------------------------------------------------------

std::size_t LoadBalancer::pick(std::span<const Worker> workers, std::optional<int> specify) {
  if (workers.empty()) throw std::invalid_argument("LoadBalancer::pick: no workers");
  const std::size_t n = workers.size();
  auto weight = [&](std::size_t i) { return std::max(workers[i].weight, 0); };
  long total = 0;
  for (std::size_t i = 0; i < n; ++i)
    total += weight(i);
  auto weighted_random = [&]() -> std::size_t {
    if (total <= 0) return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    long r = std::uniform_int_distribution<long>(0, total - 1)(rng_);
    for (std::size_t i = 0; i < n; ++i) {
      r -= weight(i);
      if (r < 0) return i;
    }
    return n - 1;
  };
  switch (algorithm_) {
    case Algorithm::kRandom:
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    case Algorithm::kPolling:
      return cursor_++ % n;
    case Algorithm::kWeights:
    case Algorithm::kWeightsRandom:
      return weighted_random();
    case Algorithm::kSpecify:
      for (std::size_t i = 0; i < n; ++i)
        if (specify && workers[i].id == *specify) return i;
      throw std::invalid_argument("LoadBalancer: no worker with id " +
                                  (specify ? std::to_string(*specify) : std::string("(none)")));
    case Algorithm::kWeightsPolling: {
      // Smooth weighted round robin (nginx's): exact proportions, spread out.
      if (current_weight_.size() != n) current_weight_.assign(n, 0);
      std::size_t best = 0;
      for (std::size_t i = 0; i < n; ++i) {
        current_weight_[i] += weight(i);
        if (current_weight_[i] > current_weight_[best]) best = i;
      }
      current_weight_[best] -= total;
      return best;
    }
    case Algorithm::kMinimumConnection: {
      std::size_t best = 0;
      for (std::size_t i = 1; i < n; ++i)
        if (workers[i].connections < workers[best].connections) best = i;
      return best;
    }
    case Algorithm::kWeightsMinimumConnection: {
      // Fewest connections per unit of weight; ties go to the heavier worker.
      std::size_t best = 0;
      for (std::size_t i = 1; i < n; ++i) {
        long lhs = static_cast<long>(workers[i].connections) * std::max(weight(best), 1);
        long rhs = static_cast<long>(workers[best].connections) * std::max(weight(i), 1);
        if (lhs < rhs || (lhs == rhs && weight(i) > weight(best))) best = i;
      }
      return best;
    }
  }
  return 0;
}

// ---- ChildPoolJob ----------------------------------------------------------------------------

ChildPoolJob::ChildPoolJob(PoolOptions options, Loop& loop)
    : options_(std::move(options)), loop_(loop), balancer_(options_.algorithm) {}

ChildPoolJob::~ChildPoolJob() {
  // Workers outlive the pool until they have exited (each keeps itself alive), so the ladder
  // completes and the loop reaps them: no zombie.
  stopping_ = true;
  cancel_retry();
  for (auto& w : workers_) {
    w->on_job_finished = nullptr;
    w->kill(options_.kill_timeout);
  }
}

void ChildPoolJob::create(int count) {
  created_ = true;
  cancel_retry();  // a fresh start: the backoff begins again
  for (int i = 0; i < count && static_cast<int>(workers_.size()) < options_.max; ++i)
    if (!add_worker()) {
      retry_later();
      break;
    }
  drain_queue();
}

// Starts one worker; nullptr (and start_error_ says why) if its process could not be started.
std::shared_ptr<JobProcess> ChildPoolJob::add_worker() {
  std::shared_ptr<JobProcess> worker;
  try {
    worker = JobProcess::start("pool", options_.exec_path, loop_, options_.ee_core);
  } catch (const SystemError& e) {  // EPERM and the like, which Node throws
    start_error_ = "job process could not start: " + e.error().message;
    return nullptr;
  }
  if (worker->start_error()) {
    start_error_ = worker->start_error();
    return nullptr;
  }
  start_error_.reset();
  std::size_t index = workers_.size();
  weights_.push_back(index < options_.weights.size() ? options_.weights[index] : 1);
  std::weak_ptr<bool> alive = alive_;
  worker->on_job_finished = [this, alive](JobProcess&) {
    if (!alive.expired()) drain_queue();
  };
  std::weak_ptr<JobProcess> weak = worker;
  worker->on_exit([this, alive, weak](auto, auto) {
    auto w = weak.lock();
    if (!alive.expired() && w) on_worker_exit(w);
  });
  workers_.push_back(worker);
  return worker;
}

void ChildPoolJob::on_worker_exit(const std::shared_ptr<JobProcess>& worker) {
  auto it = std::find(workers_.begin(), workers_.end(), worker);
  if (it == workers_.end()) return;
  std::size_t index = static_cast<std::size_t>(it - workers_.begin());
  workers_.erase(it);
  weights_.erase(weights_.begin() + static_cast<long>(index));
  std::erase_if(bound_, [&](const auto& b) { return b.second == worker->pid(); });
  // Its running jobs have failed already (JobProcess settles them on exit). Replace it.
  replenish();
  drain_queue();
}

// Brings the pool back to `min` workers, or schedules a retry.
void ChildPoolJob::replenish() {
  if (stopping_) return;
  while (static_cast<int>(workers_.size()) < options_.min)
    if (!add_worker()) return retry_later();
  retry_attempt_ = 0;
}

void ChildPoolJob::retry_later() {
  if (workers_.empty()) fail_queued();  // nowhere to run them: they fail now, not never
  if (retry_timer_ || stopping_) return;
  std::string state = "ERR_JOB_POOL_BELOW_MIN: " + *start_error_ + "; " +
                      std::to_string(workers_.size()) + " of min " + std::to_string(options_.min) +
                      " workers running";
  std::weak_ptr<bool> alive = alive_;
  // Reported from the loop, never from inside the call that failed: a listener may call create()
  // or run() (which start workers again) or destroy the pool.
  auto report = [this, alive](std::string message) {
    loop_.next_tick([this, alive, message = std::move(message)] {
      if (!alive.expired()) error_event_.emit(message);
    });
  };
  if (retry_attempt_ >= options_.restart_attempts) {
    report(state + "; gave up after " + std::to_string(retry_attempt_) +
           " retries (run() or create() tries again)");
    return;
  }
  auto delay = options_.restart_backoff * (1L << std::min(retry_attempt_, 10));
  ++retry_attempt_;
  retry_timer_ = loop_.set_timeout(delay, [this, alive] {
    if (alive.expired()) return;
    retry_timer_.reset();
    replenish();
    drain_queue();
  });
  report(state + "; retrying in " + std::to_string(delay.count()) + " ms");
}

void ChildPoolJob::cancel_retry() {
  if (retry_timer_) loop_.clear_timeout(*retry_timer_);
  retry_timer_.reset();
  retry_attempt_ = 0;
}

void ChildPoolJob::fail_queued() {
  std::string message = "ERR_JOB_NO_WORKERS: no worker could be started (" + *start_error_ + ")";
  while (!queue_.empty()) {
    JobCallback cb = std::move(queue_.front().options.callback);
    queue_.pop_front();
    if (cb) loop_.next_tick([cb = std::move(cb), message] { cb(message, json::Value()); });
  }
}

std::shared_ptr<JobProcess> ChildPoolJob::choose(const PoolRunOptions& options) {
  auto has_room = [&](const std::shared_ptr<JobProcess>& w) {
    return w->alive() && w->running_jobs() < options_.max_jobs_per_worker;
  };
  if (options.bound_id) {
    if (auto b = bound_.find(*options.bound_id); b != bound_.end()) {
      auto w = get_child_by_pid(b->second);
      if (w) return has_room(w) ? w : nullptr;  // bound: that worker or wait for it
    }
  }
  std::vector<std::size_t> candidates;
  std::vector<LoadBalancer::Worker> view;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (!has_room(workers_[i])) continue;
    candidates.push_back(i);
    view.push_back({workers_[i]->pid().value_or(0), weights_[i], workers_[i]->running_jobs()});
  }
  if (candidates.empty()) return nullptr;
  auto chosen = workers_[candidates[balancer_.pick(view, options.specify)]];
  if (options.bound_id) bound_[*options.bound_id] = chosen->pid().value_or(0);
  return chosen;
}

std::shared_ptr<JobProcess> ChildPoolJob::run(const std::string& job_path,
                                              const json::Value& params, PoolRunOptions options) {
  auto fail = [this](JobCallback cb, std::string message) {
    if (cb) loop_.next_tick([cb = std::move(cb), message] { cb(message, json::Value()); });
  };
  if (workers_.empty() && created_ && !stopping_) {
    // Every worker failed to start or died: try again now, spawning may work again.
    cancel_retry();
    replenish();
    drain_queue();
  }
  if (workers_.empty()) {
    fail(std::move(options.callback),
         start_error_ ? "ERR_JOB_NO_WORKERS: no worker could be started (" + *start_error_ + ")"
                      : "ERR_JOB_NO_WORKERS: the pool has no workers (call create())");
    return nullptr;
  }
  if (queue_.empty()) {
    if (auto w = choose(options)) {
      w->run(job_path, params,
             RunOptions{options.timeout, options.cancellation, std::move(options.callback)});
      return w;
    }
  }
  if (queue_.size() >= options_.max_queued) {
    fail(std::move(options.callback), "ERR_JOB_QUEUE_FULL: every worker is busy and " +
                                          std::to_string(options_.max_queued) +
                                          " jobs are already queued");
    return nullptr;
  }
  queue_.push_back(Queued{job_path, params, std::move(options)});
  return nullptr;
}

void ChildPoolJob::drain_queue() {
  while (!queue_.empty()) {
    auto w = choose(queue_.front().options);
    if (!w) return;  // first in, first out: the head waits for room
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    w->run(q.job_path, q.params,
           RunOptions{q.options.timeout, q.options.cancellation, std::move(q.options.callback)});
  }
}

std::shared_ptr<JobProcess> ChildPoolJob::get_bound_child(const std::string& bound_id) {
  if (auto b = bound_.find(bound_id); b != bound_.end())
    if (auto w = get_child_by_pid(b->second)) return w;
  if (workers_.empty()) return nullptr;
  std::vector<LoadBalancer::Worker> view;
  for (std::size_t i = 0; i < workers_.size(); ++i)
    view.push_back({workers_[i]->pid().value_or(0), weights_[i], workers_[i]->running_jobs()});
  auto chosen = workers_[balancer_.pick(view)];
  bound_[bound_id] = chosen->pid().value_or(0);
  return chosen;
}

std::shared_ptr<JobProcess> ChildPoolJob::get_child_by_pid(int pid) const {
  for (const auto& w : workers_)
    if (w->pid() == pid) return w;
  return nullptr;
}

std::vector<int> ChildPoolJob::get_pids() const {
  std::vector<int> pids;
  for (const auto& w : workers_)
    pids.push_back(w->pid().value_or(0));
  return pids;
}

void ChildPoolJob::kill_all(KillMode mode, std::function<void()> done) {
  stopping_ = true;
  cancel_retry();
  // Jobs still queued would wait for workers that are going: they fail now, once each.
  while (!queue_.empty()) {
    JobCallback cb = std::move(queue_.front().options.callback);
    queue_.pop_front();
    if (cb)
      loop_.next_tick([cb = std::move(cb)] {
        cb("ERR_JOB_POOL_STOPPED: the pool's workers were killed (kill_all) before this job ran",
           json::Value());
      });
  }
  std::vector<std::shared_ptr<JobProcess>> all = workers_;
  if (all.empty()) {
    stopping_ = false;
    if (done) loop_.next_tick(std::move(done));
    return;
  }
  if (mode == KillMode::kSequence) {
    kill_next_in_sequence(std::move(all), std::move(done));
    return;
  }
  auto left = std::make_shared<std::size_t>(all.size());
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  std::weak_ptr<bool> alive = alive_;
  for (auto& w : all) {
    w->on_exit([this, alive, left, shared_done](auto, auto) {
      if (--*left == 0) {
        if (!alive.expired()) stopping_ = false;
        if (*shared_done) (*shared_done)();
      }
    });
    w->kill(options_.kill_timeout);
  }
}

void ChildPoolJob::kill_next_in_sequence(std::vector<std::shared_ptr<JobProcess>> rest,
                                         std::function<void()> done) {
  if (rest.empty()) {
    stopping_ = false;
    if (done) done();
    return;
  }
  auto next = rest.front();
  rest.erase(rest.begin());
  std::weak_ptr<bool> alive = alive_;
  auto state =
      std::make_shared<std::pair<std::vector<std::shared_ptr<JobProcess>>, std::function<void()>>>(
          std::move(rest), std::move(done));
  next->on_exit([this, alive, state](auto, auto) {
    if (alive.expired()) return;
    // The next one is killed only once this one is gone.
    loop_.next_tick([this, alive, state] {
      if (!alive.expired())
        kill_next_in_sequence(std::move(state->first), std::move(state->second));
    });
  });
  next->kill(options_.kill_timeout);
}

}  // namespace childproc::jobs
