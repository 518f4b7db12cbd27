// A C++ child on the other end of an IPC channel (forked by the tests, or by a Node parent).
//   echo         echo every message; "quit" -> disconnect
//   advanced-echo  echo every message as its advanced value (send_advanced); "quit" -> disconnect
//   env          report what NODE_CHANNEL_* look like once the channel is open, then disconnect
//   internal     send an internal NODE_ message, then a normal one, then disconnect
//   recv-handle  write "hello from C++" into a received socket, report, disconnect
#ifdef _WIN32
#include <winsock2.h>
#else
#include <sys/socket.h>
#endif

#include <childproc/childproc.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

namespace json = childproc::json;

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "echo";
  childproc::ipc::Channel* parent = childproc::ipc::parent_channel();
  if (parent == nullptr) {
    std::cerr << "cp_ipc_child: no IPC channel\n";
    return 3;
  }
  parent->on_error(
      [](const childproc::Error& e) { std::cerr << "channel error: " << e.message << "\n"; });
  if (mode == "echo") {
    parent->on_message([parent](const json::Value& m, childproc::ipc::Handle*) {
      if (m.is_string() && m.as_string() == "quit") {
        parent->disconnect();
      } else {
        parent->send(m);
      }
    });
  } else if (mode == "advanced-echo") {
    parent->on_advanced_message(
        [parent](const childproc::advanced::Value& m, childproc::ipc::Handle*) {
          if (m.is_string() && m.as_string() == "quit") {
            parent->disconnect();
          } else {
            parent->send_advanced(m);
          }
        });
  } else if (mode == "env") {
    const char* fd = std::getenv("NODE_CHANNEL_FD");
    const char* ser = std::getenv("NODE_CHANNEL_SERIALIZATION_MODE");
    parent->send(json::Value::object({{"fd_env", fd ? json::Value(fd) : json::Value()},
                                      {"mode_env", ser ? json::Value(ser) : json::Value()}}));
    parent->disconnect();
  } else if (mode == "internal") {
    parent->send(json::Value::object({{"cmd", "NODE_FOO"}, {"x", 1}}));
    parent->send(json::Value::object({{"cmd", "NODE_"}, {"short", true}}));
    parent->send(json::Value::object({{"after", "internal"}}));
    parent->disconnect();
  } else if (mode == "recv-handle") {
    parent->on_message([parent](const json::Value& m, childproc::ipc::Handle* h) {
      if (h == nullptr) return;
      std::string hello = "hello from C++";
#ifdef _WIN32
      bool wrote = ::send(static_cast<SOCKET>(h->native_handle()), hello.data(),
                          static_cast<int>(hello.size()), 0) == static_cast<int>(hello.size());
#else
      bool wrote = ::send(h->native_handle(), hello.data(), hello.size(), 0) ==
                   static_cast<ssize_t>(hello.size());
#endif
      parent->send(json::Value::object({{"got", h->type()}, {"msg", m}, {"wrote", wrote}}));
      parent->disconnect();
    });
  } else {
    std::cerr << "cp_ipc_child: unknown mode " << mode << "\n";
    return 2;
  }
  childproc::default_loop().run();
  return 0;
}
