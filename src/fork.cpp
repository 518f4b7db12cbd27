// fork() = spawn() of exec_path with an "ipc" stdio entry, Node's argument and stdio rules.
#include "childproc/fork.hpp"

#include <algorithm>

#include "internal/option_fields.hpp"
#include "internal/process.hpp"

namespace childproc {

std::shared_ptr<ChildProcess> fork(const std::string& module_path,
                                   const std::vector<std::string>& args, const ForkOptions& options,
                                   Loop& loop) {
  if (module_path.empty())
    throw InvalidArgumentError("ERR_INVALID_ARG_VALUE",
                               "The argument 'modulePath' cannot be empty. Received ''");

  // stdio: strings gain the "ipc" slot; arrays must bring exactly one.
  StdioOption stdio("inherit");
  if (!options.stdio) {
    stdio = StdioOption{options.silent ? "pipe" : "inherit", options.silent ? "pipe" : "inherit",
                        options.silent ? "pipe" : "inherit", "ipc"};
  } else if (options.stdio->is_preset()) {
    const std::string& p = options.stdio->preset();
    if (p != "pipe" && p != "inherit" && p != "ignore" && p != "overlapped")
      throw InvalidArgumentError("ERR_INVALID_ARG_VALUE",
                                 "The argument 'stdio' is invalid. Received '" + p + "'");
    stdio = StdioOption{p, p, p, "ipc"};
  } else {
    std::vector<Stdio> normalized = normalize_stdio(*options.stdio, false);
    if (std::none_of(normalized.begin(), normalized.end(),
                     [](const Stdio& s) { return s.kind == Stdio::Kind::kIpc; }))
      throw InvalidArgumentError("ERR_CHILD_PROCESS_IPC_REQUIRED",
                                 "Forked processes must have an IPC channel, missing value 'ipc' "
                                 "in options.stdio");
    stdio = *options.stdio;
  }

  std::vector<std::string> argv = options.exec_argv;
  argv.push_back(module_path);
  argv.insert(argv.end(), args.begin(), args.end());
  std::string exec_path = options.exec_path.value_or(detail::current_executable());
  auto spawn_options = detail::convert_options<SpawnOptions>(options);
  spawn_options.stdio = std::move(stdio);
  return spawn(exec_path, argv, spawn_options, loop);
}

}  // namespace childproc
