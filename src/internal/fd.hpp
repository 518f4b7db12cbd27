// An owned descriptor, closed exactly once.
#pragma once

#include <utility>

namespace childproc::detail {

void close_descriptor(int fd) noexcept;  // per platform: close(2), retrying nothing (EINTR closes)

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) close_descriptor(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace childproc::detail
