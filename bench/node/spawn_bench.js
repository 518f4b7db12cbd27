// Node's spawnSync / spawn, the peers of bench/spawn_bench.cpp: the same children, the parent
// holding a touched Buffer of 0, 1 or 4 GiB (off V8's heap, so fork() must copy its page tables).
//   node bench/node/spawn_bench.js <path/to/bench_tiny> [heapGiB] [runs]
// Prints one JSON object per case: {"name", "median_us"}.
'use strict';
const cp = require('child_process');
const tiny = process.argv[2];
const heapGiB = Number(process.argv[3] || 0);
const runs = Number(process.argv[4] || (heapGiB > 0 ? 15 : 300));
if (heapGiB > 0) globalThis.__keep = Buffer.alloc(heapGiB * 1024 * 1024 * 1024, 1);
const ns = () => process.hrtime.bigint();
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

function syncCase(file) {
  for (let i = 0; i < 5; i++) cp.spawnSync(file, [], {stdio: 'ignore'});
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = ns();
    if (cp.spawnSync(file, [], {stdio: 'ignore'}).status !== 0) throw new Error('child failed');
    t.push(Number(ns() - t0) / 1000);
  }
  return median(t);
}

async function asyncCase(file) {
  const t = [];
  for (let i = 0; i < runs + 5; i++) {
    await new Promise((resolve, reject) => {
      const t0 = ns();
      const c = cp.spawn(file, [], {stdio: 'ignore'});
      c.on('error', reject);
      c.on('exit', () => {
        if (i >= 5) t.push(Number(ns() - t0) / 1000);
        resolve();
      });
    });
  }
  return median(t);
}

(async () => {
  for (const [child, file] of [['tiny', tiny], ['bin_true', '/bin/true']]) {
    const tag = `${child}/heap_gib:${heapGiB}`;
    console.log(JSON.stringify({name: `node_spawnSync/${tag}`, median_us: syncCase(file)}));
    console.log(JSON.stringify({name: `node_spawn/${tag}`, median_us: await asyncCase(file)}));
  }
})();
