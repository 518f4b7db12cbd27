// The IPC channel's reader, through a real socket pair: the input's first byte picks the piece
// size, and the rest is written to the peer end in pieces of that size, the loop running after
// each one, then the peer end closes. Whatever arrives (invalid JSON, endless lines, NODE_HANDLE
// without a descriptor, deep nesting), the channel reports errors and closes; it never crashes.
#include <sys/socket.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static childproc::Loop* loop = new childproc::Loop;  // one per process: epoll is costly
  std::size_t piece = 1 + data[0] % 64;
  ++data;
  --size;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) std::abort();
  bool closed = false;
  {
    auto owned = childproc::ipc::Channel::open(
        *loop, sv[0], {.max_message_bytes = 4096, .max_depth = 64, .max_owed_reply_bytes = 4096});
    childproc::ipc::Channel& channel = *owned;
    std::size_t messages = 0;
    channel.on_message([&](const childproc::json::Value&, childproc::ipc::Handle*) { ++messages; });
    channel.on_error([](const childproc::Error& e) {
      if (e.code.empty() || e.message.empty()) std::abort();  // every error says what it is
    });
    channel.on_close([&] { closed = true; });
    char sink[4096];
    for (std::size_t off = 0; off < size && !closed; off += piece) {
      std::size_t n = std::min(piece, size - off);
      if (write(sv[1], data + off, n) != static_cast<ssize_t>(n)) break;  // closed by the channel
      loop->run_once(std::chrono::milliseconds(0));
      while (read(sv[1], sink, sizeof sink) > 0) {  // take our replies (NACKs), if any
      }
    }
    close(sv[1]);
    for (int i = 0; i < 100 && !closed; ++i)
      loop->run_once(std::chrono::milliseconds(10));
    if (!closed) std::abort();  // EOF must close the channel
  }
  while (loop->run_once(std::chrono::milliseconds(0))) {  // let queued callbacks run out
  }
  return 0;
}
