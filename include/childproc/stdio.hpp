// The `stdio` option, as C++ types and as Node's strings.
//
//   .stdio = "pipe"                                   // Node: 'pipe'
//   .stdio = {"pipe", "inherit", "ignore"}            // Node: ['pipe', 'inherit', 'ignore']
//   .stdio = {Stdio::pipe(), 1, Stdio::pipe()}        // fd 1 passed as the child's fd 1
//   .stdio = {"ignore", "pipe", "pipe", "pipe"}       // an extra pipe at fd 3
//
// Entries are checked when the option reaches spawn(), which throws InvalidArgumentError for an
// unknown string, two "ipc" entries, or "ipc" in a sync call, as Node does.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

namespace childproc {

struct Stdio {
  enum class Kind {
    kUnset,       // null/undefined in Node: "pipe" for fds 0-2, "ignore" from fd 3 on
    kPipe,        // a new pipe; the parent gets a stream
    kOverlapped,  // a pipe; on Win32 opened with FILE_FLAG_OVERLAPPED
    kIgnore,      // fds 0-2 go to /dev/null; higher fds are not opened
    kInherit,     // the parent's own descriptor with the same number
    kIpc,         // the IPC channel (NODE_CHANNEL_FD)
    kFd,          // the parent's descriptor `fd` becomes this child fd
  };

  Kind kind = Kind::kUnset;
  int fd = -1;  // for kFd

  static Stdio pipe() { return {Kind::kPipe}; }
  static Stdio overlapped() { return {Kind::kOverlapped}; }
  static Stdio ignore() { return {Kind::kIgnore}; }
  static Stdio inherit() { return {Kind::kInherit}; }
  static Stdio ipc() { return {Kind::kIpc}; }
  static Stdio from_fd(int fd) { return {Kind::kFd, fd}; }

  friend bool operator==(const Stdio&, const Stdio&) = default;
};

// One element of an stdio array as written by the caller: a Stdio, one of Node's strings, a
// descriptor number (a negative number means "pipe", as in Node) or nullptr (unset).
class StdioEntry {
 public:
  StdioEntry(Stdio s) : value_(s) {}
  StdioEntry(const char* s) : value_(std::string(s)) {}
  StdioEntry(std::string s) : value_(std::move(s)) {}
  StdioEntry(int fd) : value_(fd) {}
  StdioEntry(std::nullptr_t) : value_(Stdio{}) {}

  const std::variant<Stdio, std::string, int>& value() const { return value_; }

 private:
  std::variant<Stdio, std::string, int> value_;
};

// The whole option: a preset string ("pipe", "overlapped", "ignore", "inherit") or an array.
class StdioOption {
 public:
  StdioOption() : StdioOption("pipe") {}
  StdioOption(const char* preset) : preset_(preset), is_preset_(true) {}
  StdioOption(std::string preset) : preset_(std::move(preset)), is_preset_(true) {}
  StdioOption(std::initializer_list<StdioEntry> entries) : entries_(entries) {}
  StdioOption(std::vector<StdioEntry> entries) : entries_(std::move(entries)) {}

  bool is_preset() const { return is_preset_; }
  const std::string& preset() const { return preset_; }
  const std::vector<StdioEntry>& entries() const { return entries_; }

 private:
  std::string preset_;
  std::vector<StdioEntry> entries_;
  bool is_preset_ = false;
};

// Node's getValidStdio: the array padded to three entries, strings resolved, each entry checked.
// `for_sync` rejects "ipc" (ERR_IPC_SYNC_FORK). Throws InvalidArgumentError.
std::vector<Stdio> normalize_stdio(const StdioOption& option, bool for_sync);

}  // namespace childproc
