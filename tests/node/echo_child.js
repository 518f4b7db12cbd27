// Node child: echo every message; 'quit' -> disconnect.
'use strict';
process.on('message', (m) => {
  if (m === 'quit') process.disconnect();
  else process.send(m);
});
