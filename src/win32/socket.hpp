// Sockets passed over the IPC channel on Windows, as libuv passes them: WSADuplicateSocketW for
// the receiving process fills the transfer record that follows a frame's header; the receiver
// turns the record back into a socket with WSASocketW. Winsock starts on first use only, so a
// program that passes no socket never loads it.
#pragma once

#include <string>

#include "childproc/native_handle.hpp"
#include "internal/handle.hpp"

namespace childproc::detail {

// Whether `handle` is a socket (false, and no Winsock, unless Winsock was started already).
bool is_socket(NativeHandle handle);
// Starts Winsock once for the process; 0 or an error.
int start_winsock();
// The transfer record for `socket`, duplicated for process `peer_pid`: 0 or an error. `connection`
// says whether it is connected (else listening).
int export_socket(NativeHandle socket, int peer_pid, std::string& record, bool& connection);
// The socket a transfer record stands for, in `out`: 0 or an error.
int import_socket(const std::string& record, UniqueHandle& out);
// Closes a socket (closesocket, not CloseHandle).
void close_socket(NativeHandle socket) noexcept;

}  // namespace childproc::detail
