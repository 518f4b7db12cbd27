// Windows stdio pipes: a named pipe per slot with a unique name, our end overlapped (for the
// completion port, or for spawn_sync's event waits), the child's end synchronous, as a C
// runtime child expects. Neither end is inheritable: start_process() duplicates the child's
// into an inheritable copy that only that child receives.
//
// spawn_sync() speaks readiness (wait_for_io, read_some, write_some); here that is built on
// overlapped I/O with one read and one write in flight per pipe, their state kept per thread
// (a sync call runs on one thread) and dropped when the pipe is closed.
#include <winsock2.h>
// after winsock2.h
#include <io.h>
#include <windows.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "internal/errc.hpp"
#include "internal/pipe.hpp"
#include "internal/poller.hpp"
#include "socket.hpp"
#include "win32_util.hpp"

namespace childproc::detail {

namespace {

constexpr DWORD kPipeBuffer = 64 * 1024;

// One overlapped operation of spawn_sync's, with its own manual-reset event.
struct SyncOp {
  OVERLAPPED ov{};
  bool pending = false;
  SyncOp() { ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr); }
  ~SyncOp() {
    if (ov.hEvent != nullptr) CloseHandle(ov.hEvent);
  }
  SyncOp(const SyncOp&) = delete;
  SyncOp& operator=(const SyncOp&) = delete;
};

struct SyncPipe {
  SyncOp read;
  std::vector<char> read_buffer = std::vector<char>(kPipeBuffer);
  DWORD read_have = 0;  // bytes of read_buffer not yet handed out, from read_offset
  DWORD read_offset = 0;
  int read_end = -1;  // once the read side is over: 0 (end of stream) or the error
  SyncOp write;
  std::string write_buffer;  // the bytes of the write in flight
};

thread_local std::unordered_map<NativeHandle, std::unique_ptr<SyncPipe>> t_sync_pipes;

SyncPipe& sync_pipe(NativeHandle h) {
  auto& slot = t_sync_pipes[h];
  if (!slot) slot = std::make_unique<SyncPipe>();
  return *slot;
}

// Waits out an operation the OS may still write into, cancelling it first.
void cancel(HANDLE h, SyncOp& op) {
  if (!op.pending) return;
  CancelIoEx(h, &op.ov);
  DWORD n;
  GetOverlappedResult(h, &op.ov, &n, TRUE);
  op.pending = false;
}

bool is_pipe_gone(DWORD error) {
  return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA || error == ERROR_PIPE_NOT_CONNECTED;
}

// Starts a read into the pipe's buffer, or collects the one in flight. Leaves read_have > 0,
// read_end set, or a read pending.
void pump_read(HANDLE h, SyncPipe& p) {
  for (;;) {
    if (p.read_have > 0 || p.read_end >= 0) return;
    if (!p.read.pending) {
      ResetEvent(p.read.ov.hEvent);
      if (!ReadFile(h, p.read_buffer.data(), kPipeBuffer, nullptr, &p.read.ov) &&
          GetLastError() != ERROR_IO_PENDING) {
        DWORD e = GetLastError();
        p.read_end = is_pipe_gone(e) ? 0 : translate_error(e);
        return;
      }
      p.read.pending = true;
    }
    DWORD n = 0;
    if (!GetOverlappedResult(h, &p.read.ov, &n, FALSE)) {
      DWORD e = GetLastError();
      if (e == ERROR_IO_INCOMPLETE) return;
      p.read.pending = false;
      p.read_end = is_pipe_gone(e) ? 0 : translate_error(e);
      return;
    }
    p.read.pending = false;
    p.read_have = n;
    p.read_offset = 0;
    // A zero-byte completion carries nothing: read again.
  }
}

// Collects the write in flight. 0 when none is left, else -EAGAIN or -error.
IoCount settle_write(HANDLE h, SyncPipe& p) {
  if (!p.write.pending) return 0;
  DWORD n = 0;
  if (GetOverlappedResult(h, &p.write.ov, &n, FALSE)) {
    p.write.pending = false;
    return 0;
  }
  DWORD e = GetLastError();
  if (e == ERROR_IO_INCOMPLETE) return -os::kEAGAIN;
  p.write.pending = false;
  return -(is_pipe_gone(e) ? os::kEPIPE : translate_error(e));
}

}  // namespace

void close_handle(NativeHandle handle) noexcept {
  if (auto it = t_sync_pipes.find(handle); it != t_sync_pipes.end()) {
    cancel(os_handle(handle), it->second->read);
    cancel(os_handle(handle), it->second->write);
    t_sync_pipes.erase(it);
  }
  if (is_socket(handle)) {
    close_socket(handle);
    return;
  }
  CloseHandle(os_handle(handle));
}

