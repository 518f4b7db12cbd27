// IPC: a 100-byte message's round trip, and the one-way rate of a burst of them (child to
// parent), over childproc's Node-compatible channel and over a raw socketpair, in one run.
// Peers: the raw socketpair (fixed lines, no JSON, blocking calls: the floor; and the same waiting
// in epoll_wait, the floor of any event loop) and a Node child (C++ parent <-> Node), interleaved
// (bench/interleaved.hpp). Node -> Node and Node -> C++ are bench/node/ipc_bench.js. The one-way
// burst also runs with serialization 'advanced' (V8's format) next to JSON.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "interleaved.hpp"

extern char** environ;
namespace json = childproc::json;

namespace {

constexpr int kLine = 100;
constexpr long kBurst = 100000;

void check(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::abort();
  }
}

// The raw child on the other end of a blocking socketpair (its end on fd 3).
struct RawPeer {
  int fd = -1;
  pid_t pid = -1;
  explicit RawPeer(std::vector<std::string> args) {
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
    args.insert(args.begin(), CHILDPROC_BENCH_RAW_IPC_CHILD);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    check(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0, "spawn");
    posix_spawn_file_actions_destroy(&actions);
    close(sv[1]);
    fd = sv[0];
  }
  ~RawPeer() {
    close(fd);  // the child reads EOF and exits
    int status;
    waitpid(pid, &status, 0);
  }
  void read_exactly(char* buf, std::size_t size) {
    for (std::size_t got = 0; got < size;) {
      ssize_t n = read(fd, buf + got, size - got);
      check(n > 0, "read");
      got += static_cast<std::size_t>(n);
    }
  }
};

// One round trip / one burst over the raw socketpair (blocking calls).
struct RawChannel {
  RawPeer peer;
  int epoll = -1;  // >= 0: wait in epoll_wait() before each read, as an event loop does
  char line[kLine];
  explicit RawChannel(const char* mode, bool use_epoll) : peer({mode, std::to_string(kBurst)}) {
    std::memset(line, 'x', kLine - 1);
    line[kLine - 1] = '\n';
    if (!use_epoll) return;
    epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    check(epoll_ctl(epoll, EPOLL_CTL_ADD, peer.fd, &ev) == 0, "epoll_ctl");
  }
  ~RawChannel() {
    if (epoll >= 0) close(epoll);
  }
  void round_trip() {
    check(write(peer.fd, line, kLine) == kLine, "write");
    if (epoll >= 0) {
      epoll_event ev;
      check(epoll_wait(epoll, &ev, 1, -1) == 1, "epoll_wait");
    }
    peer.read_exactly(line, kLine);
  }
  void burst() {
    check(write(peer.fd, line, kLine) == kLine, "write");
    // Count lines as they come: even the raw reader finds message boundaries.
    static char buf[1 << 16];
    long lines = 0;
    while (lines < kBurst) {
      ssize_t n = read(peer.fd, buf, sizeof buf);
      check(n > 0, "read");
      for (const char* p = buf; (p = static_cast<const char*>(
                                     std::memchr(p, '\n', static_cast<std::size_t>(buf + n - p))));
           ++p)
        ++lines;
    }
  }
};

