// The IPC channel and fork(), against the real node binary in both directions.
#include "socket_util.hpp"
#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using cptest::kHelper;
namespace js = childproc::json;

namespace {

using cptest::kIpcChild;
using cptest::kNode;
using cptest::kNodeDir;

// The same sequence as tests/node/traffic.js: mixed sizes up to 1 MiB, Unicode, nesting.
js::Value traffic_message(int i) {
  std::size_t len = i % 1000 == 999 ? 1024 * 1024 : static_cast<std::size_t>((i * 37) % 2000);
  static const char* const unicode[] = {"h\xC3\xA9llo", "\xE4\xB8\xAD\xE6\x96\x87",
                                        "\xF0\x9F\x98\x80 astral", "line\xE2\x80\xA8sep",
                                        "tab\t\"q\"\\"};
  js::Value u(unicode[i % 5]);
  return js::Value::object(
      {{"i", i},
       {"s", std::string(len, 'x')},
       {"unicode", u},
       {"nested",
        js::Value::object(
            {{"a", js::Value::array({i, i * 0.5, true, nullptr,
                                     js::Value::object({{"deep", js::Value::array({u})}})})}})}});
}

// Forks a Node script of tests/node. Its output comes through pipes and is copied to our stderr:
// under Wine a node.exe cannot open an inherited Unix pipe as its stderr, and dies the first
// time it touches process.stderr.
std::shared_ptr<ChildProcess> fork_node(const std::string& script,
                                        const std::vector<std::string>& args, Loop& loop) {
  auto child = fork(kNodeDir + "/" + script, args, {.exec_path = kNode, .silent = true}, loop);
  for (Stream* out : {child->std_out(), child->std_err()})
    out->on_data([](std::string_view d) { std::cerr << d; });
  return child;
}

TEST(IpcNode, CppParentForksANodeChild10000MessagesEachWay) {
  Loop loop;
  auto child = fork_node("echo_child.js", {}, loop);
  constexpr int kCount = 10000;
  int received = 0;
  bool in_order = true;
  std::vector<std::string> events;
  bool saw_backpressure = false;
  child->on_message([&](const js::Value& m, ipc::Handle*) {
    if (!(m == traffic_message(received))) in_order = false;
    if (++received == kCount) child->send("quit");
  });
  child->on_exit([&](auto code, auto) {
    events.push_back("exit");
    EXPECT_EQ(code, 0);
  });
  child->on_disconnect([&] { events.push_back("disconnect"); });
  child->on_close([&](auto, auto) {
    events.push_back("close");
    EXPECT_EQ(received, kCount);  // every message before 'close'
  });
  for (int i = 0; i < kCount; ++i)
    if (!child->send(traffic_message(i))) saw_backpressure = true;
  cptest::run_with_watchdog(loop, 120s);
  EXPECT_EQ(received, kCount);
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(saw_backpressure);  // 20 MiB queued at once: send() said so
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back(), "close");  // exit and disconnect (either order) come first, once each
  EXPECT_EQ(std::count(events.begin(), events.end(), "exit"), 1);
  EXPECT_EQ(std::count(events.begin(), events.end(), "disconnect"), 1);
}

TEST(IpcNode, NodeChildSendsAndTheCppParentReceivesInOrder) {
  Loop loop;
  auto child = fork_node("sender_child.js", {"10000"}, loop);
  int received = 0;
  bool in_order = true;
  child->on_message([&](const js::Value& m, ipc::Handle*) {
    if (!(m == traffic_message(received))) in_order = false;
    ++received;
  });
  cptest::run_with_watchdog(loop, 120s);
  EXPECT_EQ(received, 10000);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(IpcNode, NodeParentForksTheCppChild) {
  auto r = spawn_sync(kNode, {kNodeDir + "/parent_of_cpp.js", kIpcChild, "10000"},
                      {.timeout = 120s, .max_buffer = 0});
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.status, 0) << r.std_err;
  EXPECT_EQ(r.std_out, "OK 10000 disconnect exit 0\n") << r.std_err;
}

