// Keeping what a child writes: its output is appended to the std::string it is returned in,
// and a child can write gigabytes. Platform-neutral logic over one platform hook.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace childproc::detail {

// Per platform: asks the OS to back [data, data + size) with huge pages where it can (Linux:
// MADV_HUGEPAGE on the 2 MiB-aligned interior). Advice only; never fails.
void advise_huge_pages(char* data, std::size_t size) noexcept;

// Appends `chunk` to `out`. Growth is geometric, as std::string's own, but a buffer past a few
// MiB is advised into huge pages before it is written: a 1 GiB capture is otherwise bound by
// a quarter of a million page faults, not by the pipe.
inline void append_output(std::string& out, std::string_view chunk) {
  constexpr std::size_t kHugeFrom = 8u << 20;
  std::size_t needed = out.size() + chunk.size();
  if (needed > out.capacity() && needed >= kHugeFrom) {
    std::string grown;
    grown.reserve(std::max(needed, out.capacity() * 2));
    advise_huge_pages(grown.data(), grown.capacity());
    grown.append(out);
    out.swap(grown);
  }
  out.append(chunk);
}

}  // namespace childproc::detail
