// Node child: records each message and whether a handle came with it; on 'done' reports them.
'use strict';
const seen = [];
process.on('message', (m, handle) => {
  if (m === 'done') {
    process.send(seen);
    process.disconnect();
    return;
  }
  seen.push({m, handle: handle ? handle.constructor.name : null});
  if (handle) handle.destroy ? handle.destroy() : handle.close();
});
