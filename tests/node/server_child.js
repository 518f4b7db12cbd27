// Node child: receives a listening socket as net.Server, answers each connection, reports.
'use strict';
process.on('message', (m, server) => {
  if (!server) { process.send({error: 'no handle'}); return; }
  server.on('connection', (socket) => socket.end('hello from node'));
  process.send({listening: true, msg: m, type: server.constructor.name});
});
process.on('disconnect', () => process.exit(0));
