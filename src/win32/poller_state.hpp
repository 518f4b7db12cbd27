// The Windows poller's members (see internal/poller.hpp).
#pragma once

#include "internal/handle.hpp"

namespace childproc::detail {

struct PollerState {
  UniqueHandle port;  // an I/O completion port
};

}  // namespace childproc::detail
