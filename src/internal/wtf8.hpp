// UTF-8 <-> UTF-16 that keeps what UTF-16 can hold and UTF-8 cannot: an unpaired surrogate (a
// legal Windows file name, a legal JavaScript string) travels as its three-byte generalized UTF-8
// form (WTF-8). Bytes that are not UTF-8 at all become U+FFFD. Used by the Win32 calls (wchar_t)
// and by V8's two-byte strings (char16_t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace childproc::detail {

template <typename Char16>
std::basic_string<Char16> wtf8_to_utf16(std::string_view s) {
  std::basic_string<Char16> out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = byte(i);
    std::uint32_t cp;
    std::size_t len;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if (b >= 0xC2 && b < 0xE0) {
      cp = b & 0x1F;
      len = 2;
    } else if (b >= 0xE0 && b < 0xF0) {
      cp = b & 0x0F;
      len = 3;
    } else if (b >= 0xF0 && b < 0xF5) {
      cp = b & 0x07;
      len = 4;
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    bool ok = i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    // Overlong forms and values past U+10FFFF are not UTF-8; surrogates (WTF-8) are kept.
    if (ok && ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
      ok = false;
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<Char16>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<Char16>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<Char16>(cp));
    }
    i += len;
  }
  return out;
}

template <typename Char16>
std::string utf16_to_wtf8(std::basic_string_view<Char16> w) {
  std::string out;
  out.reserve(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::uint32_t cp = static_cast<std::uint16_t>(w[i]);
    if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < w.size()) {
      std::uint32_t low = static_cast<std::uint16_t>(w[i + 1]);
      if (low >= 0xDC00 && low < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        ++i;
      }
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {  // a lone surrogate lands here too: its WTF-8 form
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

}  // namespace childproc::detail
