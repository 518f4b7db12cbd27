// libuv's IPC framing (Node's channel on Windows), byte for byte: what we write, and what our
// reader accepts and refuses, by the rules of libuv's own reader. Pure bytes, so it runs on every
// platform; the Win32 suite then shows the same frames against a real node.exe.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "internal/ipc_frame.hpp"

namespace frame = childproc::detail::ipc_frame;
using Piece = frame::FrameReader::Piece;

namespace {

std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

std::string header(std::uint32_t flags, std::uint32_t length, std::uint32_t reserved1 = 0,
                   std::uint32_t reserved2 = 0) {
  return le32(flags) + le32(reserved1) + le32(length) + le32(reserved2);
}

// What a reader makes of `stream` fed in pieces of `chunk` bytes: data joined, a "<socket:c|s>"
// marker per record (at its place in the data), and the error, if any.
struct Parsed {
  std::string data;
  std::vector<std::string> records;
  std::string error;
};

Parsed parse(const std::string& stream, std::size_t chunk) {
  frame::FrameReader reader;
  Parsed out;
  for (std::size_t off = 0; off < stream.size() && out.error.empty(); off += chunk) {
    std::string_view input = std::string_view(stream).substr(off, chunk);
    for (;;) {
      Piece p = reader.next(input);
      if (p.kind == Piece::Kind::kNeedMore) break;
      if (p.kind == Piece::Kind::kError) {
        out.error = p.error;
        break;
      }
      if (p.kind == Piece::Kind::kData) {
        out.data.append(p.bytes);
      } else {
        out.data += p.connection ? "<socket:c>" : "<socket:s>";
        out.records.emplace_back(p.bytes);
      }
    }
  }
  return out;
}

TEST(IpcFrame, AFrameIsALittleEndianHeaderThenTheData) {
  std::string out;
  frame::append_frame(out, "{\"a\":1}\n");
  EXPECT_EQ(out, header(frame::kHasData, 8) + "{\"a\":1}\n");
  EXPECT_EQ(out.substr(0, 4), std::string("\x01\0\0\0", 4));
  EXPECT_EQ(out.substr(8, 4), std::string("\x08\0\0\0", 4));
}

TEST(IpcFrame, ASocketRecordFollowsTheHeaderAndItsFlagsSayWhichKind) {
  std::string record(frame::kSocketRecordSize, 'r');
  std::string out;
  frame::append_frame(out, "x\n", record, true);
  EXPECT_EQ(out, header(frame::kHasData | frame::kHasSocket | frame::kSocketIsConnection, 2) +
                     record + "x\n");
  out.clear();
  frame::append_frame(out, "y\n", record, false);
  EXPECT_EQ(out.substr(0, 4), le32(frame::kHasData | frame::kHasSocket));
}

TEST(IpcFrame, SeveralFramesInOneReadAndOneFrameSplitAcrossManyReads) {
  std::string record(frame::kSocketRecordSize, '\x7f');
  record[0] = 'A';
  std::string stream;
  frame::append_frame(stream, "{\"one\":1}\n");
  frame::append_frame(stream, "{\"two\":");  // a message may span frames
  frame::append_frame(stream, "2}\n");
  frame::append_frame(stream, "{\"three\":3}\n", record, false);
  frame::append_frame(stream, "");       // an empty frame is valid and carries nothing
  stream += header(frame::kHasData, 0);  // as is HAS_DATA with no data
  stream += header(frame::kHasData, 3, 0xdeadbeef) + "z\n\n";  // reserved1 is ignored
  frame::append_frame(stream, std::string(100000, 'b'));
  std::string expected =
      "{\"one\":1}\n{\"two\":2}\n<socket:s>{\"three\":3}\nz\n\n" + std::string(100000, 'b');
  for (std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{7}, std::size_t{16},
                            std::size_t{17}, std::size_t{631}, std::size_t{4096}}) {
    Parsed p = parse(stream, chunk);
    EXPECT_EQ(p.error, "") << "chunk " << chunk;
    EXPECT_EQ(p.data, expected) << "chunk " << chunk;
    ASSERT_EQ(p.records.size(), 1u) << "chunk " << chunk;
    EXPECT_EQ(p.records[0], record);
  }
}

TEST(IpcFrame, DataPassesThroughAsViewsOfTheInput) {
  std::string stream;
  frame::append_frame(stream, std::string(1 << 20, 'd'));
  frame::FrameReader reader;
  std::string_view input = stream;
  Piece p = reader.next(input);
  ASSERT_EQ(p.kind, Piece::Kind::kData);
  EXPECT_EQ(p.bytes.size(), std::size_t{1} << 20);
  EXPECT_EQ(p.bytes.data(), stream.data() + frame::kHeaderSize);  // not copied
  EXPECT_EQ(reader.next(input).kind, Piece::Kind::kNeedMore);
}

TEST(IpcFrame, FramesNoLibuvPeerWritesAreRefusedWithTheirOffset) {
  std::string good;
  frame::append_frame(good, "{}\n");  // 19 bytes: the bad frame starts at byte 19
  struct Case {
    std::string bad;
    std::string error;
  } cases[] = {
      {header(0x8 | frame::kHasData, 1) + "x", "unknown flags 0x9"},
      {header(0x80000000u, 0), "unknown flags 0x80000000"},
      {header(frame::kHasData, 1, 0, 1) + "x", "reserved field is 0x1, not 0"},
      {header(0, 5) + "hello", "a data length of 5 without the data flag"},
      {header(frame::kSocketIsConnection, 0), "a connection flag without a socket (flags 0x4)"},
  };
  for (const Case& c : cases) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{1000}}) {
      Parsed p = parse(good + c.bad + good, chunk);
      EXPECT_EQ(p.error, "bad IPC frame at byte 19: " + c.error) << "chunk " << chunk;
      EXPECT_EQ(p.data, "{}\n") << "what came before the bad frame is delivered";
    }
  }
}

TEST(IpcFrame, AfterAnErrorTheReaderStaysFailed) {
  frame::FrameReader reader;
  std::string stream = header(0x10, 0);
  std::string_view input = stream;
  Piece first = reader.next(input);
  ASSERT_EQ(first.kind, Piece::Kind::kError);
  std::string more;
  frame::append_frame(more, "{}\n");
  std::string_view again = more;
  Piece second = reader.next(again);
  EXPECT_EQ(second.kind, Piece::Kind::kError);
  EXPECT_EQ(second.error, first.error);
}

TEST(IpcFrame, AHugeAnnouncedLengthIsStreamedNotBuffered) {
  // A peer announcing 4 GiB - 1 and sending 1 MiB of it: the reader hands the bytes on as they
  // come and holds nothing (the channel's line limit bounds what is kept above it).
  frame::FrameReader reader;
  std::string stream = header(frame::kHasData, 0xffffffffu) + std::string(1 << 20, 'q');
  std::string_view input = stream;
  std::size_t got = 0;
  for (Piece p = reader.next(input); p.kind == Piece::Kind::kData; p = reader.next(input))
    got += p.bytes.size();
  EXPECT_EQ(got, std::size_t{1} << 20);
  EXPECT_EQ(reader.offset(), stream.size());
}

}  // namespace
