// The operating system's own name for a resource the API hands over: a descriptor on POSIX, a
// HANDLE or SOCKET value on Windows. Used where a caller passes or receives one (a socket sent
// with an IPC message, a connected socket to run the IPC protocol over).
#pragma once

#include <cstdint>

namespace childproc {

#if defined(_WIN32)
using NativeHandle = std::uintptr_t;  // wide enough for both HANDLE and SOCKET
inline constexpr NativeHandle kInvalidNativeHandle = ~NativeHandle{0};  // INVALID_HANDLE_VALUE
#else
using NativeHandle = int;
inline constexpr NativeHandle kInvalidNativeHandle = -1;
#endif

}  // namespace childproc
