// The Linux poller's members (see internal/poller.hpp).
#pragma once

#include "internal/fd.hpp"

namespace childproc::detail {

struct PollerState {
  UniqueFd epoll;
  UniqueFd wake;  // an eventfd
};

}  // namespace childproc::detail
