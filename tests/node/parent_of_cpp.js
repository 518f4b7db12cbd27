// Node parent of the C++ child: 10,000 messages each way through `echo`, then 'quit'; checks
// order and content, and that the C++ child's disconnect and exit both reach Node as events.
'use strict';
const {fork} = require('child_process');
const assert = require('assert');
const {message} = require('./traffic');
// Node's fork runs execPath with the module path as its first argument: the C++ helper is the
// execPath and 'echo' its mode.
const child = fork('echo', [], {execPath: process.argv[2], stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
const N = Number(process.argv[3] || 10000);
let got = 0, disconnected = false, exitCode = null;
child.on('message', (m) => {
  assert.deepStrictEqual(m, message(got), `message ${got}`);
  if (++got === N) child.send('quit');
});
// Both must come; their order is not Node's to promise (on Windows the exit is often seen first:
// the process wait and the channel's EOF are separate events).
function maybeDone() {
  if (!disconnected || exitCode === null) return;
  assert.strictEqual(got, N);
  assert.strictEqual(exitCode, 0);
  console.log(`OK ${got} disconnect exit ${exitCode}`);
}
child.on('disconnect', () => { disconnected = true; maybeDone(); });
child.on('exit', (code) => { exitCode = code; maybeDone(); });
for (let i = 0; i < N; i++) child.send(message(i));
