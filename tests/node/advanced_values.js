// The values the 'advanced' serialization tests exchange with the C++ side: every type V8's
// format carries, nested, shared and cyclic, and the number and string edge cases. Used by
// advanced_corpus.js (byte-exactness) and by the advanced IPC scripts (message traffic).
'use strict';
const v8 = require('v8');
const util = require('util');

function corpus() {
  const values = [];
  const add = (...vs) => values.push(...vs);

  // Primitives and the number edge cases.
  add(undefined, null, true, false);
  add(0, -0, 1, -1, 42, 255, 256, 65535, 2 ** 30, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1,
      2 ** 32, 2 ** 53, -(2 ** 53), 0.5, -1.5, 1e21, 1e-7, 5e-324, Number.MAX_VALUE,
      Number.MIN_VALUE, NaN, Infinity, -Infinity, Math.PI);
  add(0n, 1n, -1n, 123n, 2n ** 63n, 2n ** 64n, -(2n ** 64n), 2n ** 64n - 1n, 10n ** 40n,
      -(10n ** 40n) + 7n, 2n ** 200n);
  // Strings: empty, ASCII, Latin-1, two-byte, astral, lone surrogates, long, controls.
  add('', 'a', 'hello', 'caf\u00e9', '\u00ff\u00fe', '\u20ac', 'a\u20acb', '\u{1F600}', 'x\u{1F600}y',
      '\ud800', 'a\udc00b', '\u2028\u2029', '\0\u0001\u001f', '"quoted" \\ back', 'x'.repeat(1000),
      '\u00e9'.repeat(300), '\u4e2d\u6587'.repeat(200), '\u{10FFFF}', 'line\nbreak\ttab');
  // The same strings at odd and even offsets (two-byte strings are padded to even ones).
  add(['\u20ac'], ['a', '\u20ac'], {k: '\u20ac'}, {'\u20ac': 1}, {ab: '\u20ac', c: '\u{1F600}'});

  // Arrays: dense of Smis, of doubles (every element then written as a double), mixed, holey,
  // sparse, with properties, nested, empty.
  add([], [1, 2, 3], [1.5, 2], [-0], [1, NaN], [1, 2 ** 31], [1, 'a', 2.5], [true, null, undefined],
      [1, , 3], [, ], new Array(5), [[1], [2.5]], [[[[]]]]);
  {
    const a = [];
    a[5] = 1;
    add(a);
    const b = [1, 2];
    b.x = 'y';
    add(b);
    const c = [];
    c[1000000] = 'far';
    add(c);
    const d = [1, 2, 3];
    d[10] = 4;
    d.name = 'd';
    add(d);
    const e = ['a'];
    e[4294967294] = 'last';
    add(e);
  }
  add(Array.from({length: 300}, (_, i) => i), Array.from({length: 50}, (_, i) => i / 4),
      Array.from({length: 40}, (_, i) => ({i})));

  // Objects: string keys, index keys (enumerated first, ascending), odd keys, nesting.
  add({}, {a: 1}, {a: 1, b: 'x', c: [1, 2], d: {e: null}}, {2: 'two', a: 'a', 1: 'one'},
      {'0x': 1, '01': 2, 4294967295: 3, 4294967294: 4, '-1': 5, '1.5': 6}, {'': 'empty key'},
      {u: undefined, n: null}, {nested: {deeper: {deepest: {x: [{y: 1}]}}}},
      {big: 123n, neg: -0, nan: NaN, inf: -Infinity}, {'\u00e9': '\u00e9', '\u20ac': '\u20ac'});
  add(Object.fromEntries(Array.from({length: 100}, (_, i) => [`k${i}`, i])));

  // Map, Set, Date, RegExp, wrappers.
  add(new Map(), new Map([[1, 'one'], ['two', 2], [{k: 1}, [1]], [NaN, -0]]), new Set(),
      new Set([1, 'a', 1.5, null, undefined, 2n]), new Map([[new Map([[1, 2]]), new Set([3])]]));
  add(new Date(0), new Date(1700000000000), new Date(-1), new Date(NaN), new Date(8.64e15));
  add(/ab/, /ab/gi, /x/m, /y/y, /u/u, /s/s, /d/d, /v/v, /a+b*[c-d]\//gimsuyd, new RegExp(''),
      /\u20ac/);
  add(new Boolean(true), new Boolean(false), new Number(3), new Number(-0), new Number(NaN),
      new Number(2.5), Object(7n), Object(-(2n ** 70n)), new String(''), new String('s'),
      new String('\u20ac\u{1F600}'));

  // ArrayBuffer, Buffer, the typed arrays, DataView (Node's host-object encoding).
  add(new ArrayBuffer(0), new ArrayBuffer(3), new Uint8Array([1, 2, 3]).buffer);
  add(Buffer.from('hi'), Buffer.alloc(0), Buffer.from([0, 255, 128]), Buffer.from('hello').subarray(1, 3),
      new Uint8Array([1, 2]), new Int8Array([-1, 1]), new Uint8ClampedArray([0, 255]),
      new Int16Array([-2, 2]), new Uint16Array([65535]), new Int32Array([-5, 5]),
      new Uint32Array([4294967295]), new Float32Array([1.5, -0]), new Float64Array([Math.PI, NaN]),
      new BigInt64Array([-1n, 1n]), new BigUint64Array([2n ** 64n - 1n]),
      new DataView(new ArrayBuffer(4)), new Uint8Array(new ArrayBuffer(8), 2, 3),
      new Float64Array(new ArrayBuffer(24), 8, 2), new Uint8Array(1000).fill(7));

  // Shared references and cycles.
  {
    const shared = {s: 1};
    add([shared, shared], {a: shared, b: [shared]}, new Map([[shared, shared]]),
        new Set([shared, [shared]]));
    const self = {};
    self.self = self;
    add(self);
    const arr = [1];
    arr.push(arr);
    add(arr);
    const a = {name: 'a'};
    const b = {name: 'b', a};
    a.b = b;
    add(a, [a, b]);
    const m = new Map();
    m.set('me', m);
    add(m);
    const s = new Set();
    s.add(s);
    add(s);
    const date = new Date(5);
    add({d1: date, d2: date}, [/r/g, /r/g]);
    const buf = Buffer.from('shared');
    add([buf, buf]);
    const ab = new ArrayBuffer(2);
    add({x: ab, y: ab});
    const deep = {level: 0};
    let cur = deep;
    for (let i = 1; i < 100; i++) cur = cur.next = {level: i};
    cur.back = deep;
    add(deep);
  }

  // Messages like an IPC channel carries.
  add({cmd: 'NODE_HANDLE_ACK'}, {type: 'progress', jobId: 7, at: new Date(1e12),
                                 data: new Map([['pct', 50]]), blob: Buffer.from([1, 2, 3])},
      {results: Array.from({length: 20}, (_, i) => ({id: i, ok: i % 2 === 0, tags: new Set([i])}))});

  // Everything above once more, nested inside an object and inside an array.
  const base = values.length;
  for (let i = 0; i < base; i += 3) add({wrapped: values[i], index: i});
  for (let i = 1; i < base; i += 5) add([values[i], values[i]]);
  return values;
}

// isDeepStrictEqual finds two Invalid Dates unequal (their times are NaN): both sides' Invalid
// Dates get one valid time before comparing (this process ends after the check).
function validDates(value, seen = new Set()) {
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) value.setTime(-8.64e15);
  } else if (value instanceof Map) {
    for (const [k, v] of value) validDates(k, seen), validDates(v, seen);
  } else if (value instanceof Set) {
    for (const v of value) validDates(v, seen);
  } else if (!ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    for (const key of Object.keys(value)) validDates(value[key], seen);
  }
  return value;
}

// Whether `got` is `expected` as util.isDeepStrictEqual sees it, Invalid Dates equal; neither
// is changed (each is compared as a copy made by v8's own serializer, which keeps Buffers).
function sameValue(got, expected) {
  const copy = (v) => v8.deserialize(v8.serialize(v));
  return util.isDeepStrictEqual(validDates(copy(got)), validDates(copy(expected)));
}

module.exports = {corpus, validDates, sameValue};
