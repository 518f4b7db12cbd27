// libuv's IPC framing, which Node's channel uses on Windows: every write on the channel pipe is
// one frame, a 16-byte little-endian header { flags, reserved1, data_length, reserved2 }, then,
// when a socket rides along, a 632-byte transfer record (WSAPROTOCOL_INFOW + a delayed error),
// then data_length bytes of the stream (JSON lines, as on POSIX). Pure byte work: written once,
// used by the Win32 transport and unit-tested on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace childproc::detail::ipc_frame {

constexpr std::size_t kHeaderSize = 16;
constexpr std::size_t kSocketRecordSize = 632;

// The header's flags.
constexpr std::uint32_t kHasData = 0x1;
constexpr std::uint32_t kHasSocket = 0x2;
constexpr std::uint32_t kSocketIsConnection = 0x4;  // a connected TCP socket, else a listening one
constexpr std::uint32_t kValidFlags = 0x7;

// Appends one frame: the header, `socket_record` (empty, or exactly kSocketRecordSize bytes;
// `connection` says which kind of socket it is) and `data`. `data` must be shorter than 4 GiB.
void append_frame(std::string& out, std::string_view data, std::string_view socket_record = {},
                  bool connection = false);

// Splits an incoming byte stream into data and socket records. Pull-style, so the caller can stop
// between pieces (a callback may destroy it). Memory is bounded: data passes through as views of
// the input; only a header and a record are ever buffered.
class FrameReader {
 public:
  struct Piece {
    enum class Kind {
      kNeedMore,  // the input is used up
      kData,      // `bytes`: stream data, a view into the input
      kSocket,    // `bytes`: a whole transfer record (valid until the next call); `connection`
      kError,     // `error`: a frame no libuv peer writes; the stream is unusable after it
    };
    Kind kind = Kind::kNeedMore;
    std::string_view bytes;
    bool connection = false;
    std::string error;
  };

  // Takes bytes from the front of `input` and returns the next piece. After kError every call
  // returns the same error.
  Piece next(std::string_view& input);

  // Bytes taken so far (error messages give the offset of the bad frame).
  std::uint64_t offset() const { return offset_; }

 private:
  enum class State { kHeader, kRecord, kData, kFailed };
  Piece fail(std::string error);
  Piece parse_header();
  bool fill(char* buffer, std::size_t size, std::string_view& input);

  State state_ = State::kHeader;
  char header_[kHeaderSize] = {};
  char record_[kSocketRecordSize] = {};
  std::size_t have_ = 0;           // bytes of the header or record buffered
  std::uint64_t data_left_ = 0;    // of the current frame
  std::uint64_t frame_start_ = 0;  // stream offset of the current frame
  std::uint64_t offset_ = 0;
  bool record_is_connection_ = false;
  std::string error_;
};

}  // namespace childproc::detail::ipc_frame
