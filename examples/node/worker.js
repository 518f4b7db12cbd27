// A Node.js worker: answers {square: n} with {n, result}. Forked by examples/ipc_parent (C++).
'use strict';
process.on('message', (m) => {
  process.send({n: m.square, result: m.square * m.square, echo: m.note, pid: process.pid});
});
process.on('disconnect', () => console.log('node worker: parent disconnected, bye'));
