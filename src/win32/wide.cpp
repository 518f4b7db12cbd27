// UTF-8 <-> UTF-16 for the Win32 calls, written out (internal/wtf8.hpp) rather than through
// MultiByteToWideChar: Windows strings are not always valid UTF-16 (an unpaired surrogate is a
// legal file name), and the round trip must keep them.
#include "internal/wtf8.hpp"
#include "win32_util.hpp"

namespace childproc::detail {

std::wstring to_wide(std::string_view s) {
  return wtf8_to_utf16<wchar_t>(s);
}

std::string from_wide(std::wstring_view w) {
  return utf16_to_wtf8<wchar_t>(w);
}

}  // namespace childproc::detail
