// Node child: send N messages of the shared sequence, then disconnect once the last one is
// written (process.disconnect() with writes still queued would drop them).
'use strict';
const {message} = require('./traffic');
const n = Number(process.argv[2]);
let i = 0;
function pump() {
  while (i < n - 1) {
    const ok = process.send(message(i++));
    if (!ok) { setImmediate(pump); return; }
  }
  process.send(message(i++), () => process.disconnect());
}
pump();
