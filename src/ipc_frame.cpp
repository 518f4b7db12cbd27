// libuv's IPC frames: the rules a libuv reader applies (src/win/pipe.c) are the ones checked here,
// so what we accept is what Node accepts, and what we write Node reads.
#include "internal/ipc_frame.hpp"

#include <algorithm>
#include <cstring>

namespace childproc::detail::ipc_frame {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string hex(std::uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

}  // namespace

void append_frame(std::string& out, std::string_view data, std::string_view socket_record,
                  bool connection) {
  std::uint32_t flags = data.empty() ? 0 : kHasData;
  if (!socket_record.empty()) flags |= kHasSocket | (connection ? kSocketIsConnection : 0);
  out.reserve(out.size() + kHeaderSize + socket_record.size() + data.size());
  put_u32(out, flags);
  put_u32(out, 0);  // reserved1: libuv ignores it; we write zero
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  put_u32(out, 0);  // reserved2: must be zero
  out.append(socket_record);
  out.append(data);
}

FrameReader::Piece FrameReader::fail(std::string error) {
  state_ = State::kFailed;
  error_ = "bad IPC frame at byte " + std::to_string(frame_start_) + ": " + std::move(error);
  Piece p;
  p.kind = Piece::Kind::kError;
  p.error = error_;
  return p;
}

// The header is whole: check it as libuv does, then move on to the record or the data.
FrameReader::Piece FrameReader::parse_header() {
  std::uint32_t flags = get_u32(header_);
  std::uint32_t length = get_u32(header_ + 8);
  std::uint32_t reserved2 = get_u32(header_ + 12);
  if ((flags & ~kValidFlags) != 0) return fail("unknown flags " + hex(flags));
  if (reserved2 != 0) return fail("reserved field is " + hex(reserved2) + ", not 0");
  if ((flags & (kHasSocket | kSocketIsConnection)) == kSocketIsConnection)
    return fail("a connection flag without a socket (flags " + hex(flags) + ")");
  if ((flags & kHasData) == 0 && length != 0)
    return fail("a data length of " + std::to_string(length) + " without the data flag");
  data_left_ = (flags & kHasData) ? length : 0;
  have_ = 0;
  if (flags & kHasSocket) {
    record_is_connection_ = (flags & kSocketIsConnection) != 0;
    state_ = State::kRecord;
  } else {
    state_ = State::kData;
  }
  return Piece{};
}

// Moves input into `buffer` until it holds `size` bytes; whether it does.
bool FrameReader::fill(char* buffer, std::size_t size, std::string_view& input) {
  std::size_t n = std::min(size - have_, input.size());
  std::memcpy(buffer + have_, input.data(), n);
  have_ += n;
  offset_ += n;
  input.remove_prefix(n);
  return have_ == size;
}

FrameReader::Piece FrameReader::next(std::string_view& input) {
  for (;;) {
    switch (state_) {
      case State::kFailed: {
        Piece p;
        p.kind = Piece::Kind::kError;
        p.error = error_;
        return p;
      }
      case State::kHeader: {
        if (input.empty()) return Piece{};
        if (have_ == 0) frame_start_ = offset_;
        if (!fill(header_, kHeaderSize, input)) return Piece{};
        Piece p = parse_header();
        if (p.kind == Piece::Kind::kError) return p;
        break;
      }
      case State::kRecord: {
        if (!fill(record_, kSocketRecordSize, input)) return Piece{};
        have_ = 0;
        state_ = State::kData;
        Piece p;
        p.kind = Piece::Kind::kSocket;
        p.bytes = std::string_view(record_, kSocketRecordSize);
        p.connection = record_is_connection_;
        return p;
      }
      case State::kData: {
        if (data_left_ == 0) {
          state_ = State::kHeader;
          have_ = 0;
          break;
        }
        if (input.empty()) return Piece{};
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(data_left_, static_cast<std::uint64_t>(input.size())));
        Piece p;
        p.kind = Piece::Kind::kData;
        p.bytes = input.substr(0, n);
        data_left_ -= n;
        offset_ += n;
        input.remove_prefix(n);
        return p;
      }
    }
  }
}

}  // namespace childproc::detail::ipc_frame