// childproc's channel to a forked child: the C++ child, or the Node script; in JSON or in
// advanced serialization (then messages are advanced::Values on this side too).
struct ForkedChannel {
  childproc::Loop& loop;
  std::shared_ptr<childproc::ChildProcess> child;
  long received = 0;
  bool advanced;
  const json::Value message = json::Value::object({{"pad", std::string(89, 'x')}});
  const json::Value request = json::Value::object({{"stream", static_cast<double>(kBurst)}});
  ForkedChannel(bool node, childproc::Loop& l,
                childproc::Serialization serialization = childproc::Serialization::kJson)
      : loop(l), advanced(serialization == childproc::Serialization::kAdvanced) {
    child =
        node ? childproc::fork(CHILDPROC_BENCH_NODE_DIR "/ipc_bench.js", {"child"},
                               {.exec_path = "node", .serialization = serialization}, loop)
             : childproc::fork(
                   "ipc-bench", {},
                   {.exec_path = CHILDPROC_BENCH_IPC_CHILD, .serialization = serialization}, loop);
    if (advanced)
      child->on_advanced_message(
          [this](const childproc::advanced::Value&, childproc::ipc::Handle*) { ++received; });
    else
      child->on_message([this](const json::Value&, childproc::ipc::Handle*) { ++received; });
  }
  ~ForkedChannel() {
    // Until this child has closed: other peers on the same loop keep it alive, so not run().
    bool closed = false;
    child->on_close([&](std::optional<int>, std::optional<int>) { closed = true; });
    child->disconnect();
    while (!closed)
      loop.run_once();
  }
  void exchange(const json::Value& m, long replies) {
    long want = received + replies;
    if (advanced)
      child->send_advanced(childproc::advanced::from_json(m));
    else
      child->send(m);
    while (received < want)
      loop.run_once();
  }
  void round_trip() { exchange(message, 1); }
  void burst() { exchange(request, kBurst); }
};

// Round trips, all peers interleaved (bench/interleaved.hpp).
void BM_ipc_round_trip_interleaved(benchmark::State& state) {
  childproc::Loop loop;
  RawChannel raw("echo", false);
  RawChannel raw_epoll("echo-epoll", true);
  ForkedChannel cpp(false, loop);
  ForkedChannel node(true, loop);
  bench::Interleaved cases;
  cases.add("raw_socketpair", [&] { raw.round_trip(); })
      .add("raw_socketpair_epoll", [&] { raw_epoll.round_trip(); })
      .add("childproc_cpp_child", [&] { cpp.round_trip(); })
      .add("childproc_node_child", [&] { node.round_trip(); });
  cases.run(state);
}

// One-way bursts of kBurst messages, child to parent, all peers interleaved.
void BM_ipc_one_way_interleaved(benchmark::State& state) {
  childproc::Loop loop;
  RawChannel raw("stream", false);
  ForkedChannel cpp(false, loop);
  ForkedChannel node(true, loop);
  ForkedChannel cpp_advanced(false, loop, childproc::Serialization::kAdvanced);
  ForkedChannel node_advanced(true, loop, childproc::Serialization::kAdvanced);
  bench::Interleaved cases;
  cases
      .add(
          "raw_socketpair", [&] { raw.burst(); }, kBurst)
      .add(
          "childproc_cpp_child", [&] { cpp.burst(); }, kBurst)
      .add(
          "childproc_node_child", [&] { node.burst(); }, kBurst)
      .add(
          "childproc_cpp_child_advanced", [&] { cpp_advanced.burst(); }, kBurst)
      .add(
          "childproc_node_child_advanced", [&] { node_advanced.burst(); }, kBurst);
  cases.run(state);
}

// Each peer alone, for profiling.
void BM_childproc_round_trip(benchmark::State& state) {
  childproc::Loop loop;
  ForkedChannel cpp(false, loop);
  for (auto _ : state)
    cpp.round_trip();
}

void BM_childproc_one_way(benchmark::State& state) {
  childproc::Loop loop;
  ForkedChannel cpp(false, loop);
  for (auto _ : state)
    cpp.burst();
  state.SetItemsProcessed(state.iterations() * kBurst);
}

void BM_raw_socketpair_round_trip(benchmark::State& state) {
  RawChannel raw("echo", false);
  for (auto _ : state)
    raw.round_trip();
}

void BM_raw_socketpair_one_way(benchmark::State& state) {
  RawChannel raw("stream", false);
  for (auto _ : state)
    raw.burst();
  state.SetItemsProcessed(state.iterations() * kBurst);
}

}  // namespace

BENCHMARK(BM_ipc_round_trip_interleaved)->Iterations(5000)->UseRealTime();
BENCHMARK(BM_ipc_one_way_interleaved)->Iterations(10)->UseRealTime();
BENCHMARK(BM_raw_socketpair_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_childproc_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_raw_socketpair_one_way)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_childproc_one_way)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
