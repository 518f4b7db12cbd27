// A C++ child for a Node.js parent: process.send / process.on('message') in C++.
//   node examples/node/parent.js build/release/examples/ipc_child
#include <childproc/childproc.hpp>
#include <iostream>

namespace json = childproc::json;

int main() {
  childproc::ipc::Channel* parent = childproc::ipc::parent_channel();
  if (parent == nullptr) {
    std::cerr << "start me from a Node.js parent: node examples/node/parent.js <this program>\n";
    return 1;
  }
  parent->on_message([parent](const json::Value& m, childproc::ipc::Handle*) {
    if (m.is_string() && m.as_string() == "bye") {
      parent->disconnect();
      return;
    }
    const json::Value* words = m.find("words");
    json::Value reply =
        json::Value::object({{"from", "C++"}, {"count", words ? words->size() : 0}});
    parent->send(reply);
  });
  childproc::default_loop().run();  // returns once disconnected
  return 0;
}
