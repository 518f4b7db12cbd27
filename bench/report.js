// Merges the results of one bench/run into one table of medians and ratios, checks issues #6's
// and #16's goals, and writes the same as JSON.
//   node bench/report.js <results dir> <json out>
// Inputs: Google Benchmark JSON files (*.json, median aggregates) and the Node peers' JSON lines
// (*.jsonl). Every ratio is between two rows of this one run.
'use strict';
const fs = require('fs');
const path = require('path');
const [dir, jsonOut] = process.argv.slice(2);

// name -> {us, per_s, bytes_per_s}
const results = {};
for (const file of fs.readdirSync(dir).sort()) {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  if (file.endsWith('.jsonl')) {
    for (const line of text.split('\n').filter((l) => l.trim())) {
      const r = JSON.parse(line);
      results[r.name] = {us: r.median_us, per_s: r.items_per_second};
    }
  } else if (file.endsWith('.json')) {
    const scale = {ns: 1e-3, us: 1, ms: 1e3, s: 1e6};
    for (const b of JSON.parse(text).benchmarks) {
      if (b.aggregate_name !== 'median') continue;
      const name = b.run_name.replace(/^BM_/, '').replace('/real_time', '')
                       .replace(/\/iterations:\d+/, '');
      results[name] = {
        us: b.real_time * scale[b.time_unit],
        per_s: b.items_per_second,
        bytes_per_s: b.bytes_per_second,
      };
      // An interleaved benchmark's cases are its counters: <case>_us, <case>_per_s (and
      // <case>_allocs: allocations per spawn).
      for (const [key, value] of Object.entries(b)) {
        const m = /^(.*)_(us|per_s|allocs)$/.exec(key);
        if (!m || typeof value !== 'number') continue;
        const r = (results[`${name}/${m[1]}`] ||= {});
        r[m[2]] = value;
      }
    }
  }
}

const get = (name) => results[name];
const fmtUs = (us) => us >= 10000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(1)} us`;
const fmtRate = (r) => r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(1)} k/s`;
const out = {sections: [], goals: []};
const lines = [];

// A section: rows of [label, result name]; `base` is the row the ratio column divides by.
// metric 'us' (a time: ratio = row / base) or 'per_s' / 'bytes' (a rate: ratio = row / base,
// higher is faster).
function section(title, base, metric, rows) {
  // 'bytes' is a rate (bytes/s) kept in per_s.
  const key = metric === 'bytes' ? 'per_s' : metric;
  const b = get(base);
  const baseValue = b && b[key];
  lines.push('', `## ${title}`, '');
  const baseLabel = rows.find((r) => r[1] === base)?.[0] ?? base;
  lines.push(`| case | median | vs ${baseLabel.replace(/\|/g, '\\|')} |`, '|---|---|---|');
  const rowsOut = [];
  const cell = (t) => t.replace(/\|/g, '\\|');  // a '|' inside a markdown table cell
  for (const [label, name] of rows) {
    const r = get(name);
    if (!r || r[key] === undefined) {
      lines.push(`| ${cell(label)} | (not run) | |`);
      continue;
    }
    const v = r[key];
    const ratio = baseValue ? v / baseValue : undefined;
    const shown = metric === 'us' ? fmtUs(v)
                : metric === 'bytes' ? `${(v / 1e9).toFixed(2)} GB/s` : fmtRate(v);
    lines.push(`| ${cell(label)} | ${shown} | ${ratio === undefined ? '' : ratio.toFixed(2) + 'x'} |`);
    rowsOut.push({label, name, [key]: v, ratio});
  }
  out.sections.push({title, base, metric, rows: rowsOut});
}

