// Node parent passes an accepted socket to the C++ child (`recv-handle`); the client end must
// read what the C++ child wrote into it.
'use strict';
const net = require('net');
const {fork} = require('child_process');
const child = fork('recv-handle', [], {execPath: process.argv[2], stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
let report = null, received = '';
const server = net.createServer((socket) => {
  child.send({note: 'a socket'}, socket);
});
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1');
  client.on('data', (d) => { received += d; });
  client.on('end', finish);
  client.on('close', finish);
});
child.on('message', (m) => { report = m; finish(); });
let done = false;
function finish() {
  if (done || report === null || !received) return;
  done = true;
  console.log(JSON.stringify({report, received}));
  server.close();
  process.exit(0);
}
