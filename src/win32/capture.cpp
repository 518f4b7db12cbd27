// Windows has no advice for ordinary heap memory (large pages need a privilege and their own
// allocation): captures grow as any string does.
#include "internal/capture.hpp"

namespace childproc::detail {

void advise_huge_pages(char*, std::size_t) noexcept {}

}  // namespace childproc::detail
