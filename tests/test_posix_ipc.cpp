// The IPC channel on POSIX only: sockets passed with SCM_RIGHTS to and from a real node, and the
// memory bounds measured through /proc.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;
using cptest::kIpcChild;
using cptest::kNode;
using cptest::kNodeDir;
namespace js = childproc::json;

namespace {

int listening_socket(int& port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(s, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return s;
}

TEST(IpcNode, CppParentPassesAListeningSocketToANodeChild) {
  Loop loop;
  int port = 0;
  int server = listening_socket(port);
  auto child = fork(kNodeDir + "/server_child.js", {}, {.exec_path = kNode}, loop);
  std::string reply;
  js::Value report;
  bool callback_ran = false;
  child->send("take this server", server, [&](const std::optional<Error>& e) {
    callback_ran = true;
    EXPECT_FALSE(e);
  });
  close(server);  // the channel sent its own duplicate
  child->on_message([&](const js::Value& m, ipc::Handle*) {
    report = m;
    // Connect to the port the Node child now serves, read its greeting.
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    char buf[64];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
      reply.append(buf, static_cast<std::size_t>(n));
    close(c);
    child->disconnect();
  });
  cptest::run_with_watchdog(loop, 30s);
  EXPECT_TRUE(callback_ran);
  EXPECT_EQ(reply, "hello from node");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.find("msg")->as_string(), "take this server");
  EXPECT_EQ(report.find("type")->as_string(), "Server");
}

TEST(IpcNode, MessagesSentWhileAHandleAwaitsItsAckKeepTheirOrder) {
  Loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  auto child = fork(kNodeDir + "/order_child.js", {}, {.exec_path = kNode}, loop);
  std::vector<bool> returned;
  returned.push_back(child->send("one"));
  returned.push_back(child->send("two", sv[0]));
  returned.push_back(child->send("three"));  // held until the ACK: the first held says true
  returned.push_back(child->send("four"));   // later ones say false, as in Node
  child->send("done");
  close(sv[0]);
  close(sv[1]);
  js::Value report;
  child->on_message([&](const js::Value& m, ipc::Handle*) { report = m; });
  cptest::run_with_watchdog(loop, 30s);
  EXPECT_EQ(returned, (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(js::stringify(report), R"([{"m":"one","handle":null},{"m":"two","handle":"Socket"},)"
                                   R"({"m":"three","handle":null},{"m":"four","handle":null}])");
}

TEST(IpcNode, NodeParentPassesASocketToTheCppChild) {
  auto r = spawn_sync(kNode, {kNodeDir + "/handle_parent.js", kIpcChild}, {.timeout = 30s});
  EXPECT_EQ(r.status, 0) << r.std_err;
  js::Value out = js::parse(r.std_out);
  EXPECT_EQ(out.find("received")->as_string(), "hello from C++");
  EXPECT_EQ(out.find("report")->find("got")->as_string(), "net.Socket");
  EXPECT_EQ(out.find("report")->find("wrote")->as_bool(), true);
  EXPECT_EQ(out.find("report")->find("msg")->find("note")->as_string(), "a socket");
}

long peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(Ipc, MemoryStaysBoundedByTheConfiguredLimit) {
  // A channel with a 1 MiB limit over a socket pair whose other end a child floods with 300 MB
  // and no newline: our peak memory must grow by a small multiple of the limit, not by 300 MB
  // (a margin that holds under sanitizers' shadow memory too).
  Loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);  // ours only: the child writes blocking
  long before = peak_rss_kib();
  auto owned = ipc::Channel::open(loop, sv[0], {.max_message_bytes = 1024 * 1024});
  ipc::Channel& channel = *owned;
  std::vector<std::string> errors, messages;
  channel.on_error([&](const Error& e) { errors.push_back(e.code); });
  channel.on_message([&](const js::Value& m, ipc::Handle*) {
    messages.push_back(js::stringify(m));
    channel.disconnect();
  });
  auto child =
      spawn(kHelper, {"channel-write", "3", "fill:300000000:a", "line:", "line:{\"after\":true}"},
            {.stdio = {"pipe", "pipe", "pipe", sv[1]}}, loop);
  close(sv[1]);
  cptest::run_with_watchdog(loop, 60s);
  EXPECT_EQ(errors, std::vector<std::string>{"ERR_IPC_MESSAGE_TOO_LARGE"});
  EXPECT_EQ(messages, std::vector<std::string>{R"({"after":true})"});
  EXPECT_EQ(child->exit_code(), 0);  // the writer really wrote everything
  EXPECT_LT(peak_rss_kib() - before, 64 * 1024);
}

// A peer that sends NODE_HANDLE without a descriptor, millions of times, and never reads our
// NACKs: the replies it owes us a read of are bounded (1 MiB by default); past that it is failed
// with a clear error and the channel closes. Before the bound, 4 million grew us by ~120 MiB.
TEST(Ipc, APeerThatNeverReadsItsRepliesIsFailedAndMemoryStaysBounded) {
  Loop loop;
  long before = peak_rss_kib();
  auto child = spawn(kHelper, {"handle-flood", "3", "4000000"},
                     {.stdio = {"pipe", "pipe", "pipe", "ipc"}}, loop);
  std::vector<std::string> errors;
  bool disconnected = false;
  child->on_error([&](const Error& e) { errors.push_back(e.code + ": " + e.message); });
  child->on_disconnect([&] { disconnected = true; });
  std::string out;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  cptest::run_with_watchdog(loop, 60s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("ERR_IPC_PEER_NOT_READING: the IPC peer left ", 0), 0u) << errors[0];
  EXPECT_TRUE(disconnected);
  EXPECT_EQ(out.rfind("stopped after ", 0), 0u) << out;  // it was cut off, not served forever
  EXPECT_EQ(child->exit_code(), 0);
  long grown_kib = peak_rss_kib() - before;
  std::cout << "[ figures  ] peak memory growth under the flood: " << grown_kib << " KiB; peer "
            << out;
#ifdef CP_SANITIZED
  EXPECT_LT(grown_kib, 96 * 1024);  // ASan's quarantine keeps freed blocks alive for a while
#else
  EXPECT_LT(grown_kib, 16 * 1024);  // unbounded: ~123 MiB
#endif
}

}  // namespace
