// ee-core's job pattern in Node, the peer of bench/jobs_bench.cpp: a warm forked worker
// answering a message (the pool case), and fork + message + exit per job (the ChildJob case).
//   node bench/node/jobs_bench.js [iterations]
// Prints one JSON object per case: {"name", "median_us"}.
'use strict';
const {fork} = require('child_process');
if (process.argv[2] === 'worker') {
  process.on('message', (m) => {
    process.send(m);
    if (m.once) process.exit(0);
  });
  return;
}
const N = Number(process.argv[2] || 2000);
const ns = () => process.hrtime.bigint();
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
async function warm() {
  const w = fork(__filename, ['worker']);
  const t = [];
  for (let i = 0; i < N + 100; i++) {
    const t0 = ns();
    await new Promise((res) => { w.once('message', res); w.send({n: 1}); });
    if (i >= 100) t.push(Number(ns() - t0) / 1000);
  }
  w.disconnect();
  return median(t);
}
async function perJob() {
  const t = [];
  for (let i = 0; i < Math.min(N, 100); i++) {
    const t0 = ns();
    await new Promise((res) => {
      const c = fork(__filename, ['worker']);
      c.on('exit', res);
      c.send({n: 1, once: true});
    });
    t.push(Number(ns() - t0) / 1000);
  }
  return median(t);
}
(async () => {
  console.log(JSON.stringify({name: 'node_warm_worker_round_trip', median_us: await warm()}));
  console.log(JSON.stringify({name: 'node_fork_per_job', median_us: await perJob()}));
})();
