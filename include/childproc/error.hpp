// Errors as Node reports them: a code string ("ENOENT", "ERR_INVALID_ARG_VALUE"), the negative
// errno Node puts in `err.errno`, the syscall ("spawn ls"), the path and the spawn arguments.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace childproc {

struct Error {
  std::string code;     // "ENOENT", "ETIMEDOUT", "ABORT_ERR", "ERR_IPC_CHANNEL_CLOSED"
  int errnum = 0;       // Node's err.errno: negative errno (-2 for ENOENT), 0 if none
  std::string syscall;  // "spawn ls", "spawnSync ls", "write"
  std::string path;     // the file that was spawned, when it applies
  std::vector<std::string> spawnargs;  // the arguments after argv[0], as Node gives them
  std::string message;                 // human-readable: "spawn ls ENOENT"
  std::string step;  // beyond Node: the step that failed in the child ("chdir", "execve", ...)
  std::string name = "Error";  // "Error", "AbortError", "RangeError"

  // The OS error as a std::error_code (empty for errors that are not OS errors).
  std::error_code error_code() const {
    return errnum < 0 ? std::error_code(-errnum, std::generic_category()) : std::error_code();
  }
};

// Builds the Error Node gives for a failed system call: code from the errno, message
// "<syscall> <CODE>".
Error make_system_error(int err, std::string syscall, std::string path = {},
                        std::vector<std::string> spawnargs = {});

// Node throws these synchronously for bad arguments; code() is Node's error code
// ("ERR_INVALID_ARG_VALUE", "ERR_INVALID_ARG_TYPE", "ERR_IPC_ONE_PIPE", "ERR_UNKNOWN_SIGNAL"...).
class InvalidArgumentError : public std::invalid_argument {
 public:
  InvalidArgumentError(std::string code, const std::string& message)
      : std::invalid_argument(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

// Thrown where Node throws an OS error synchronously (spawn failing with EPERM, EINVAL, ...).
class SystemError : public std::runtime_error {
 public:
  explicit SystemError(Error error) : std::runtime_error(error.message), error_(std::move(error)) {}
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

// "ENOENT" for 2; "Unknown system error N" otherwise, as Node's util.getSystemErrorName.
std::string errno_name(int err);

// "SIGTERM" for 15; empty for a number that is no signal.
std::string signal_name(int sig);
// 15 for "SIGTERM"; nullopt for a name that is no signal.
std::optional<int> signal_number(std::string_view name);

}  // namespace childproc
