// The README's demo: ee-core's TimerJob, in C++. Two jobs run in child processes of this very
// executable; each reports "job-timer-progress" {jobId, number} once a second for 10 seconds,
// then resets its counter and exits. The parent prints the progress as it arrives and kills the
// second job early (SIGINT, then SIGKILL after a second if it did not stop).
#include <childproc/childproc.hpp>

#include <chrono>
#include <iostream>

namespace json = childproc::json;
using namespace std::chrono_literals;

// ---- The job: runs in the child ----------------------------------------------------------
class TimerJob : public childproc::jobs::Job {
 public:
  void handle(const json::Value& params) override {
    job_id_ = *params.find("jobId");
    tick();
  }

 private:
  void tick() {
    loop().set_timeout(1s, [this] {
      ++number_;
      send("job-timer-progress", json::Value::object({{"jobId", job_id_}, {"number", number_}}));
      if (number_ < 10) return tick();
      number_ = 0;  // reset, as ee-core's example does, then end the process
      exit(0);
    });
  }

  json::Value job_id_;
  int number_ = 0;
};
CHILDPROC_JOB("example/timer", TimerJob);

// ---- The parent --------------------------------------------------------------------------
int main(int argc, char** argv) {
  // Started by ChildJob as a job process? Then run the job and stop here.
  if (auto code = childproc::jobs::run_if_job_process(argc, argv)) return *code;

  auto& loop = childproc::default_loop();
  auto start = std::chrono::steady_clock::now();
  auto stamp = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    char buf[16];
    std::snprintf(buf, sizeof buf, "[%5.1fs] ", static_cast<double>(ms.count()) / 1000);
    return std::string(buf);
  };

  std::cout << "childproc demo: ee-core's TimerJob in C++. Two jobs run in child processes and\n"
               "report progress once a second for 10 s; job 2 is killed after 3.5 s (SIGINT,\n"
               "then SIGKILL if it lingers). Each line is stamped with the time since the start.\n"
            << std::endl;
  childproc::jobs::ChildJob jobs;
  std::vector<std::shared_ptr<childproc::jobs::JobProcess>> tasks;
  for (int id : {1, 2}) {
    auto task = jobs.exec("example/timer", json::Value::object({{"jobId", id}}));
    std::cout << stamp() << "job " << id << " started in process " << *task->pid() << std::endl;
    task->on("job-timer-progress", [&stamp](const json::Value& data) {
      std::cout << stamp() << "job " << json::stringify(*data.find("jobId")) << " progress "
                << json::stringify(*data.find("number")) << std::endl;
    });
    task->on_exit([&stamp, id](std::optional<int> code, std::optional<int> signal) {
      std::cout << stamp() << "job " << id << " ended: "
                << (signal ? "killed by " + childproc::signal_name(*signal)
                           : "exit code " + std::to_string(*code))
                << std::endl;
    });
    tasks.push_back(task);
  }
  loop.set_timeout(3500ms, [&] {
    std::cout << stamp() << "killing job 2 early" << std::endl;
    tasks[1]->kill();  // SIGINT; SIGKILL after 1 s if it is still running
  });
  loop.run();
  std::cout << stamp() << "all jobs done" << std::endl;
  return 0;
}
