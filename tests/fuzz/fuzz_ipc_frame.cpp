// libuv's IPC frame reader (Node's channel on Windows) on arbitrary bytes: the first byte picks
// the piece size the stream is fed in. It never crashes, data it returns is a view of the input
// and adds up to no more than the input, and once it fails it stays failed. Whatever it accepted,
// re-framed by append_frame and read again, gives the same data and records.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "internal/ipc_frame.hpp"

namespace frame = childproc::detail::ipc_frame;
using Piece = frame::FrameReader::Piece;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = 1 + data[0] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  frame::FrameReader reader;
  std::string payload, reframed;
  std::string error;
  for (std::size_t off = 0; off < stream.size() && error.empty(); off += piece) {
    std::string_view input = stream.substr(off, piece);
    const char* begin = input.data();
    const char* end = input.data() + input.size();
    for (;;) {
      Piece p = reader.next(input);
      if (p.kind == Piece::Kind::kNeedMore) break;
      if (p.kind == Piece::Kind::kError) {
        if (p.error.empty()) std::abort();
        error = p.error;
        break;
      }
      if (p.kind == Piece::Kind::kData) {
        if (p.bytes.data() < begin || p.bytes.data() + p.bytes.size() > end) std::abort();
        payload.append(p.bytes);
        frame::append_frame(reframed, p.bytes);
      } else {
        if (p.bytes.size() != frame::kSocketRecordSize) std::abort();
        frame::append_frame(reframed, {}, p.bytes, p.connection);
      }
    }
  }
  if (payload.size() > stream.size() || reader.offset() > stream.size()) std::abort();
  if (!error.empty()) {
    std::string_view more = stream;
    if (reader.next(more).error != error) std::abort();
    return 0;
  }
  // What was accepted reads back the same.
  frame::FrameReader again;
  std::string_view input = reframed;
  std::string payload2;
  for (Piece p = again.next(input); p.kind != Piece::Kind::kNeedMore; p = again.next(input)) {
    if (p.kind == Piece::Kind::kError) std::abort();
    if (p.kind == Piece::Kind::kData) payload2.append(p.bytes);
  }
  if (payload2 != payload) std::abort();
  return 0;
}
