// The loop's multiplexer on Windows: an I/O completion port. Completion-based, so the
// readiness calls (add/modify/remove) have nothing to do: a transport associates its own handle
// with the port, keyed by its watch, and a process exit is posted to the port by a wait
// callback. A packet wakes the watch its key names; the watch finds out what completed.
#include <windows.h>

#include "childproc/error.hpp"
#include "internal/errc.hpp"
#include "internal/poller.hpp"
#include "win32_util.hpp"

namespace childproc::detail {

Poller::Poller() {
  HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port == nullptr) throw SystemError(make_system_error(last_error(), "CreateIoCompletionPort"));
  state_.port.reset(native(port));
}

NativeHandle Poller::fd() const {
  return state_.port.get();
}

int Poller::add(NativeHandle, unsigned, std::uint64_t) {
  return 0;
}

int Poller::modify(NativeHandle, unsigned, std::uint64_t) {
  return 0;
}

void Poller::remove(NativeHandle) {}

std::size_t Poller::wait(Ready* out, std::size_t capacity, int timeout_ms) {
  OVERLAPPED_ENTRY entries[64];
  ULONG want = static_cast<ULONG>(capacity < 64 ? capacity : 64);
  ULONG got = 0;
  HANDLE port = os_handle(state_.port.get());
  if (!GetQueuedCompletionStatusEx(port, entries, want, &got,
                                   timeout_ms < 0 ? INFINITE : static_cast<DWORD>(timeout_ms),
                                   FALSE))
    return 0;  // WAIT_TIMEOUT
  for (ULONG i = 0; i < got; ++i)
    out[i] = {static_cast<std::uint64_t>(entries[i].lpCompletionKey), kIoReadable};
  return got;
}

void Poller::wake() {
  PostQueuedCompletionStatus(os_handle(state_.port.get()), 0, kWakeKey, nullptr);
}

}  // namespace childproc::detail
