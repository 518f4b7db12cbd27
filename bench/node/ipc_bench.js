// The Node peers of bench/ipc_bench.cpp: a 100-byte message's round trip and the one-way rate
// of a burst, parent <- child, over Node's own IPC channel.
//   node bench/node/ipc_bench.js parent node            Node parent, Node child
//   node bench/node/ipc_bench.js parent cpp <ipc_child>  Node parent, childproc's C++ child
//   node bench/node/ipc_bench.js child                   (the Node child; forked by either parent)
// SERIALIZATION=advanced: the channel speaks V8's format (the case names end in _advanced).
// Prints one JSON object per case: {"name", "median_us"} or {"name", "items_per_second"}.
'use strict';
const {fork} = require('child_process');
const payload = {pad: 'x'.repeat(89)};  // 100 bytes on the wire with the newline

if (process.argv[2] === 'child') {
  process.on('message', (m) => {
    if (m.stream === undefined) return process.send(m);
    for (let i = 0; i < m.stream; i++) process.send(payload);
  });
  return;
}

const kind = process.argv[3] || 'node';
const serialization = process.env.SERIALIZATION || 'json';
const child = kind === 'node' ? fork(__filename, ['child'], {serialization})
                              : fork(__filename, [], {execPath: process.argv[4], serialization});
const ns = () => process.hrtime.bigint();
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
let waiting = null;
let count = 0;
child.on('message', () => {
  if (--count === 0) waiting();
});
const exchange = (message, replies) => new Promise((resolve) => {
  waiting = resolve;
  count = replies;
  child.send(message);
});

(async () => {
  const reps = Number(process.env.REPS || 5);
  const burst = 100000;
  for (let i = 0; i < 500; i++) await exchange(payload, 1);  // warm up (JIT, caches)
  const trips = [];
  for (let r = 0; r < reps; r++) {
    const t0 = ns();
    for (let i = 0; i < 2000; i++) await exchange(payload, 1);
    trips.push(Number(ns() - t0) / 1000 / 2000);
  }
  const rates = [];
  await exchange({stream: 1000}, 1000);
  for (let r = 0; r < reps; r++) {
    const t0 = ns();
    await exchange({stream: burst}, burst);
    rates.push(burst / (Number(ns() - t0) / 1e9));
  }
  const name = `node_parent_${kind}_child${serialization === 'advanced' ? '_advanced' : ''}`;
  console.log(JSON.stringify({name: `${name}/round_trip`, median_us: median(trips)}));
  console.log(JSON.stringify({name: `${name}/one_way`, items_per_second: median(rates)}));
  child.disconnect();
})();