int make_pipe(PipeDirection direction, PipePair& out) {
  if (direction == PipeDirection::kToChildAtEof) direction = PipeDirection::kToChild;
  static std::atomic<unsigned> counter{0};
  std::wstring name = L"\\\\.\\pipe\\childproc-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
                      std::to_wstring(counter.fetch_add(1)) + L"-" +
                      std::to_wstring(GetTickCount64());
  DWORD server_access = direction == PipeDirection::kToChild     ? PIPE_ACCESS_OUTBOUND
                        : direction == PipeDirection::kFromChild ? PIPE_ACCESS_INBOUND
                                                                 : PIPE_ACCESS_DUPLEX;
  // The child's end may read what it writes the attributes of, and the reverse: the C runtime
  // and Node query a pipe's state through them.
  DWORD client_access = direction == PipeDirection::kToChild ? GENERIC_READ | FILE_WRITE_ATTRIBUTES
                        : direction == PipeDirection::kFromChild
                            ? GENERIC_WRITE | FILE_READ_ATTRIBUTES
                            : GENERIC_READ | GENERIC_WRITE;
  HANDLE server = CreateNamedPipeW(
      name.c_str(), server_access | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, kPipeBuffer, kPipeBuffer, 0, nullptr);
  if (server == INVALID_HANDLE_VALUE) return last_error();
  out.parent.reset(native(server));
  // The channel's child end is overlapped, as libuv makes it: a libuv child (Node) refuses an
  // IPC pipe it cannot do overlapped I/O on.
  DWORD client_flags = direction == PipeDirection::kIpc ? FILE_FLAG_OVERLAPPED : 0;
  HANDLE client =
      CreateFileW(name.c_str(), client_access, 0, nullptr, OPEN_EXISTING, client_flags, nullptr);
  if (client == INVALID_HANDLE_VALUE) return last_error();
  out.child.reset(native(client));
  // The client is already there: the connection completes at once.
  OVERLAPPED ov{};
  ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  BOOL connected = ConnectNamedPipe(server, &ov);
  DWORD e = connected ? ERROR_SUCCESS : GetLastError();
  if (e == ERROR_IO_PENDING) {
    DWORD n;
    e = GetOverlappedResult(server, &ov, &n, TRUE) ? ERROR_SUCCESS : GetLastError();
  }
  CloseHandle(ov.hEvent);
  if (e != ERROR_SUCCESS && e != ERROR_PIPE_CONNECTED) return translate_error(e);
  return 0;
}

void grow_pipe_buffer(NativeHandle) noexcept {}  // a named pipe's quota is set at creation

IoCount read_some(NativeHandle pipe, char* buf, std::size_t size) {
  SyncPipe& p = sync_pipe(pipe);
  pump_read(os_handle(pipe), p);
  if (p.read_have > 0) {
    DWORD n = static_cast<DWORD>(size < p.read_have ? size : p.read_have);
    std::memcpy(buf, p.read_buffer.data() + p.read_offset, n);
    p.read_offset += n;
    p.read_have -= n;
    return n;
  }
  if (p.read_end == 0) return 0;
  if (p.read_end > 0) return -p.read_end;
  return -os::kEAGAIN;
}

// The bytes go out with the first call; their count comes back once the OS has taken them, to
// the caller retrying with the same bytes after -EAGAIN (as spawn_sync does). So when a caller
// has seen all its bytes counted, they are in the pipe, and closing it loses nothing.
IoCount write_some(NativeHandle pipe, const char* buf, std::size_t size) {
  SyncPipe& p = sync_pipe(pipe);
  HANDLE h = os_handle(pipe);
  if (p.write.pending) {
    IoCount settled = settle_write(h, p);
    if (settled < 0) return settled;
    return static_cast<IoCount>(p.write_buffer.size());
  }
  p.write_buffer.assign(buf, size < kPipeBuffer ? size : kPipeBuffer);
  ResetEvent(p.write.ov.hEvent);
  if (!WriteFile(h, p.write_buffer.data(), static_cast<DWORD>(p.write_buffer.size()), nullptr,
                 &p.write.ov) &&
      GetLastError() != ERROR_IO_PENDING) {
    DWORD e = GetLastError();
    return -(is_pipe_gone(e) ? os::kEPIPE : translate_error(e));
  }
  p.write.pending = true;
  IoCount settled = settle_write(h, p);
  if (settled < 0) return settled;
  return static_cast<IoCount>(p.write_buffer.size());
}

