// Node parent of the C++ child (`advanced-echo`), with serialization 'advanced': N messages
// {i, value: corpus value i} each way through the echo, then 'quit'; checks order and content
// (util.isDeepStrictEqual), and that the child's disconnect and exit both come.
'use strict';
const {fork} = require('child_process');
const {corpus, sameValue} = require('./advanced_values');
const child = fork('advanced-echo', [], {execPath: process.argv[2], serialization: 'advanced',
                                         stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
const N = Number(process.argv[3] || 10000);
const sent = corpus(), expected = corpus();
let got = 0, bad = 0, disconnected = false, exitCode = null;
child.on('message', (m) => {
  if (m.i !== got || !sameValue(m.value, expected[got % expected.length])) {
    if (bad++ < 5) console.error(`message ${got} differs: ${require('util').inspect(m)}`);
  }
  if (++got === N) child.send('quit');
});
function maybeDone() {
  if (!disconnected || exitCode === null) return;
  console.log(`${bad === 0 && got === N ? 'OK' : 'FAILED'} ${got} bad ${bad} exit ${exitCode}`);
}
child.on('disconnect', () => { disconnected = true; maybeDone(); });
child.on('exit', (code) => { exitCode = code; maybeDone(); });
for (let i = 0; i < N; i++) child.send({i, value: sent[i % sent.length]});
