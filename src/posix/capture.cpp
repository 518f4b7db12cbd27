// Linux memory advice for large output captures (see internal/capture.hpp).
#include <sys/mman.h>

#include <cstdint>

#include "internal/capture.hpp"

namespace childproc::detail {

void advise_huge_pages(char* data, std::size_t size) noexcept {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = 2u << 20;
  auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  auto end = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(kHuge - 1);
  // Only whole huge pages inside the buffer: the advice must not reach memory we do not own.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace childproc::detail
