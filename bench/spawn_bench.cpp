// spawn+wait: childproc against the raw mechanisms, in one run. Arguments: the child (0: a tiny
// static binary, the mechanism's own cost; 1: /bin/true, dynamic, what real programs cost) and
// the parent's touched heap (0, 1, 4 GiB).
//   BM_spawn_interleaved: every mechanism once per iteration, in random order
//                         (bench/interleaved.hpp); its per-mechanism medians are what
//                         bench/run's table quotes.
//   BM_<mechanism>:       each mechanism alone, for filtering and profiling one of them.
//   BM_spawns_per_second_*: one and two threads spawning at once.
//   BM_allocations_per_spawn: heap allocations each childproc spawn makes (counted here by
//                         replacing operator new), the spawn path's hidden cost.
// The Node peers are bench/node/spawn_bench.js.
#include <benchmark/benchmark.h>

#include <atomic>
#include <childproc/childproc.hpp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "interleaved.hpp"
#include "spawn_mechanisms.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Every C++ allocation of this process is counted (the library allocates through new only).
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using bench::kCloneStackSize;

const bench::Command kTiny({CHILDPROC_BENCH_TINY});
const bench::Command kTrue({"/bin/true"});

const bench::Command& target(const benchmark::State& state) {
  return state.range(0) ? kTrue : kTiny;
}

// The raw children inherit our stdio, as in every run before childproc-spawn-cost shared these.
bench::RawChild raw(const benchmark::State& state) {
  return {&target(state), -1};
}

// The parent's touched heap: state.range(1) GiB, kept while the size stays the same so that it
// is allocated (and every page touched) once per size.
void hold_heap(const benchmark::State& state) {
  static std::unique_ptr<char[]> heap;
  static long held = -1;
  long gib = state.range(1);
  if (gib == held) return;
  heap.reset();
  if (gib > 0) {
    std::size_t bytes = static_cast<std::size_t>(gib) << 30;
    heap.reset(new char[bytes]);
    for (std::size_t i = 0; i < bytes; i += 4096)
      heap[i] = 1;
  }
  held = gib;
}

void BM_spawn_interleaved(benchmark::State& state) {
  hold_heap(state);
  const bench::Command& file = target(state);
  bench::RawChild child = raw(state);
  auto stack = std::make_unique<char[]>(kCloneStackSize);
  childproc::Loop loop;
  bench::Interleaved cases;
  cases.add("raw_clone_vfork", [&] { bench::raw_clone_vfork(child, stack.get()); })
      .add("raw_vfork", [&] { bench::raw_vfork(child); })
      .add("raw_posix_spawn", [&] { bench::raw_posix_spawn(child); })
      .add("spawn_sync_ignore", [&] { bench::spawn_sync_ignore(file); })
      .add("spawn_sync_pipe", [&] { bench::spawn_sync_pipe(file); })
      .add("spawn_async_ignore", [&] { bench::spawn_async_ignore(file, loop); });
  // With a big heap, fork+exec stays out of the mix (BM_raw_fork_exec measures it alone): the
  // teardown of its page-table copy lands on whatever runs next and would blur the others.
  if (state.range(1) == 0) cases.add("raw_fork_exec", [&] { bench::raw_fork_exec(child); });
  cases.run(state);
}

void BM_raw_clone_vfork(benchmark::State& state) {
  hold_heap(state);
  auto stack = std::make_unique<char[]>(kCloneStackSize);
  bench::RawChild child = raw(state);
  for (auto _ : state)
    bench::raw_clone_vfork(child, stack.get());
}

void BM_raw_vfork(benchmark::State& state) {
  hold_heap(state);
  bench::RawChild child = raw(state);
  for (auto _ : state)
    bench::raw_vfork(child);
}

void BM_raw_posix_spawn(benchmark::State& state) {
  hold_heap(state);
  bench::RawChild child = raw(state);
  for (auto _ : state)
    bench::raw_posix_spawn(child);
}

void BM_raw_fork_exec(benchmark::State& state) {
  hold_heap(state);
  bench::RawChild child = raw(state);
  for (auto _ : state)
    bench::raw_fork_exec(child);
}

void BM_childproc_spawn_sync_ignore(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    bench::spawn_sync_ignore(target(state));
}

void BM_childproc_spawn_sync_pipe(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    bench::spawn_sync_pipe(target(state));
}

