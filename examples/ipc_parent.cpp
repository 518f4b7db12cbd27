// A C++ parent forks a Node.js script and talks to it over Node's own IPC channel.
//   build/release/examples/ipc_parent            (runs examples/node/worker.js with `node`)
#include <childproc/childproc.hpp>
#include <iostream>

namespace json = childproc::json;

int main(int argc, char** argv) {
  std::string script = argc > 1 ? argv[1] : CHILDPROC_EXAMPLES_DIR "/node/worker.js";
  auto worker = childproc::fork(script, {}, {.exec_path = "node"});
  int replies = 0;
  worker->on_message([&](const json::Value& reply, childproc::ipc::Handle*) {
    std::cout << "C++ parent got: " << json::stringify(reply) << std::endl;
    if (++replies == 3) worker->disconnect();  // the worker exits once disconnected
  });
  worker->on_exit(
      [](auto code, auto) { std::cout << "worker exited with code " << *code << std::endl; });
  for (int n : {3, 4, 5})
    worker->send(json::Value::object({{"square", n}, {"note", "from C++ \xE2\x9C\x93"}}));
  childproc::default_loop().run();
}
