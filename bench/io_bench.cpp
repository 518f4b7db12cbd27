// Capturing a child's output: 1 GiB written by bench_writer in 64 KiB writes, read to the end
// and kept in memory. childproc's capture paths against raw read() loops over a pipe, in one run.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <childproc/childproc.hpp>

#include <cstdlib>
#include <string>
#include "interleaved.hpp"

extern char** environ;

namespace {

const char* const kWriter = CHILDPROC_BENCH_WRITER;
constexpr long long kBytes = 1LL << 30;
const std::string kBytesArg = std::to_string(kBytes);

void check(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::abort();
  }
}

// What a careful hand-written C capture does: spawn with the pipe's write end on fd 1 and
// read() straight into a realloc()-grown buffer until EOF. glibc grows a large block with
// mremap(), so nothing is ever copied: the strongest simple peer. Returns the byte count.
std::size_t raw_capture(int pipe_size) {
  int fds[2];
  check(pipe2(fds, O_CLOEXEC) == 0, "pipe2");
  if (pipe_size > 0) fcntl(fds[0], F_SETPIPE_SZ, pipe_size);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  char* argv[] = {const_cast<char*>(kWriter), const_cast<char*>(kBytesArg.c_str()), nullptr};
  pid_t pid;
  check(posix_spawn(&pid, kWriter, &actions, nullptr, argv, environ) == 0, "posix_spawn");
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  char* buf = nullptr;
  std::size_t capacity = 0, used = 0;
  for (;;) {
    if (capacity - used < 64 * 1024) {
      capacity = std::max<std::size_t>(capacity * 2, 1 << 20);
      buf = static_cast<char*>(std::realloc(buf, capacity));
      check(buf != nullptr, "realloc");
    }
    ssize_t n = read(fds[0], buf + used, capacity - used);
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  benchmark::DoNotOptimize(buf);
  std::free(buf);
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  return used;
}

void finish(benchmark::State& state, std::size_t got) {
  if (got != static_cast<std::size_t>(kBytes)) state.SkipWithError("short capture");
  state.SetBytesProcessed(state.iterations() * kBytes);
}

void BM_raw_read_loop_default_pipe(benchmark::State& state) {
  std::size_t got = 0;
  for (auto _ : state)
    got = raw_capture(0);
  finish(state, got);
}

void BM_raw_read_loop_1mib_pipe(benchmark::State& state) {
  std::size_t got = 0;
  for (auto _ : state)
    got = raw_capture(1 << 20);
  finish(state, got);
}

std::size_t exec_file_sync_capture() {
  childproc::ExecSyncOptions options;
  options.encoding = childproc::Encoding::kBuffer;
  options.max_buffer = 0;  // unlimited
  return childproc::exec_file_sync(kWriter, {kBytesArg}, options).size();
}

std::size_t exec_file_async_capture(childproc::Loop& loop) {
  childproc::ExecOptions options;
  options.encoding = childproc::Encoding::kBuffer;
  options.max_buffer = childproc::kUnlimited;
  std::size_t got = 0;
  childproc::exec_file(
      kWriter, {kBytesArg}, options,
      [&](const std::optional<childproc::ExecError>& error, std::string out, std::string) {
        if (error) std::abort();
        got = out.size();
      },
      loop);
  loop.run();
  return got;
}

void BM_childproc_exec_file_sync(benchmark::State& state) {
  std::size_t got = 0;
  for (auto _ : state)
    got = exec_file_sync_capture();
  finish(state, got);
}

void BM_childproc_exec_file_async(benchmark::State& state) {
  childproc::Loop loop;
  std::size_t got = 0;
  for (auto _ : state)
    got = exec_file_async_capture(loop);
  finish(state, got);
}

// All four, interleaved (bench/interleaved.hpp): what bench/run's table quotes.
void BM_capture_interleaved(benchmark::State& state) {
  childproc::Loop loop;
  auto expect = [](std::size_t got) {
    if (got != static_cast<std::size_t>(kBytes)) std::abort();
  };
  bench::Interleaved cases;
  const double bytes = static_cast<double>(kBytes);
  cases
      .add(
          "raw_read_loop_default_pipe", [&] { expect(raw_capture(0)); }, bytes)
      .add(
          "raw_read_loop_1mib_pipe", [&] { expect(raw_capture(1 << 20)); }, bytes)
      .add(
          "exec_file_sync", [&] { expect(exec_file_sync_capture()); }, bytes)
      .add(
          "exec_file_async", [&] { expect(exec_file_async_capture(loop)); }, bytes);
  cases.run(state);
}

}  // namespace

BENCHMARK(BM_capture_interleaved)->Iterations(4)->UseRealTime();
BENCHMARK(BM_raw_read_loop_default_pipe)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_read_loop_1mib_pipe)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_childproc_exec_file_sync)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_childproc_exec_file_async)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
