// An unmodified ee-core ChildJob runs the seed's TimerJob in the job process `execPath` (argv[3]:
// the C++ job host, or node itself as the control): job 1 (5 ticks) to its end, job 2 (50 ticks)
// killed with task.kill() after its second event. Prints what task.emitter and the process reported, as JSON.
//   node child_job_parent.js <ee-core prefix> <execPath>
'use strict';
const {ChildJob, timerJob} = require('./env');

const jobs = new ChildJob();
const options = {processOptions: {execPath: process.argv[3]}};

function run(jobId, count, killAfter) {
  return new Promise((resolve) => {
    const task = jobs.exec(timerJob, {jobId, interval_ms: 20, count}, options);
    const report = {events: [], code: null, signal: null};
    task.emitter.on('job-timer-progress', (data) => {
      report.events.push(data);
      if (report.events.length === killAfter) task.kill();
    });
    task.child.on('exit', (code, signal) => {
      Object.assign(report, {code, signal});
      resolve(report);
    });
  });
}

Promise.all([run(1, 5), run(2, 50, 2)]).then(([one, two]) => {
  console.log(JSON.stringify({one, two, pids_left: jobs.getPids().length}));
});