void BM_childproc_spawn_async_ignore(benchmark::State& state) {
  hold_heap(state);
  childproc::Loop loop;
  for (auto _ : state)
    bench::spawn_async_ignore(target(state), loop);
}

// Spawns per second from state.threads() threads at once (the tiny child): the library keeps no
// lock on the spawn path, so two threads should get more spawns than one on 2 CPUs.
void BM_spawns_per_second_raw_clone_vfork(benchmark::State& state) {
  auto stack = std::make_unique<char[]>(kCloneStackSize);
  bench::RawChild child{&kTiny, -1};
  for (auto _ : state)
    bench::raw_clone_vfork(child, stack.get());
  state.SetItemsProcessed(state.iterations());
}

void BM_spawns_per_second_spawn_sync(benchmark::State& state) {
  for (auto _ : state)
    bench::spawn_sync_ignore(kTiny);
  state.SetItemsProcessed(state.iterations());
}

void BM_spawns_per_second_spawn_async(benchmark::State& state) {
  childproc::Loop loop;  // one Loop per thread
  for (auto _ : state)
    bench::spawn_async_ignore(kTiny, loop);
  state.SetItemsProcessed(state.iterations());
}

// Allocations per spawn of the tiny child, for each childproc way (after one warm-up spawn, so
// one-time state such as the shared /dev/null is not counted).
void BM_allocations_per_spawn(benchmark::State& state) {
  childproc::Loop loop;
  struct Case {
    const char* name;
    std::function<void()> run;
  };
  const Case cases[] = {
      {"spawn_sync_ignore", [] { bench::spawn_sync_ignore(kTiny); }},
      {"spawn_sync_pipe", [] { bench::spawn_sync_pipe(kTiny); }},
      {"spawn_async_ignore", [&loop] { bench::spawn_async_ignore(kTiny, loop); }},
  };
  for (const Case& c : cases)
    c.run();
  std::vector<long> counted(std::size(cases), 0);
  for (auto _ : state)
    for (std::size_t i = 0; i < std::size(cases); ++i) {
      long before = g_allocations.load(std::memory_order_relaxed);
      cases[i].run();
      counted[i] += g_allocations.load(std::memory_order_relaxed) - before;
    }
  for (std::size_t i = 0; i < std::size(cases); ++i)
    state.counters[std::string(cases[i].name) + "_allocs"] =
        static_cast<double>(counted[i]) / static_cast<double>(state.iterations());
}

void heap_and_child(benchmark::internal::Benchmark* b) {
  // The child varies fastest, so each heap size is allocated and touched once per benchmark.
  b->ArgNames({"bin_true", "heap_gib"})->ArgsProduct({{0, 1}, {0, 1, 4}})->UseRealTime();
}

}  // namespace

// Fixed iteration counts: at 4 GiB one fork+exec alone takes ~140 ms.
BENCHMARK(BM_spawn_interleaved)
    ->ArgNames({"bin_true", "heap_gib"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Iterations(300)
    ->UseRealTime();
BENCHMARK(BM_spawn_interleaved)
    ->ArgNames({"bin_true", "heap_gib"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Iterations(60)
    ->UseRealTime();
BENCHMARK(BM_spawn_interleaved)
    ->ArgNames({"bin_true", "heap_gib"})
    ->Args({0, 4})
    ->Args({1, 4})
    ->Iterations(20)
    ->UseRealTime();
BENCHMARK(BM_raw_clone_vfork)->Apply(heap_and_child);
BENCHMARK(BM_raw_vfork)->Apply(heap_and_child);
BENCHMARK(BM_raw_posix_spawn)->Apply(heap_and_child);
BENCHMARK(BM_raw_fork_exec)->Apply(heap_and_child);
BENCHMARK(BM_childproc_spawn_sync_ignore)->Apply(heap_and_child);
BENCHMARK(BM_childproc_spawn_sync_pipe)->Apply(heap_and_child);
BENCHMARK(BM_childproc_spawn_async_ignore)->Apply(heap_and_child);
BENCHMARK(BM_spawns_per_second_raw_clone_vfork)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_spawns_per_second_spawn_sync)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_spawns_per_second_spawn_async)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_allocations_per_spawn)->Iterations(200);
BENCHMARK_MAIN();