TEST(IpcNode, CppParentPassesAListeningSocketToANodeChild) {
  Loop loop;
  int port = 0;
  cptest::Socket server = cptest::listening_socket(port);
  auto child = fork_node("server_child.js", {}, loop);
  std::string reply;
  js::Value report;
  bool callback_ran = false;
  child->send("take this server", server, [&](const std::optional<Error>& e) {
    callback_ran = true;
    EXPECT_FALSE(e);
  });
  cptest::close_socket(server);  // the channel sent its own duplicate
  child->on_message([&](const js::Value& m, ipc::Handle*) {
    report = m;
    // Connect to the port the Node child now serves, read its greeting.
    reply = cptest::connect_and_read_all(port);
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
  cptest::Socket sv[2] = {childproc::kInvalidNativeHandle, childproc::kInvalidNativeHandle};
  cptest::connected_pair(sv);
  auto child = fork_node("order_child.js", {}, loop);
  std::vector<bool> returned;
  returned.push_back(child->send("one"));
  returned.push_back(child->send("two", sv[0]));
  returned.push_back(child->send("three"));  // held until the ACK: the first held says true
  returned.push_back(child->send("four"));   // later ones say false, as in Node
  child->send("done");
  cptest::close_socket(sv[0]);
  cptest::close_socket(sv[1]);
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

TEST(Ipc, ChildSideVariablesAreRemoved) {
  Loop loop;
  auto child = fork("env", {}, {.exec_path = kIpcChild}, loop);
  js::Value got;
  child->on_message([&](const js::Value& m, ipc::Handle*) { got = m; });
  cptest::run_with_watchdog(loop);
  ASSERT_TRUE(got.is_object()) << "no report from the child";
  EXPECT_TRUE(got.find("fd_env")->is_null());
  EXPECT_TRUE(got.find("mode_env")->is_null());
}

TEST(Ipc, InternalMessagesAreNotDeliveredAsMessages) {
  Loop loop;
  auto child = fork("internal", {}, {.exec_path = kIpcChild}, loop);
  std::vector<std::string> messages, internal;
  child->on_message(
      [&](const js::Value& m, ipc::Handle*) { messages.push_back(js::stringify(m)); });
  child->channel()->on_internal_message(
      [&](const js::Value& m) { internal.push_back(js::stringify(m)); });
  cptest::run_with_watchdog(loop);
  // {"cmd":"NODE_"} is not internal (not longer than 5 characters), as in Node.
  EXPECT_EQ(messages, (std::vector<std::string>{R"({"cmd":"NODE_","short":true})",
                                                R"({"after":"internal"})"}));
  EXPECT_EQ(internal, std::vector<std::string>{R"({"cmd":"NODE_FOO","x":1})"});
}

TEST(Ipc, SendCallbackSendAfterDisconnectAndDoubleDisconnect) {
  Loop loop;
  auto child = fork("echo", {}, {.exec_path = kIpcChild}, loop);
  std::vector<std::string> log;
  child->on_error([&](const Error& e) { log.push_back("error:" + e.code); });
  child->on_message([&](const js::Value& m, ipc::Handle*) {
    log.push_back("message:" + js::stringify(m));
    child->disconnect();
    EXPECT_FALSE(child->connected());  // at once
    bool ok = child->send("late", [&](const std::optional<Error>& e) {
      log.push_back("late-callback:" + (e ? e->code : std::string("none")));
    });
    EXPECT_FALSE(ok);
    child->disconnect();  // a second time: an error, not a crash
  });
  EXPECT_TRUE(child->connected());
  EXPECT_TRUE(child->send("first", [&](const std::optional<Error>& e) {
    log.push_back(std::string("first-callback:") + (e ? e->code : "none"));
  }));
  bool closed = false;
  child->on_close([&](auto, auto) { closed = true; });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(log, (std::vector<std::string>{"first-callback:none", "message:\"first\"",
                                           "late-callback:ERR_IPC_CHANNEL_CLOSED",
                                           "error:ERR_IPC_DISCONNECTED"}));
  // Beyond Node: 'close' does fire after a parent-side disconnect (Node never emits it, which in
  // C++ would keep the child object alive forever).
  EXPECT_TRUE(closed);
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(Ipc, AListenerHoldingTheChildDoesNotKeepItAliveAfterClose) {
  std::weak_ptr<ChildProcess> weak;
  {
    Loop loop;
    auto child = fork("env", {}, {.exec_path = kIpcChild}, loop);
    weak = child;
    child->on_message([child](const js::Value&, ipc::Handle*) {});  // captures its own owner
    child->on_exit([child](auto, auto) {});
    child.reset();
    cptest::run_with_watchdog(loop);
    EXPECT_TRUE(weak.expired());  // 'close' released the listeners, and with them the cycle
  }
}

TEST(Ipc, SendReturnsFalseUnderBackpressure) {
  Loop loop;
  // A child that never reads its channel: our queue must grow and send() must say so.
  auto child = spawn(kHelper, {"sleep", "5000"}, {.stdio = {"pipe", "pipe", "pipe", "ipc"}}, loop);
  std::string big(64 * 1024, 'b');
  int sent = 0;
  while (child->send(big) && sent < 1000)
    ++sent;
  EXPECT_LT(sent, 1000);
  EXPECT_GE(child->channel()->write_queue_size(), 128u * 1024);
  child->kill("SIGKILL");
  cptest::run_with_watchdog(loop);
}

// A burst far past the socket buffer: queued messages are written together, and still every
// message arrives once and in order, and every send callback runs once, in order.
TEST(Ipc, ABurstArrivesInOrderAndEverySendCallbackRunsInOrder) {
  Loop loop;
  auto child = fork("echo", {}, {.exec_path = kIpcChild}, loop);
  constexpr int kCount = 20000;
  std::vector<int> callbacks, echoes;
  child->on_message([&](const js::Value& m, ipc::Handle*) {
    echoes.push_back(static_cast<int>(m.find("i")->as_number()));
    if (echoes.size() == kCount) child->send("quit");
  });
  int refused = 0;
  for (int i = 0; i < kCount; ++i) {
    js::Value m = js::Value::object({{"i", i}, {"pad", std::string(100, 'p')}});
    // Callbacks on some messages only: a message without one may join a queued one.
    bool ok = i % 7 == 3 ? child->send(m,
                                       [&callbacks, i](const std::optional<Error>& e) {
                                         EXPECT_FALSE(e);
                                         callbacks.push_back(i);
                                       })
                         : child->send(m);
    refused += ok ? 0 : 1;
  }
  EXPECT_GT(refused, 0) << "the burst never met backpressure; it tests nothing";
  cptest::run_with_watchdog(loop);
  ASSERT_EQ(echoes.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(echoes[static_cast<std::size_t>(i)], i);
  std::vector<int> expected;
  for (int i = 3; i < kCount; i += 7)
    expected.push_back(i);
  EXPECT_EQ(callbacks, expected);
}

TEST(Ipc, BadInputGivesAnErrorAndTheChannelGoesOn) {
  Loop loop;
  // Invalid JSON, an over-deep document, an empty line, then valid messages, one split across
  // two writes.
  auto child = spawn(kHelper,
                     {"channel-write", "3", "line:not json", "line:" + std::string(600, '['),
                      "line:", "line:{\"ok\":1}", "text:{\"part\":", "line:\"ial\"}"},
                     {.stdio = {"pipe", "pipe", "pipe", "ipc"}}, loop);
  std::vector<std::string> errors, messages;
  child->on_error([&](const Error& e) { errors.push_back(e.code); });
  child->on_message(
      [&](const js::Value& m, ipc::Handle*) { messages.push_back(js::stringify(m)); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(errors, (std::vector<std::string>{"ERR_IPC_BAD_MESSAGE", "ERR_IPC_BAD_MESSAGE",
                                              "ERR_IPC_BAD_MESSAGE"}));
  EXPECT_EQ(messages, (std::vector<std::string>{R"({"ok":1})", R"({"part":"ial"})"}));
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(Ipc, AnEndlessLineIsAnErrorAndTheNextLineStillArrives) {
  Loop loop;
  // 80 MB without a newline (over the default 64 MiB limit), then a valid message.
  auto child =
      spawn(kHelper, {"channel-write", "3", "fill:80000000:a", "line:", "line:{\"after\":true}"},
            {.stdio = {"pipe", "pipe", "pipe", "ipc"}}, loop);
  std::vector<std::string> errors, messages;
  child->on_error([&](const Error& e) { errors.push_back(e.code); });
  child->on_message(
      [&](const js::Value& m, ipc::Handle*) { messages.push_back(js::stringify(m)); });
  cptest::run_with_watchdog(loop, 120s);
  EXPECT_EQ(errors, std::vector<std::string>{"ERR_IPC_MESSAGE_TOO_LARGE"});
  EXPECT_EQ(messages, std::vector<std::string>{R"({"after":true})"});
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(Ipc, OpeningAChannelOnAnInvalidHandleThrowsAtTheCall) {
  Loop loop;
  try {
    ipc::Channel::open(loop, kInvalidNativeHandle);
    FAIL() << "no exception";
  } catch (const SystemError& e) {
    EXPECT_EQ(e.error().code, "EBADF");
    EXPECT_NE(std::string(e.what()).find("ipc::Channel::open"), std::string::npos) << e.what();
  }
}

TEST(Fork, StdioVariantsAllCarryIpcAndArraysMustHaveIt) {
  for (const char* preset : {"pipe", "inherit", "ignore"}) {
    Loop loop;
    auto child = fork("env", {}, {.exec_path = kIpcChild, .stdio = StdioOption(preset)}, loop);
    bool got = false;
    child->on_message([&](const js::Value&, ipc::Handle*) { got = true; });
    cptest::run_with_watchdog(loop);
    EXPECT_TRUE(got) << preset;
  }
  try {
    fork("x", {}, {.stdio = StdioOption{"pipe", "pipe", "pipe"}});
    ADD_FAILURE() << "expected ERR_CHILD_PROCESS_IPC_REQUIRED";
  } catch (const InvalidArgumentError& e) {
    EXPECT_EQ(e.code(), "ERR_CHILD_PROCESS_IPC_REQUIRED");
  }
}

TEST(Fork, DefaultsToThisExecutableWithModulePathAndArgs) {
  Loop loop;
  // This test binary forks itself; gtest lists its tests and exits.
  auto child = fork("--gtest_list_tests", {"--gtest_filter=Fork.*"}, {.silent = true}, loop);
  std::string out;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(child->exit_code(), 0);
  EXPECT_NE(out.find("DefaultsToThisExecutableWithModulePathAndArgs"), std::string::npos) << out;
  EXPECT_EQ(child->spawnargs()[1], "--gtest_list_tests");
}

TEST(Fork, ExecArgvComesBeforeTheModule) {
  Loop loop;
  auto child = fork("argv", {"a b"}, {.exec_path = kHelper, .exec_argv = {}, .silent = true}, loop);
  std::string out;
  child->std_out()->on_data([&](std::string_view d) { out.append(d); });
  cptest::run_with_watchdog(loop);
  EXPECT_EQ(out, kHelper + "\nargv\na b\n");
}

}  // namespace
