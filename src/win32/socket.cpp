// Winsock's part of the IPC channel: a socket travels as the WSAPROTOCOL_INFOW that
// WSADuplicateSocketW writes for the receiving process, plus libuv's 32-bit "delayed error"
// (always 0 here: the socket is exported as it is), 632 bytes in all.
#include "socket.hpp"

#include <winsock2.h>
// after winsock2.h
#include <windows.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "internal/ipc_frame.hpp"
#include "win32_util.hpp"

namespace childproc::detail {

namespace {

static_assert(sizeof(WSAPROTOCOL_INFOW) + sizeof(std::uint32_t) == ipc_frame::kSocketRecordSize,
              "libuv's transfer record is a WSAPROTOCOL_INFOW and a 32-bit error");

std::atomic<bool> g_winsock_started{false};

SOCKET os_socket(NativeHandle h) {
  return static_cast<SOCKET>(h);
}

}  // namespace

int start_winsock() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] {
    WSADATA data;
    result = WSAStartup(MAKEWORD(2, 2), &data);
    if (result == 0) {
      g_winsock_started = true;
    } else {
      result = translate_error(static_cast<unsigned long>(result));
    }
  });
  return result;
}

bool is_socket(NativeHandle handle) {
  if (!g_winsock_started) return false;
  int type = 0;
  int len = sizeof type;
  return getsockopt(os_socket(handle), SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) ==
         0;
}

int export_socket(NativeHandle socket, int peer_pid, std::string& record, bool& connection) {
  if (int err = start_winsock(); err != 0) return err;
  BOOL listening = FALSE;
  int len = sizeof listening;
  if (getsockopt(os_socket(socket), SOL_SOCKET, SO_ACCEPTCONN, reinterpret_cast<char*>(&listening),
                 &len) != 0)
    return translate_error(static_cast<unsigned long>(WSAGetLastError()));
  connection = !listening;
  WSAPROTOCOL_INFOW info;
  if (WSADuplicateSocketW(os_socket(socket), static_cast<DWORD>(peer_pid), &info) != 0)
    return translate_error(static_cast<unsigned long>(WSAGetLastError()));
  record.assign(reinterpret_cast<const char*>(&info), sizeof info);
  record.append(sizeof(std::uint32_t), '\0');  // delayed error: none
  return 0;
}

int import_socket(const std::string& record, UniqueHandle& out) {
  if (record.size() != ipc_frame::kSocketRecordSize) return translate_error(ERROR_INVALID_DATA);
  if (int err = start_winsock(); err != 0) return err;
  WSAPROTOCOL_INFOW info;
  std::memcpy(&info, record.data(), sizeof info);
  // Overlapped, as libuv makes its sockets, and not inheritable: no child gets it unasked.
  SOCKET s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) return translate_error(static_cast<unsigned long>(WSAGetLastError()));
  SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
  out.reset(static_cast<NativeHandle>(s));
  return 0;
}

void close_socket(NativeHandle socket) noexcept {
  closesocket(os_socket(socket));
}

}  // namespace childproc::detail
