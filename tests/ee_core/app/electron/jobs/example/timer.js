// The electron-egg seed's TimerJob (electron/jobs/example/timer.js) with its pace as params:
// "job-timer-progress" {jobId, number} every interval_ms (number 0, 1, ... count-1), then the
// reset {jobId, number: 0, pid: 0}; a ChildJob then exits (Ps.exit), a pool worker stays. "ping"
// answers callFunc with a "job-ping" event. Written for ee-core 2.x and 4.x alike (4.x has no
// jobs/baseJobClass, which 2.x's is empty anyway). tests/helpers/cp_job_host.cpp has the C++ twin.
'use strict';
const Ps = require('ee-core/ps');
const {childMessage} = require('ee-core/message');

class TimerJob {
  constructor(params) {
    this.params = params || {};
    this.number = 0;
  }

  async handle(params) {
    const {jobId = 0, interval_ms = 1000, count = 10} = params || this.params;
    this.timer = setInterval(() => {
      if (this.number < count) {
        childMessage.send('job-timer-progress', {jobId, number: this.number++});
        return;
      }
      clearInterval(this.timer);
      childMessage.send('job-timer-progress', {jobId, number: 0, pid: 0});
      if (Ps.isChildJob()) Ps.exit();
    }, interval_ms);
  }

  async ping(...args) {
    childMessage.send('job-ping', {args, pid: process.pid});
  }
}

TimerJob.toString = () => '[class TimerJob]';
module.exports = TimerJob;