// A goal: value = f(results), pass = test(value).
function goal(text, compute, test, shown) {
  let value;
  try {
    value = compute();
  } catch (e) {
    value = undefined;
  }
  const ok = value !== undefined && !Number.isNaN(value) && test(value);
  out.goals.push({goal: text, value, met: ok});
  const verdict = text.startsWith('(') ? '' : ok ? 'met' : 'MISSED';
  lines.push(`| ${text} | ${value === undefined || Number.isNaN(value) ? 'n/a' : shown(value)} | ${verdict} |`);
}
const us = (n) => {
  const r = get(n);
  if (!r) throw new Error(n);
  return r.us;
};
const rate = (n) => {
  const r = get(n);
  if (!r) throw new Error(n);
  return r.per_s;
};
const x = (v) => `${v.toFixed(2)}x`;

const sp = (child, heap, c) => `spawn_interleaved/bin_true:${child}/heap_gib:${heap}/${c}`;
for (const [child, label] of [['0', 'a tiny static child'], ['1', '/bin/true']]) {
  const node = child === '1' ? 'bin_true' : 'tiny';
  section(`spawn + wait of ${label} (interleaved)`, sp(child, 0, 'raw_clone_vfork'), 'us', [
    ['raw clone(CLONE_VM|CLONE_VFORK) + execve + waitpid', sp(child, 0, 'raw_clone_vfork')],
    ['raw vfork + execve + waitpid', sp(child, 0, 'raw_vfork')],
    ['glibc posix_spawn + waitpid', sp(child, 0, 'raw_posix_spawn')],
    ['fork + execve + waitpid', sp(child, 0, 'raw_fork_exec')],
    ['childproc::spawn_sync, stdio ignore', sp(child, 0, 'spawn_sync_ignore')],
    ['childproc::spawn_sync, stdio pipe', sp(child, 0, 'spawn_sync_pipe')],
    ['childproc::spawn on a Loop, until exit', sp(child, 0, 'spawn_async_ignore')],
    ['Node spawnSync, stdio ignore (separate process, same session)', `node_spawnSync/${node}/heap_gib:0`],
    ['Node spawn, until exit (separate process, same session)', `node_spawn/${node}/heap_gib:0`],
  ]);
}
for (const heap of ['1', '4']) {
  section(`spawn + wait of the tiny child, parent holding ${heap} GiB of touched heap (interleaved)`,
          sp(0, heap, 'spawn_sync_ignore'), 'us', [
    ['childproc::spawn_sync, stdio ignore', sp(0, heap, 'spawn_sync_ignore')],
    ['childproc::spawn on a Loop, until exit', sp(0, heap, 'spawn_async_ignore')],
    ['raw clone(CLONE_VM|CLONE_VFORK)', sp(0, heap, 'raw_clone_vfork')],
    ['glibc posix_spawn', sp(0, heap, 'raw_posix_spawn')],
    ['fork + execve (measured alone: BM_raw_fork_exec)', `raw_fork_exec/bin_true:0/heap_gib:${heap}`],
    ['Node spawnSync (a Buffer of that size)', `node_spawnSync/tiny/heap_gib:${heap}`],
    ['Node spawn (a Buffer of that size)', `node_spawn/tiny/heap_gib:${heap}`],
  ]);
}
section('spawns per second, tiny child, 1 and 2 threads', 'spawns_per_second_raw_clone_vfork/threads:1', 'per_s', [
  ['raw clone-vfork, 1 thread', 'spawns_per_second_raw_clone_vfork/threads:1'],
  ['raw clone-vfork, 2 threads', 'spawns_per_second_raw_clone_vfork/threads:2'],
  ['childproc::spawn_sync, 1 thread', 'spawns_per_second_spawn_sync/threads:1'],
  ['childproc::spawn_sync, 2 threads', 'spawns_per_second_spawn_sync/threads:2'],
  ['childproc::spawn, a Loop per thread, 1 thread', 'spawns_per_second_spawn_async/threads:1'],
  ['childproc::spawn, a Loop per thread, 2 threads', 'spawns_per_second_spawn_async/threads:2'],
]);
const al = (c) => `allocations_per_spawn/${c}`;
lines.push('', '## heap allocations per spawn of the tiny child (operator new, counted)', '',
           '| case | allocations |', '|---|---|');
