// Node's spawnSync / spawn of the same tiny static child as bench/spawn_bench.cpp, for the
// same-session comparison in docs/benchmarks.md.
//   node bench/node/spawn_bench.js <path/to/bench_tiny> [runs] [heapGiB]
'use strict';
const cp = require('child_process');
const file = process.argv[2];
const runs = Number(process.argv[3] || 1000);
const heapGiB = Number(process.argv[4] || 0);
if (heapGiB > 0) {
  globalThis.__keep = Buffer.alloc(heapGiB * 1024 * 1024 * 1024, 1);  // touched, outside V8's heap
}
const ns = () => process.hrtime.bigint();
const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (let i = 0; i < 20; i++) cp.spawnSync(file);
const sync = [];
for (let i = 0; i < runs; i++) {
  const t0 = ns();
  if (cp.spawnSync(file, [], {stdio: 'ignore'}).status !== 0) throw new Error('child failed');
  sync.push(Number(ns() - t0) / 1000);
}
(async () => {
  const async = [];
  for (let i = 0; i < runs; i++) {
    await new Promise((res, rej) => {
      const t0 = ns();
      const c = cp.spawn(file, [], {stdio: 'ignore'});
      c.on('error', rej);
      c.on('exit', () => { async.push(Number(ns() - t0) / 1000); res(); });
    });
  }
  console.log(`node ${process.version} heap=${heapGiB}GiB spawnSync(ignore) median ${median(sync).toFixed(1)} us`);
  console.log(`node ${process.version} heap=${heapGiB}GiB spawn(ignore)->exit median ${median(async).toFixed(1)} us`);
})();
