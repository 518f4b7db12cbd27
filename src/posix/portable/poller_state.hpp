// The portable poller's members (see internal/poller.hpp); the poll set itself lives in
// portable/poller.cpp, out of the headers the platform-neutral code reads.
#pragma once

#include <memory>

namespace childproc::detail {

struct PollSet;
struct PollSetDeleter {
  void operator()(PollSet* set) const noexcept;
};

struct PollerState {
  std::unique_ptr<PollSet, PollSetDeleter> set;
};

}  // namespace childproc::detail
