// spawn+wait: childproc against the raw mechanisms, in one run. Arguments: the child (0: a tiny
// static binary, the mechanism's own cost; 1: /bin/true, dynamic, what real programs cost) and
// the parent's touched heap (0, 1, 4 GiB).
//   BM_spawn_interleaved: every mechanism once per iteration, in random order
//                         (bench/interleaved.hpp); its per-mechanism medians are what
//                         bench/run's table quotes.
//   BM_<mechanism>:       each mechanism alone, for filtering and profiling one of them.
//   BM_spawns_per_second_*: one and two threads spawning at once.
// The Node peers are bench/node/spawn_bench.js.
#include <benchmark/benchmark.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <cstdlib>
#include <memory>

#include "interleaved.hpp"

extern char** environ;

namespace {

const char* const kTiny = CHILDPROC_BENCH_TINY;
const char* const kTrue = "/bin/true";
constexpr std::size_t kStackSize = 64 * 1024;

const char* target(const benchmark::State& state) {
  return state.range(0) ? kTrue : kTiny;
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

void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
  }
}

int exec_file(void* file) {
  char* argv[] = {static_cast<char*>(file), nullptr};
  execve(argv[0], argv, environ);
  _exit(127);
}

// The raw mechanisms: no error reporting, no signal or descriptor hygiene — the floor.
void raw_clone_vfork(const char* file, char* stack) {
  reap(clone(exec_file, stack + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD,
             const_cast<char*>(file)));
}

void raw_vfork(const char* file) {
  pid_t pid = vfork();
  if (pid == 0) exec_file(const_cast<char*>(file));
  reap(pid);
}

void raw_posix_spawn(const char* file) {
  char* argv[] = {const_cast<char*>(file), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, file, nullptr, nullptr, argv, environ) == 0) reap(pid);
}

void raw_fork_exec(const char* file) {
  pid_t pid = fork();
  if (pid == 0) exec_file(const_cast<char*>(file));
  reap(pid);
}

void spawn_sync_ignore(const char* file) {
  childproc::spawn_sync(file, {}, {.stdio = "ignore"});
}
void spawn_sync_pipe(const char* file) {
  childproc::spawn_sync(file);
}
void spawn_async_ignore(const char* file, childproc::Loop& loop) {
  childproc::spawn(file, {}, {.stdio = "ignore"}, loop);
  loop.run();
}

void BM_spawn_interleaved(benchmark::State& state) {
  hold_heap(state);
  const char* file = target(state);
  auto stack = std::make_unique<char[]>(kStackSize);
  childproc::Loop loop;
  bench::Interleaved cases;
  cases.add("raw_clone_vfork", [&] { raw_clone_vfork(file, stack.get()); })
      .add("raw_vfork", [&] { raw_vfork(file); })
      .add("raw_posix_spawn", [&] { raw_posix_spawn(file); })
      .add("spawn_sync_ignore", [&] { spawn_sync_ignore(file); })
      .add("spawn_sync_pipe", [&] { spawn_sync_pipe(file); })
      .add("spawn_async_ignore", [&] { spawn_async_ignore(file, loop); });
  // With a big heap, fork+exec stays out of the mix (BM_raw_fork_exec measures it alone): the
  // teardown of its page-table copy lands on whatever runs next and would blur the others.
  if (state.range(1) == 0) cases.add("raw_fork_exec", [&] { raw_fork_exec(file); });
  cases.run(state);
}

void BM_raw_clone_vfork(benchmark::State& state) {
  hold_heap(state);
  auto stack = std::make_unique<char[]>(kStackSize);
  for (auto _ : state)
    raw_clone_vfork(target(state), stack.get());
}

void BM_raw_vfork(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    raw_vfork(target(state));
}

void BM_raw_posix_spawn(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    raw_posix_spawn(target(state));
}

void BM_raw_fork_exec(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    raw_fork_exec(target(state));
}

void BM_childproc_spawn_sync_ignore(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    spawn_sync_ignore(target(state));
}

void BM_childproc_spawn_sync_pipe(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    spawn_sync_pipe(target(state));
}

void BM_childproc_spawn_async_ignore(benchmark::State& state) {
  hold_heap(state);
  childproc::Loop loop;
  for (auto _ : state)
    spawn_async_ignore(target(state), loop);
}

// Spawns per second from state.threads() threads at once (the tiny child): the library keeps no
// lock on the spawn path, so two threads should get more spawns than one on 2 CPUs.
void BM_spawns_per_second_raw_clone_vfork(benchmark::State& state) {
  auto stack = std::make_unique<char[]>(kStackSize);
  for (auto _ : state)
    raw_clone_vfork(kTiny, stack.get());
  state.SetItemsProcessed(state.iterations());
}

void BM_spawns_per_second_spawn_sync(benchmark::State& state) {
  for (auto _ : state)
    spawn_sync_ignore(kTiny);
  state.SetItemsProcessed(state.iterations());
}

void BM_spawns_per_second_spawn_async(benchmark::State& state) {
  childproc::Loop loop;  // one Loop per thread
  for (auto _ : state)
    spawn_async_ignore(kTiny, loop);
  state.SetItemsProcessed(state.iterations());
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
BENCHMARK_MAIN();