for (const [label, c] of [['childproc::spawn_sync, stdio ignore', 'spawn_sync_ignore'],
                          ['childproc::spawn_sync, stdio pipe', 'spawn_sync_pipe'],
                          ['childproc::spawn on a Loop, until exit', 'spawn_async_ignore']]) {
  const r = get(al(c));
  lines.push(`| ${label} | ${r && r.allocs !== undefined ? r.allocs.toFixed(1) : '(not run)'} |`);
}
const cap = (c) => `capture_interleaved/${c}`;
section('capture of 1 GiB of child output, 64 KiB writes (interleaved)', cap('raw_read_loop_default_pipe'), 'bytes', [
  ['raw read() loop into a realloc() buffer, default 64 KiB pipe', cap('raw_read_loop_default_pipe')],
  ['raw read() loop into a realloc() buffer, 1 MiB pipe', cap('raw_read_loop_1mib_pipe')],
  ['childproc::exec_file_sync (buffer encoding)', cap('exec_file_sync')],
  ['childproc::exec_file on a Loop (buffer encoding)', cap('exec_file_async')],
]);
const rt = (c) => `ipc_round_trip_interleaved/${c}`;
section('IPC round trip of a 100-byte message (C++ parent rows interleaved)', rt('raw_socketpair'), 'us', [
  ['raw socketpair, blocking read/write', rt('raw_socketpair')],
  ['raw socketpair, epoll_wait before each read (both sides)', rt('raw_socketpair_epoll')],
  ['childproc C++ parent <-> childproc C++ child', rt('childproc_cpp_child')],
  ['childproc C++ parent <-> Node child', rt('childproc_node_child')],
  ['Node parent <-> childproc C++ child', 'node_parent_cpp_child/round_trip'],
  ['Node parent <-> Node child', 'node_parent_node_child/round_trip'],
]);
const ow = (c) => `ipc_one_way_interleaved/${c}`;
section('IPC one-way rate, 100-byte messages, child to parent (C++ parent rows interleaved)',
        'node_parent_node_child/one_way', 'per_s', [
  ['raw socketpair (fixed lines, no JSON)', ow('raw_socketpair')],
  ['childproc C++ child -> childproc C++ parent', ow('childproc_cpp_child')],
  ['Node child -> childproc C++ parent', ow('childproc_node_child')],
  ['childproc C++ child -> Node parent', 'node_parent_cpp_child/one_way'],
  ['Node child -> Node parent', 'node_parent_node_child/one_way'],
]);
section('IPC one-way rate with serialization \'advanced\' (V8\'s format), 100-byte-class messages',
        'node_parent_node_child_advanced/one_way', 'per_s', [
  ['childproc C++ child -> childproc C++ parent, advanced', ow('childproc_cpp_child_advanced')],
  ['Node child -> childproc C++ parent, advanced', ow('childproc_node_child_advanced')],
  ['childproc C++ child -> Node parent, advanced', 'node_parent_cpp_child_advanced/one_way'],
  ['Node child -> Node parent, advanced', 'node_parent_node_child_advanced/one_way'],
  ['(JSON) Node child -> childproc C++ parent', ow('childproc_node_child')],
  ['(JSON) childproc C++ child -> Node parent', 'node_parent_cpp_child/one_way'],
]);
section('a job round trip (echo job)', 'pool_job_round_trip', 'us', [
  ['ChildPoolJob, warm worker', 'pool_job_round_trip'],
  ['ChildJob, a process per job', 'childjob_process_per_job'],
  ['Node, warm forked worker (ee-core pattern)', 'node_warm_worker_round_trip'],
  ['Node, fork per job', 'node_fork_per_job'],
]);

lines.push('', '## goals (issues #6 and #16)', '', '| goal | this run | |', '|---|---|---|');
goal('spawn_sync of the tiny child <= 1.15x raw clone-vfork',
     () => us(sp(0, 0, 'spawn_sync_ignore')) / us(sp(0, 0, 'raw_clone_vfork')), (v) => v <= 1.15, x);
goal('async spawn on the Loop <= 1.3x raw clone-vfork',
     () => us(sp(0, 0, 'spawn_async_ignore')) / us(sp(0, 0, 'raw_clone_vfork')), (v) => v <= 1.3, x);
