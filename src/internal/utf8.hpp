// UTF-8 validation as the WHATWG decoder (and so Node's StringDecoder) does it: each maximal
// ill-formed subsequence counts as one error, to be replaced by one U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace childproc::detail {

struct Utf8Step {
  std::size_t length;  // bytes consumed (>= 1)
  bool valid;          // false: those bytes are one ill-formed subsequence
};

// The sequence starting at s[i] (i < s.size()).
inline Utf8Step next_utf8(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return {1, true};
  int need;
  // Only the first continuation byte has a narrowed range: it excludes overlongs, surrogates and
  // code points past U+10FFFF.
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return {1, false};
  }
  std::size_t j = i + 1;
  for (int got = 0; got < need; ++got, ++j) {
    if (j >= s.size()) return {j - i, false};
    auto c = static_cast<unsigned char>(s[j]);
    if (c < (got == 0 ? lo : 0x80) || c > (got == 0 ? hi : 0xBF)) return {j - i, false};
  }
  return {j - i, true};
}

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// Where the first ill-formed subsequence starts, or s.size(). Child output is mostly ASCII:
// eight bytes are checked at a time until a byte with the high bit set.
inline std::size_t first_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.size() - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    Utf8Step step = next_utf8(s, i);
    if (!step.valid) return i;
    i += step.length;
  }
  return s.size();
}

// The text with every ill-formed subsequence replaced by U+FFFD.
inline std::string sanitize_utf8(std::string_view in) {
  std::size_t i = first_invalid_utf8(in);
  std::string out(in.substr(0, i));
  if (i == in.size()) return out;
  out.reserve(in.size() + kReplacementChar.size());
  while (i < in.size()) {
    Utf8Step step = next_utf8(in, i);
    out.append(step.valid ? in.substr(i, step.length) : kReplacementChar);
    i += step.length;
  }
  return out;
}

// How many bytes at the end of `s` start a sequence that is valid so far but incomplete: what a
// streaming decoder (Node's StringDecoder) holds back until the next chunk.
inline std::size_t incomplete_utf8_tail(std::string_view s) {
  for (std::size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    auto b = static_cast<unsigned char>(s[s.size() - back]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: its lead is further back
    if (b < 0xC2 || b > 0xF4) return 0;
    Utf8Step step = next_utf8(s, s.size() - back);
    return !step.valid && step.length == back ? back : 0;  // ran out, not ill-formed
  }
  return 0;
}

// The longest prefix of valid UTF-8 `text` that is at most `units` UTF-16 code units long, as
// JavaScript's String.prototype.slice(0, units) cuts, except that a character outside the BMP is
// never split into a lone surrogate.
inline std::string_view utf16_prefix(std::string_view text, std::size_t units) {
  std::size_t i = 0;
  while (i < text.size()) {
    Utf8Step step = next_utf8(text, i);
    std::size_t cost = step.length == 4 ? 2 : 1;
    if (cost > units) break;
    units -= cost;
    i += step.length;
  }
  return text.substr(0, i);
}

// The same, rewriting `s` only when it is not valid UTF-8 already (the usual case is no copy).
inline void sanitize_utf8_in_place(std::string& s) {
  if (first_invalid_utf8(s) != s.size()) s = sanitize_utf8(s);
}

}  // namespace childproc::detail
