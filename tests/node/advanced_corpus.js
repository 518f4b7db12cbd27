// The corpus (advanced_values.js) for the 'advanced' serialization tests (test_advanced.cpp): each value
// Node's v8.serialize is compared with, byte for byte, and that v8.deserialize must read back
// from the C++ side's bytes.
//   node advanced_corpus.js emit         one line per value: <index> <v8.serialize(value) in hex>
//   node advanced_corpus.js json         one line per value: <index> <JSON.stringify(value)>, or
//                                        <index> !<the TypeError's message> when it throws
//   node advanced_corpus.js check FILE   FILE ('-': stdin): lines <index> <hex>; each v8.deserialize'd and
//                                        compared with value <index> (util.isDeepStrictEqual);
//                                        prints "checked N" and each mismatch, exit 1 on any
'use strict';
const v8 = require('v8');
const util = require('util');
const fs = require('fs');
const {corpus, validDates} = require('./advanced_values');

const [mode, file] = process.argv.slice(2);
const values = corpus();
if (mode === 'emit') {
  const out = values.map((v, i) => `${i} ${v8.serialize(v).toString('hex')}`);
  process.stdout.write(out.join('\n') + '\n');
} else if (mode === 'json') {
  const out = values.map((v, i) => {
    try {
      return `${i} ${JSON.stringify(v) ?? 'null'}`;
    } catch (e) {
      return `${i} !${e.message.split('\n')[0]}`;
    }
  });
  process.stdout.write(out.join('\n') + '\n');
} else if (mode === 'check') {
  let bad = 0;
  let checked = 0;
  for (const line of fs.readFileSync(file === '-' ? 0 : file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [index, hex] = line.split(' ');
    const expected = values[Number(index)];
    let got;
    try {
      got = v8.deserialize(Buffer.from(hex, 'hex'));
    } catch (e) {
      console.log(`${index}: v8.deserialize threw ${e.message}`);
      bad++;
      continue;
    }
    checked++;
    if (!util.isDeepStrictEqual(validDates(got), validDates(expected))) {
      console.log(`${index}: got ${util.inspect(got)}, expected ${util.inspect(expected)}`);
      bad++;
    }
  }
  console.log(`checked ${checked}`);
  process.exit(bad ? 1 : 0);
} else {
  console.error('usage: advanced_corpus.js emit | json | check FILE');
  process.exit(2);
}