int wait_for_io(IoWait* entries, std::size_t count, int timeout_ms) {
  HANDLE waits[MAXIMUM_WAIT_OBJECTS];
  DWORD wait_count = 0;
  int ready = 0;
  for (std::size_t i = 0; i < count; ++i) {
    IoWait& e = entries[i];
    e.ready = 0;
    HANDLE h = os_handle(e.fd);
    if (GetFileType(h) != FILE_TYPE_PIPE) {  // the process: signalled once it has exited
      if (wait_count < MAXIMUM_WAIT_OBJECTS) waits[wait_count++] = h;
      continue;
    }
    SyncPipe& p = sync_pipe(e.fd);
    if (e.interest & kIoReadable) {
      pump_read(h, p);
      if (p.read_have > 0 || p.read_end >= 0) {
        e.ready |= kIoReadable;
      } else if (wait_count < MAXIMUM_WAIT_OBJECTS) {
        waits[wait_count++] = p.read.ov.hEvent;
      }
    }
    if (e.interest & kIoWritable) {
      if (!p.write.pending || HasOverlappedIoCompleted(&p.write.ov)) {
        e.ready |= kIoWritable;
      } else if (wait_count < MAXIMUM_WAIT_OBJECTS) {
        waits[wait_count++] = p.write.ov.hEvent;
      }
    }
    if (e.ready) ++ready;
  }
  if (ready > 0 || wait_count == 0) return ready;
  DWORD rc = WaitForMultipleObjects(wait_count, waits, FALSE,
                                    timeout_ms < 0 ? INFINITE : static_cast<DWORD>(timeout_ms));
  if (rc == WAIT_TIMEOUT) return 0;
  if (rc == WAIT_FAILED) return -last_error();
  // Something is signalled: report everything that is, now.
  for (std::size_t i = 0; i < count; ++i) {
    IoWait& e = entries[i];
    HANDLE h = os_handle(e.fd);
    if (GetFileType(h) != FILE_TYPE_PIPE) {
      if (WaitForSingleObject(h, 0) == WAIT_OBJECT_0) e.ready |= kIoReadable;
    } else {
      SyncPipe& p = sync_pipe(e.fd);
      if ((e.interest & kIoReadable) && HasOverlappedIoCompleted(&p.read.ov))
        e.ready |= kIoReadable;
      if ((e.interest & kIoWritable) && HasOverlappedIoCompleted(&p.write.ov))
        e.ready |= kIoWritable;
    }
    if (e.ready) ++ready;
  }
  return ready;
}

SocketKind socket_kind(NativeHandle handle) {
  // The caller has Winsock running if this is a socket; our own start only adds a reference.
  if (start_winsock() != 0 || !is_socket(handle)) return SocketKind::kNotSocket;
  int type = 0;
  int len = sizeof type;
  getsockopt(static_cast<SOCKET>(handle), SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type),
             &len);
  if (type == SOCK_DGRAM) return SocketKind::kDatagram;
  if (type != SOCK_STREAM) return SocketKind::kNotSocket;
  BOOL listening = FALSE;
  len = sizeof listening;
  getsockopt(static_cast<SOCKET>(handle), SOL_SOCKET, SO_ACCEPTCONN,
             reinterpret_cast<char*>(&listening), &len);
  return listening ? SocketKind::kStreamListening : SocketKind::kStream;
}

int duplicate_handle(NativeHandle handle, UniqueHandle& out) {
  if (is_socket(handle)) {  // a socket is duplicated through Winsock, for this process
    std::string record;
    bool connection = false;
    if (int err =
            export_socket(handle, static_cast<int>(GetCurrentProcessId()), record, connection);
        err != 0)
      return err;
    return import_socket(record, out);
  }
  HANDLE copy = nullptr;
  if (!DuplicateHandle(GetCurrentProcess(), os_handle(handle), GetCurrentProcess(), &copy, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return last_error();
  out.reset(native(copy));
  return 0;
}

int adopt_inherited_handle(NativeHandle handle) {
  // Nothing to ready (a handle is never inherited unless a spawn lists it); only check it.
  DWORD flags;
  if (handle == kInvalidNativeHandle || !GetHandleInformation(os_handle(handle), &flags))
    return os::kEBADF;
  return 0;
}

int take_inherited_channel(int fd, UniqueHandle& out) {
  intptr_t crt_handle = _get_osfhandle(fd);
  if (crt_handle == -1 || crt_handle == -2) return os::kEBADF;
  HANDLE copy = nullptr;
  if (!DuplicateHandle(GetCurrentProcess(), reinterpret_cast<HANDLE>(crt_handle),
                       GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
    return last_error();
  _close(fd);  // the C runtime forgets the fd, and the inheritable original goes with it
  out.reset(native(copy));
  return 0;
}

}  // namespace childproc::detail
