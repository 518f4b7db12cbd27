// The childproc side of the IPC benchmarks, forked by bench/ipc_bench.cpp and by
// bench/node/ipc_bench.js: echoes each message, or answers {"stream": N} with N copies of the
// 100-byte message. It works under a C++ or a Node parent alike, in either serialization (with
// 'advanced' it handles the values as advanced::Value, as a program using that mode would).
#include <childproc/childproc.hpp>

namespace json = childproc::json;

int main() {
  childproc::ipc::Channel* parent = childproc::ipc::parent_channel();
  if (parent == nullptr) return 2;
  // {"pad":"x…x"} plus the newline is 100 bytes on the wire.
  const json::Value payload = json::Value::object({{"pad", std::string(89, 'x')}});
  if (parent->serialization() == childproc::Serialization::kAdvanced) {
    namespace advanced = childproc::advanced;
    const advanced::Value value = advanced::Value::object({{"pad", std::string(89, 'x')}});
    parent->on_advanced_message([&](const advanced::Value& m, childproc::ipc::Handle*) {
      const advanced::Value* stream = m.find("stream");
      if (stream == nullptr) {
        parent->send_advanced(m);
        return;
      }
      for (double i = 0; i < stream->as_number(); ++i)
        parent->send_advanced(value);
    });
    childproc::default_loop().run();
    return 0;
  }
  parent->on_message([&](const json::Value& m, childproc::ipc::Handle*) {
    const json::Value* stream = m.find("stream");
    if (stream == nullptr) {
      parent->send(m);
      return;
    }
    for (double i = 0; i < stream->as_number(); ++i)
      parent->send(payload);
  });
  childproc::default_loop().run();  // until the parent disconnects
  return 0;
}
