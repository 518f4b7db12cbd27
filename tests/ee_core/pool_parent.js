// An unmodified ee-core ChildPoolJob with 3 workers of `execPath` (argv[3]) runs 300 TimerJobs
// with its own load balancer, and after each run a callFunc("ping", i) on the worker it chose.
// Every event is checked against the task (the worker's ForkProcess) whose emitter got it.
//   node pool_parent.js <ee-core prefix> <execPath>
'use strict';
const {ChildPoolJob, timerJob} = require('./env');

const kJobs = 300;
const pool = new ChildPoolJob();
// ee-core's create() (2.x and 4.x) takes no process options: its workers run process.execPath, so an app
// points a pool at another job host by setting it around create().
const ownExecPath = process.execPath;
process.execPath = process.argv[3];
pool.create(3);
process.execPath = ownExecPath;

const summary = {workers: pool.getPids().length, served: {}, resets: 0, pings: 0, misrouted: 0};
const workerOf = new Map();  // jobId -> the pid whose task ran it
for (const pid of pool.getPids()) {
  const task = pool.getChildByPid(pid);
  task.emitter.on('job-timer-progress', (data) => {
    if (workerOf.get(data.jobId) !== task.pid) summary.misrouted++;
    if (data.pid === 0) summary.resets++;
    maybeDone();
  });
  task.emitter.on('job-ping', (data) => {
    if (workerOf.get(data.args[0]) !== task.pid || data.pid !== task.pid) summary.misrouted++;
    summary.pings++;
    maybeDone();
  });
}

for (let jobId = 0; jobId < kJobs; jobId++) {
  const task = pool.run(timerJob, {jobId, interval_ms: 1, count: 1});
  workerOf.set(jobId, task.pid);
  summary.served[task.pid] = (summary.served[task.pid] || 0) + 1;
  task.callFunc(timerJob, 'ping', jobId);
}

function maybeDone() {
  if (summary.resets < kJobs || summary.pings < kJobs) return;
  summary.served = Object.values(summary.served);
  console.log(JSON.stringify(summary));
  pool.killAll();
  process.exit(0);
}
setTimeout(() => {
  console.log(JSON.stringify(Object.assign(summary, {timed_out: true})));
  process.exit(1);
}, 60000).unref();
