// The IPC channel with serialization 'advanced' (V8's format after a 4-byte length), against a
// real Node on both ends and between two C++ processes, on every platform.
#include "socket_util.hpp"  // first: on Windows it brings winsock2.h, before windows.h

#include <childproc/childproc.hpp>

#include "advanced_corpus.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using advanced::Value;
using cptest::kIpcChild;
using cptest::kNode;
using cptest::kNodeDir;

namespace {

// The corpus as values read here (the IPC traffic sends them around).
std::vector<Value> corpus_values() {
  std::vector<Value> out;
  for (const cptest::CorpusValue& c : cptest::node_corpus())
    out.push_back(advanced::deserialize(cptest::unhex(c.node_hex)));
  return out;
}

Value numbered(int i, const std::vector<Value>& corpus) {
  return Value::object({{"i", i}, {"value", corpus[static_cast<std::size_t>(i) % corpus.size()]}});
}

std::shared_ptr<ChildProcess> fork_node(const std::string& script, Loop& loop) {
  auto child =
      fork(kNodeDir + "/" + script, {},
           {.exec_path = kNode, .silent = true, .serialization = Serialization::kAdvanced}, loop);
  for (Stream* out : {child->std_out(), child->std_err()})
    out->on_data([](std::string_view d) { std::cerr << d; });
  return child;
}

TEST(IpcAdvancedNode, CppParentForksANodeChild10000MessagesEachWay) {
  std::vector<Value> corpus = corpus_values();
  ASSERT_GE(corpus.size(), 200u);
  Loop loop;
  auto child = fork_node("advanced_echo_child.js", loop);
  constexpr int kCount = 10000;
  int received = 0, mismatches = 0;
  Value report;
  child->on_advanced_message([&](const Value& m, ipc::Handle*) {
    if (received == kCount) {  // after 'quit': the child's own count
      report = m;
      return;
    }
    const Value* i = m.find("i");
    const Value* value = m.find("value");
    if (i == nullptr || value == nullptr || i->as_number() != received ||
        !advanced::deep_equal(*value, corpus[static_cast<std::size_t>(received) % corpus.size()]))
      ++mismatches;
    if (++received == kCount) child->send_advanced("quit");
  });
  for (int i = 0; i < kCount; ++i)
    child->send_advanced(numbered(i, corpus));
  cptest::run_with_watchdog(loop, 300s);
  EXPECT_EQ(received, kCount);
  EXPECT_EQ(mismatches, 0);
  ASSERT_TRUE(report.is<advanced::Object>()) << "no report from the Node child";
  EXPECT_EQ(report.find("received")->as_number(), kCount);
  EXPECT_EQ(report.find("mismatches")->as_number(), 0);
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(IpcAdvancedNode, NodeParentForksTheCppChild10000MessagesEachWay) {
  auto r = spawn_sync(kNode, {kNodeDir + "/advanced_parent_of_cpp.js", kIpcChild, "10000"},
                      {.timeout = 300s, .max_buffer = 0});
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.status, 0) << r.std_err;
  EXPECT_EQ(r.std_out, "OK 10000 bad 0 exit 0\n") << r.std_err;
}

TEST(IpcAdvancedNode, HandlesAndTheirMessagesPassInAdvancedMode) {
  Loop loop;
  int port = 0;
  cptest::Socket server = cptest::listening_socket(port);
  auto child = fork_node("server_child.js", loop);
  Value message = advanced::Map{{{"big", advanced::BigInt(1)}, {"when", advanced::Date{0}}}};
  child->send_advanced(message, server);
  cptest::close_socket(server);
  Value report;
  std::string reply;
  child->on_advanced_message([&](const Value& m, ipc::Handle*) {
    report = m;
    reply = cptest::connect_and_read_all(port);
    child->disconnect();
  });
  cptest::run_with_watchdog(loop, 60s);
  EXPECT_EQ(reply, "hello from node");
  ASSERT_TRUE(report.is<advanced::Object>());
  EXPECT_EQ(report.find("type")->as_string(), "Server");
  EXPECT_TRUE(advanced::deep_equal(*report.find("msg"), message));  // the Map came back whole
}

TEST(IpcAdvanced, CppToCppCarriesEveryKindAndInternalMessages) {
  Loop loop;
  auto child = fork("advanced-echo", {},
                    {.exec_path = kIpcChild, .serialization = Serialization::kAdvanced}, loop);
  EXPECT_EQ(child->channel()->serialization(), Serialization::kAdvanced);
  Value cyclic = Value::object({{"name", "loop"}});
  cyclic["self"] = Value::back_reference(cyclic.heap());
  std::vector<Value> sent = {
      advanced::BigInt(-5),
      advanced::Set{{1, "two", advanced::Date{3}}},
      advanced::View{advanced::ViewType::kFloat64Array, std::string(16, '\x01')},
      cyclic,
      Value(),                             // undefined
      Value::object({{"cmd", "NODE_X"}}),  // internal: not echoed as a message
  };
  std::vector<Value> got;
  std::vector<std::string> internal;
  child->on_advanced_message([&](const Value& m, ipc::Handle*) {
    got.push_back(m);
    if (got.size() == sent.size() - 1) child->send_advanced("quit");
  });
  child->channel()->on_internal_message(
      [&](const json::Value& m) { internal.push_back(json::stringify(m)); });
  for (const Value& v : sent)
    child->send_advanced(v);
  cptest::run_with_watchdog(loop, 60s);
  ASSERT_EQ(got.size(), sent.size() - 1);
  for (std::size_t i = 0; i + 1 < sent.size(); ++i)
    EXPECT_TRUE(advanced::deep_equal(got[i], sent[i])) << i;
  EXPECT_TRUE(internal.empty());  // the child received NODE_X as internal and sent nothing back
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(IpcAdvanced, JsonListenersAndJsonChannelsSeeWhatJsonStringifyMakes) {
  // An advanced channel: a JSON listener gets the JSON form; a BigInt is an error for it only.
  Loop loop;
  auto child = fork("advanced-echo", {},
                    {.exec_path = kIpcChild, .serialization = Serialization::kAdvanced}, loop);
  std::vector<std::string> as_json, errors;
  int as_values = 0;
  child->on_message(
      [&](const json::Value& m, ipc::Handle*) { as_json.push_back(json::stringify(m)); });
  child->on_advanced_message([&](const Value&, ipc::Handle*) {
    if (++as_values == 3) child->send_advanced("quit");
  });
  child->on_error([&](const Error& e) { errors.push_back(e.code + ": " + e.message); });
  child->send_advanced(advanced::Date{0});
  child->send_advanced(advanced::BigInt(7));
  child->send(json::Value::object({{"plain", json::Value::array({1, "x"})}}));
  cptest::run_with_watchdog(loop, 60s);
  EXPECT_EQ(as_values, 3);
  EXPECT_EQ(as_json,
            (std::vector<std::string>{R"("1970-01-01T00:00:00.000Z")", R"({"plain":[1,"x"]})"}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("ERR_IPC_BAD_MESSAGE"), std::string::npos);
  EXPECT_NE(errors[0].find("BigInt"), std::string::npos) << errors[0];

  // A JSON channel: advanced values go as JSON.stringify would send them; a BigInt throws.
  Loop json_loop;
  auto json_child = fork("echo", {}, {.exec_path = kIpcChild}, json_loop);
  std::vector<std::string> echoed;
  json_child->on_message([&](const json::Value& m, ipc::Handle*) {
    echoed.push_back(json::stringify(m));
    if (echoed.size() == 2) json_child->send("quit");
  });
  EXPECT_THROW(json_child->send_advanced(advanced::BigInt(1)), std::invalid_argument);
  json_child->send_advanced(advanced::Map{{{1, 2}}});
  json_child->send_advanced(Value::object({{"at", advanced::Date{1}}, {"u", Value()}}));
  cptest::run_with_watchdog(json_loop, 60s);
  EXPECT_EQ(echoed, (std::vector<std::string>{"{}", R"({"at":"1970-01-01T00:00:00.001Z"})"}));
}

TEST(IpcAdvanced, ABadSerializedMessageIsAnErrorAndTheNextOneArrives) {
  // A peer writing by hand: a message with an unknown tag, then a good one (the number 5).
  Loop loop;
  auto child =
      spawn(cptest::kHelper, {"channel-write", "3", "bin:00000003ff0f4f", "bin:00000004ff0f490a"},
            {.stdio = StdioOption{"ignore", "ignore", "inherit", "ipc"},
             .serialization = Serialization::kAdvanced},
            loop);
  std::vector<std::string> errors;
  std::vector<double> numbers;
  child->on_error([&](const Error& e) { errors.push_back(e.code + ": " + e.message); });
  child->on_advanced_message(
      [&](const Value& m, ipc::Handle*) { numbers.push_back(m.as_number()); });
  cptest::run_with_watchdog(loop, 60s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("ERR_IPC_BAD_MESSAGE"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("unsupported tag 0x4f"), std::string::npos) << errors[0];
  EXPECT_EQ(numbers, std::vector<double>{5});
}

}  // namespace
