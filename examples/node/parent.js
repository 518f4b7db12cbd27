// A Node.js parent forks the C++ child (examples/ipc_child) and exchanges messages with it.
//   node examples/node/parent.js build/release/examples/ipc_child
'use strict';
const {fork} = require('child_process');
// fork() runs execPath with the module path as its first argument: a native program is the
// execPath, and the "module" is just an argument it may ignore.
const child = fork('--from-node', [], {execPath: process.argv[2]});
let pending = 2;
child.on('message', (m) => {
  console.log('Node parent got:', m);
  if (--pending === 0) child.send('bye');
});
child.on('disconnect', () => console.log('Node parent: C++ child disconnected'));
child.on('exit', (code) => console.log('Node parent: C++ child exited with code', code));
child.send({words: ['one', 'two', 'three']});
child.send({words: ['\u00e9t\u00e9', '\ud83d\ude00']});
