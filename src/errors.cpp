// Node's system errors, and names of errors and signals looked up in the backend's tables.
#include <string>
#include <utility>

#include "childproc/error.hpp"
#include "internal/errc.hpp"

namespace childproc {
std::string errno_name(int err) {
  for (const auto& e : detail::errno_names())
    if (e.value == err) return e.name;
  return "Unknown system error " + std::to_string(-err);
}

std::string signal_name(int sig) {
  for (const auto& s : detail::signal_names())
    if (s.value == sig) return s.name;
  return {};
}

std::optional<int> signal_number(std::string_view name) {
  for (const auto& s : detail::signal_names())
    if (name == s.name) return s.value;
  return std::nullopt;
}

Error make_system_error(int err, std::string syscall, std::string path,
                        std::vector<std::string> spawnargs) {
  Error e;
  e.code = errno_name(err);
  e.errnum = -err;
  e.message = syscall + " " + e.code;
  e.syscall = std::move(syscall);
  e.path = std::move(path);
  e.spawnargs = std::move(spawnargs);
  return e;
}

}  // namespace childproc
