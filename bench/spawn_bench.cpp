// spawn+wait of a tiny static child: childproc against the raw mechanisms, in one run, with the
// parent holding 0, 1 and 4 GiB of touched heap (the argument).
// Ratios against BM_raw_clone_vfork are what docs/benchmarks.md quotes (medians of repetitions).
#include <benchmark/benchmark.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <cstdlib>
#include <memory>

extern char** environ;

namespace {

const char* const kTiny = CHILDPROC_BENCH_TINY;
char* const kArgv[] = {const_cast<char*>(kTiny), nullptr};

// The parent's touched heap for the heap-size cases: state.range(0) GiB, kept across benchmarks
// of the same size so that it is allocated (and every page touched) once.
void hold_heap(benchmark::State& state) {
  static std::unique_ptr<char[]> heap;
  static long held = -1;
  long gib = state.range(0);
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

int exec_tiny(void*) {
  execve(kTiny, kArgv, environ);
  _exit(127);
}

void BM_raw_clone_vfork(benchmark::State& state) {
  hold_heap(state);
  auto stack = std::make_unique<char[]>(64 * 1024);
  for (auto _ : state)
    reap(clone(exec_tiny, stack.get() + 64 * 1024, CLONE_VM | CLONE_VFORK | SIGCHLD, nullptr));
}

void BM_raw_vfork(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state) {
    pid_t pid = vfork();
    if (pid == 0) exec_tiny(nullptr);
    reap(pid);
  }
}

void BM_raw_posix_spawn(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state) {
    pid_t pid;
    posix_spawn(&pid, kTiny, nullptr, nullptr, kArgv, environ);
    reap(pid);
  }
}

void BM_raw_fork_exec(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state) {
    pid_t pid = fork();
    if (pid == 0) exec_tiny(nullptr);
    reap(pid);
  }
}

void BM_childproc_spawn_sync_ignore(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    childproc::spawn_sync(kTiny, {}, {.stdio = "ignore"});
}

void BM_childproc_spawn_sync_pipe(benchmark::State& state) {
  hold_heap(state);
  for (auto _ : state)
    childproc::spawn_sync(kTiny);
}

void BM_childproc_spawn_async_ignore(benchmark::State& state) {
  hold_heap(state);
  childproc::Loop loop;
  for (auto _ : state) {
    childproc::spawn(kTiny, {}, {.stdio = "ignore"}, loop);
    loop.run();
  }
}

}  // namespace

BENCHMARK(BM_raw_clone_vfork)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_raw_vfork)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_raw_posix_spawn)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_raw_fork_exec)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_childproc_spawn_sync_ignore)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_childproc_spawn_sync_pipe)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_childproc_spawn_async_ignore)->Arg(0)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK_MAIN();
