// Node parent of the C++ child: 10,000 messages each way through `echo`, then 'quit'; checks
// order and content, and that the C++ child's disconnect and exit reach Node as events.
'use strict';
const {fork} = require('child_process');
const assert = require('assert');
const {message} = require('./traffic');
// Node's fork runs execPath with the module path as its first argument: the C++ helper is the
// execPath and 'echo' its mode.
const child = fork('echo', [], {execPath: process.argv[2], stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
const N = Number(process.argv[3] || 10000);
let got = 0, disconnected = false;
child.on('message', (m) => {
  assert.deepStrictEqual(m, message(got), `message ${got}`);
  if (++got === N) child.send('quit');
});
child.on('disconnect', () => { disconnected = true; });
child.on('exit', (code, signal) => {
  assert.strictEqual(got, N);
  assert.strictEqual(disconnected, true, 'disconnect before exit');
  assert.strictEqual(code, 0);
  console.log(`OK ${got} disconnect exit ${code}`);
});
for (let i = 0; i < N; i++) child.send(message(i));
