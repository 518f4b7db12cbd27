// fork(): Node's child_process.fork — a child with an IPC channel.
//
//   // Fork this very executable and dispatch on the arguments in main():
//   auto worker = childproc::fork("--worker", {"7"});
//   // Fork a Node.js script:
//   auto js = childproc::fork("worker.js", {}, {.exec_path = "node"});
//   worker->on_message([](const childproc::json::Value& m, childproc::ipc::Handle*) { ... });
//   worker->send(childproc::json::Value::object({{"hello", "worker"}}));
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "childproc/child_process.hpp"

namespace childproc {

struct ForkOptions {
  std::optional<std::string> cwd{};
  std::optional<Env> env{};
  // The program to run; default: this process's own executable (/proc/self/exe).
  std::optional<std::string> exec_path{};
  // Arguments for exec_path before module_path (Node's execArgv). Default: none.
  std::vector<std::string> exec_argv{};
  std::optional<std::string> argv0{};
  // With no `stdio`: the child's 0-2 are pipes when silent, else inherited.
  bool silent = false;
  // "pipe" / "inherit" / "ignore" become that three times plus "ipc"; an array must contain
  // exactly one "ipc" (ERR_CHILD_PROCESS_IPC_REQUIRED otherwise).
  std::optional<StdioOption> stdio{};
  bool detached = false;
  std::optional<std::uint32_t> uid{};
  std::optional<std::uint32_t> gid{};
  std::chrono::milliseconds timeout{0};
  KillSignal kill_signal = "SIGTERM";
  std::optional<AbortSignal> cancellation{};
  // kAdvanced: messages in V8's serialization format (see childproc/advanced.hpp), as Node's
  // serialization: 'advanced'; the child learns it from NODE_CHANNEL_SERIALIZATION_MODE.
  Serialization serialization = Serialization::kJson;
  bool new_process_group = false;     // as SpawnOptions
  bool kill_on_parent_death = false;  // as SpawnOptions
};

// Runs [exec_path, ...exec_argv, module_path, ...args] with an IPC channel. There is no `shell`
// option, as in Node. Throws InvalidArgumentError for bad arguments.
std::shared_ptr<ChildProcess> fork(const std::string& module_path,
                                   const std::vector<std::string>& args = {},
                                   const ForkOptions& options = {}, Loop& loop = default_loop());

}  // namespace childproc
