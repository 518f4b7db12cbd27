// How the library makes its Streams and IPC Channels: their state (Impl) is private to
// stream.cpp and ipc.cpp; the rest of the library gets them from these.
#pragma once

#include <memory>

#include "childproc/ipc.hpp"
#include "childproc/stream.hpp"
#include "internal/handle.hpp"
#include "internal/loop_core.hpp"

namespace childproc::detail {

// Takes ownership of `handle` (the parent's end of a stdio pipe).
std::unique_ptr<Stream> make_stream(LoopCore& loop, UniqueHandle handle, bool readable,
                                    bool writable);

// Takes ownership of `handle` (the parent's end of an IPC channel, or the one inherited from
// the parent), ready for the loop. `peer_pid`: the process at the other end, when known (Windows
// duplicates a passed socket for it).
std::unique_ptr<ipc::Channel> make_channel(LoopCore& loop, UniqueHandle handle,
                                           ipc::ChannelLimits limits = {}, int peer_pid = -1,
                                           Serialization serialization = Serialization::kJson);

}  // namespace childproc::detail