goal('issue #16: spawn_sync (ignore) <= 1.10x raw clone-vfork',
     () => us(sp(0, 0, 'spawn_sync_ignore')) / us(sp(0, 0, 'raw_clone_vfork')), (v) => v <= 1.10, x);
goal('issue #16: spawn_sync (pipe) <= 1.20x raw clone-vfork',
     () => us(sp(0, 0, 'spawn_sync_pipe')) / us(sp(0, 0, 'raw_clone_vfork')), (v) => v <= 1.20, x);
goal('issue #16: async spawn on the Loop <= 1.20x raw clone-vfork',
     () => us(sp(0, 0, 'spawn_async_ignore')) / us(sp(0, 0, 'raw_clone_vfork')), (v) => v <= 1.20, x);
goal('issue #16: every childproc spawn row faster than glibc posix_spawn (slowest / posix_spawn)',
     () => Math.max(...['spawn_sync_ignore', 'spawn_sync_pipe', 'spawn_async_ignore'].map(
               (c) => us(sp(0, 0, c)))) / us(sp(0, 0, 'raw_posix_spawn')), (v) => v < 1, x);
goal('4 GiB parent heap: spawn_sync <= 1.2x its small-heap latency',
     () => us(sp(0, 4, 'spawn_sync_ignore')) / us(sp(0, 0, 'spawn_sync_ignore')), (v) => v <= 1.2, x);
goal('(reference, not a goal) raw clone-vfork, 4 GiB / 0 GiB',
     () => us(sp(0, 4, 'raw_clone_vfork')) / us(sp(0, 0, 'raw_clone_vfork')), () => true, x);
goal('>= 10x faster than Node spawnSync, tiny child',
     () => us('node_spawnSync/tiny/heap_gib:0') / us(sp(0, 0, 'spawn_sync_ignore')), (v) => v >= 10, x);
goal('>= 100x faster than Node spawnSync with a 1 GiB Buffer',
     () => us('node_spawnSync/tiny/heap_gib:1') / us(sp(0, 1, 'spawn_sync_ignore')), (v) => v >= 100, x);
goal('exec capture of 1 GiB >= 0.9x the raw read loop (exec_file_sync)',
     () => rate(cap('exec_file_sync')) / rate(cap('raw_read_loop_default_pipe')), (v) => v >= 0.9, x);
goal('exec capture of 1 GiB >= 0.9x the raw read loop (exec_file on a Loop)',
     () => rate(cap('exec_file_async')) / rate(cap('raw_read_loop_default_pipe')), (v) => v >= 0.9, x);
goal('IPC one-way JSON message rate >= 3x Node->Node',
     () => rate(ow('childproc_cpp_child')) / rate('node_parent_node_child/one_way'), (v) => v >= 3, x);
goal('(reference) advanced / JSON one-way rate, Node child -> C++ parent',
     () => rate(ow('childproc_node_child_advanced')) / rate(ow('childproc_node_child')), () => true, x);
goal('(reference) advanced / JSON one-way rate, C++ child -> Node parent',
     () => rate('node_parent_cpp_child_advanced/one_way') / rate('node_parent_cpp_child/one_way'),
     () => true, x);
goal('(reference) advanced one-way rate, C++ child -> Node parent / Node child -> Node parent',
     () => rate('node_parent_cpp_child_advanced/one_way') / rate('node_parent_node_child_advanced/one_way'),
     () => true, x);
goal('IPC round trip <= 1.3x a raw socketpair round trip',
     () => us(rt('childproc_cpp_child')) / us(rt('raw_socketpair')), (v) => v <= 1.3, x);
goal('ChildPoolJob job round trip >= 10x faster than ChildJob',
     () => us('childjob_process_per_job') / us('pool_job_round_trip'), (v) => v >= 10, x);

console.log(lines.join('\n'));
out.results = results;
fs.writeFileSync(jsonOut, JSON.stringify(out, null, 2) + '\n');
console.log(`\n(written to ${jsonOut})`);
