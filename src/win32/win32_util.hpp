// What the Win32 files share: Windows errors in the library's vocabulary, and the conversion
// between the API's UTF-8 and the OS's UTF-16.
#pragma once

#include <string>
#include <string_view>

#include "childproc/native_handle.hpp"

namespace childproc::detail {

// NativeHandle is an integer wide enough for a HANDLE; these spell the casts once.
inline void* os_handle(NativeHandle h) {
  return reinterpret_cast<void*>(h);
}
inline NativeHandle native(void* h) {
  return reinterpret_cast<NativeHandle>(h);
}

// A Windows error (GetLastError(), WSAGetLastError()) as the library's code: libuv's number
// for the name Node reports (ERROR_FILE_NOT_FOUND -> ENOENT, ...); EIO-like ones fold as libuv
// folds them, anything unknown is UNKNOWN.
int translate_error(unsigned long error);
// translate_error(GetLastError()).
int last_error();

// UTF-8 to UTF-16 and back, lossless both ways: an unpaired surrogate in an OS string becomes
// its three-byte WTF-8 form, and that form turns back into the same surrogate.
std::wstring to_wide(std::string_view utf8);
std::string from_wide(std::wstring_view utf16);

}  // namespace childproc::detail
