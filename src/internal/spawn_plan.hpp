// A spawn request after Node's normalizeSpawnArguments/getValidStdio, and the launch step that
// turns it into pipes plus a started process. Shared by spawn() and spawn_sync().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "childproc/options.hpp"
#include "childproc/spawn_sync.hpp"
#include "childproc/stdio.hpp"
#include "internal/handle.hpp"
#include "internal/process.hpp"

namespace childproc::detail {

struct SpawnPlan {
  std::string file;               // what is executed (the shell when `shell` is set): spawnfile
  std::vector<std::string> args;  // full argv, argv[0] included: spawnargs
  std::optional<std::vector<std::string>> env;  // "KEY=value"; nullopt: inherit
  std::optional<std::string> cwd;
  std::vector<Stdio> stdio;  // normalized: no kUnset left
  bool detached = false;
  bool windows_verbatim_arguments = false;  // the shell on Windows sets it, as Node
  bool windows_hide = false;
  bool new_process_group = false;  // detached or asked for: kill_tree() signals the group
  bool kill_on_parent_death = false;
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  std::chrono::milliseconds timeout{0};
  int kill_signal = 15;
  std::optional<AbortSignal> cancellation;
  std::optional<std::chrono::milliseconds> close_timeout_after_exit;
  std::optional<std::size_t> ipc_index;
  Serialization serialization = Serialization::kJson;
};

// Both throw InvalidArgumentError, naming the offending argument.
SpawnPlan plan_spawn(const std::string& file, const std::vector<std::string>& args,
                     const SpawnOptions& options);
SpawnPlan plan_spawn_sync(const std::string& file, const std::vector<std::string>& args,
                          const SpawnSyncOptions& options);

// The arguments Node puts in err.spawnargs: argv without argv[0].
std::vector<std::string> error_spawnargs(const SpawnPlan& plan);

// Result of launching: the parent's end of each stdio slot (empty where none) and the process.
struct Launch {
  std::vector<UniqueHandle> parent_ends;
  std::optional<ProcessFailure> failure;  // set: the process does not exist (pipes still do)
  StartedProcess process;
};

// What the caller will do with the child, so that nothing it will not use is made.
struct LaunchHints {
  bool wait_only = false;            // ProcessRequest::wait_only
  bool stdin_never_written = false;  // a stdin pipe gets EOF only (PipeDirection::kToChildAtEof)
};

// Creates the pipes, starts the process, closes the child's ends. A pipe creation failure is
// reported like a start failure (step "pipe").
Launch launch(const SpawnPlan& plan, const LaunchHints& hints = {});

// spawn_sync() itself. With mirror_std_fields false, std_out/std_err stay empty and the bytes
// are only in output[1]/output[2]: exec_file_sync takes them from there without a copy.
SpawnSyncResult run_spawn_sync(const std::string& file, const std::vector<std::string>& args,
                               const SpawnSyncOptions& options, bool mirror_std_fields);

}  // namespace childproc::detail
