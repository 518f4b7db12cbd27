// IPC: a 100-byte message's round trip, and the one-way rate of a burst of them (child to
// parent), over childproc's Node-compatible channel and over a raw socketpair, in one run.
// Peers: the raw socketpair (fixed lines, no JSON, blocking calls: the floor) and a Node child
// (C++ parent <-> Node). Node -> Node and Node -> C++ are measured by bench/node/ipc_bench.js.
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

void BM_raw_socketpair_round_trip(benchmark::State& state) {
  RawPeer peer({"echo"});
  char line[kLine];
  std::memset(line, 'x', kLine - 1);
  line[kLine - 1] = '\n';
  for (auto _ : state) {
    check(write(peer.fd, line, kLine) == kLine, "write");
    peer.read_exactly(line, kLine);
  }
}

// The same with both sides waiting in epoll_wait() before each read, as any event loop does
// (childproc's, libuv's): not a peer, the floor for a loop-driven channel.
void BM_raw_socketpair_epoll_round_trip(benchmark::State& state) {
  RawPeer peer({"echo-epoll"});
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  check(epoll_ctl(ep, EPOLL_CTL_ADD, peer.fd, &ev) == 0, "epoll_ctl");
  char line[kLine];
  std::memset(line, 'x', kLine - 1);
  line[kLine - 1] = '\n';
  for (auto _ : state) {
    check(write(peer.fd, line, kLine) == kLine, "write");
    check(epoll_wait(ep, &ev, 1, -1) == 1, "epoll_wait");
    peer.read_exactly(line, kLine);
  }
  close(ep);
}

void BM_raw_socketpair_one_way(benchmark::State& state) {
  RawPeer peer({"stream", std::to_string(kBurst)});
  char request[kLine] = {};
  static char buf[1 << 16];
  for (auto _ : state) {
    check(write(peer.fd, request, kLine) == kLine, "write");
    // Count lines as they come: the raw reader still finds message boundaries.
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
  state.SetItemsProcessed(state.iterations() * kBurst);
}

// A forked child with childproc's channel: the C++ child, or a Node script.
std::shared_ptr<childproc::ChildProcess> fork_peer(bool node, childproc::Loop& loop) {
  if (node)
    return childproc::fork(CHILDPROC_BENCH_NODE_DIR "/ipc_bench.js", {"child"},
                           {.exec_path = "node"}, loop);
  return childproc::fork("ipc-bench", {}, {.exec_path = CHILDPROC_BENCH_IPC_CHILD}, loop);
}

void stop_peer(childproc::ChildProcess& child, childproc::Loop& loop) {
  child.disconnect();
  loop.run();  // until it has exited and closed
}

void round_trip(benchmark::State& state, bool node) {
  childproc::Loop loop;
  auto child = fork_peer(node, loop);
  const json::Value message = json::Value::object({{"pad", std::string(89, 'x')}});
  long replies = 0;
  child->on_message([&](const json::Value&, childproc::ipc::Handle*) { ++replies; });
  for (auto _ : state) {
    long want = replies + 1;
    child->send(message);
    while (replies < want)
      loop.run_once();
  }
  stop_peer(*child, loop);
}

void one_way(benchmark::State& state, bool node) {
  childproc::Loop loop;
  auto child = fork_peer(node, loop);
  long received = 0;
  child->on_message([&](const json::Value&, childproc::ipc::Handle*) { ++received; });
  const json::Value request = json::Value::object({{"stream", static_cast<double>(kBurst)}});
  for (auto _ : state) {
    long want = received + kBurst;
    child->send(request);
    while (received < want)
      loop.run_once();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  stop_peer(*child, loop);
}

void BM_childproc_round_trip(benchmark::State& state) {
  round_trip(state, false);
}
void BM_childproc_one_way(benchmark::State& state) {
  one_way(state, false);
}
void BM_childproc_to_node_round_trip(benchmark::State& state) {
  round_trip(state, true);
}
void BM_childproc_to_node_one_way(benchmark::State& state) {
  one_way(state, true);
}

}  // namespace

BENCHMARK(BM_raw_socketpair_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_raw_socketpair_epoll_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_childproc_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_childproc_to_node_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_raw_socketpair_one_way)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_childproc_one_way)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_childproc_to_node_one_way)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
