// spawn_sync(): Node's child_process.spawnSync. Runs the child to completion on a private poll
// loop, feeding `input` and draining every pipe at once, so a child that fills stdout and stderr
// never deadlocks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "childproc/error.hpp"
#include "childproc/options.hpp"

namespace childproc {

struct SpawnSyncResult {
  int pid = 0;  // 0 when the process could not be started
  // One slot per stdio entry: the bytes the child wrote into a pipe, nullopt for anything else
  // (output[0] is always nullopt, as in Node). Empty when the process could not be started.
  std::vector<std::optional<std::string>> output;
  std::string std_out;        // output[1], or empty
  std::string std_err;        // output[2], or empty
  std::optional<int> status;  // exit code; nullopt when killed by a signal or not started
  std::optional<int> signal;  // the signal that ended the child
  // ENOENT/EACCES/... with syscall "spawnSync <file>"; ETIMEDOUT after timeout; ENOBUFS after
  // max_buffer was exceeded.
  std::optional<Error> error;
  bool timed_out = false;  // beyond Node 20: the `timeout` option killed it (error ETIMEDOUT)
};

// Throws InvalidArgumentError for bad arguments (as Node throws); OS failures go to `error`.
SpawnSyncResult spawn_sync(const std::string& file, const std::vector<std::string>& args = {},
                           const SpawnSyncOptions& options = {});

}  // namespace childproc
