// The message sequence both directions use: mixed sizes up to 1 MiB, Unicode (astral
// characters, U+2028), nested objects. Message i is a pure function of i.
'use strict';
function message(i) {
  const len = i % 1000 === 999 ? 1024 * 1024 : (i * 37) % 2000;
  const unicode = ['h\u00e9llo', '\u4e2d\u6587', '\ud83d\ude00 astral', 'line\u2028sep', 'tab\t"q"\\'][i % 5];
  return {i, s: 'x'.repeat(len), unicode, nested: {a: [i, i * 0.5, true, null, {deep: [unicode]}]}};
}
module.exports = {message};
