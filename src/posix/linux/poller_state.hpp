// The Linux poller's members (see internal/poller.hpp).
#pragma once

#include "internal/handle.hpp"

namespace childproc::detail {

struct PollerState {
  UniqueHandle epoll;
  UniqueHandle wake;  // an eventfd
};

}  // namespace childproc::detail
