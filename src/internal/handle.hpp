// An owned OS handle (a descriptor on POSIX), closed exactly once. Every OS resource the
// library holds sits in one of these from the call that created it.
#pragma once

#include <utility>

#include "childproc/native_handle.hpp"

namespace childproc::detail {

// Per platform: close(2) on POSIX, retrying nothing (EINTR still closes).
void close_handle(NativeHandle handle) noexcept;

class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(NativeHandle handle) : handle_(handle) {}
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(other.release()) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueHandle() { reset(); }

  NativeHandle get() const { return handle_; }
  explicit operator bool() const { return handle_ != kInvalidNativeHandle; }
  NativeHandle release() { return std::exchange(handle_, kInvalidNativeHandle); }
  void reset(NativeHandle handle = kInvalidNativeHandle) {
    if (handle_ != kInvalidNativeHandle) close_handle(handle_);
    handle_ = handle;
  }

 private:
  NativeHandle handle_ = kInvalidNativeHandle;
};

}  // namespace childproc::detail
