// The OS error and signal numbers platform-neutral code tests for, by their POSIX/Node names.
// Each backend defines them in its own "platform_errc.hpp" (src/posix/, src/win32/), found on the
// backend's include path, so that code here compares against constants without naming a system
// header, and a platform without SIGKILL (mingw) defines Node's number for it.
#pragma once

#include <span>

#include "platform_errc.hpp"

namespace childproc::detail {

struct NamedNumber {
  int value;
  const char* name;
};

// The backend's errno and signal names (errno_name(), signal_name(), signal_number() search them).
std::span<const NamedNumber> errno_names();
std::span<const NamedNumber> signal_names();

// Node turns only these start failures into an 'error' event; the rest are thrown.
constexpr bool start_failure_is_async(int err) {
  return err == os::kEACCES || err == os::kEAGAIN || err == os::kEMFILE || err == os::kENFILE ||
         err == os::kENOENT;
}

}  // namespace childproc::detail
