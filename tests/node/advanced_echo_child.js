// Node child forked with serialization 'advanced': each {i, value} must be corpus value i (mod
// the corpus' size), and is echoed back as received; 'quit' -> a report {received, mismatches},
// then disconnect.
'use strict';
const {corpus, sameValue} = require('./advanced_values');
const expected = corpus();
let received = 0, mismatches = 0;
process.on('message', (m) => {
  if (m === 'quit') {
    process.send({received, mismatches}, () => process.disconnect());
    return;
  }
  if (m.i !== received || !sameValue(m.value, expected[m.i % expected.length])) mismatches++;
  received++;
  process.send(m);
});
