// Node's argument checks (normalizeSpawnArguments, getValidStdio) on arbitrary input, before
// anything is created: a SpawnPlan or an InvalidArgumentError naming what was wrong, never a
// crash. The input is split on '\n' into: file, args, env entries ("k=v") and stdio entries
// (each a preset string, a number, or "null"), chosen by a leading tag byte per line.
#include <childproc/childproc.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "internal/spawn_plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string file;
  std::vector<std::string> args;
  childproc::Env env;
  std::vector<childproc::StdioEntry> stdio;
  childproc::SpawnOptions options;
  bool have_file = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!have_file) {
      file = line;
      have_file = true;
      continue;
    }
    if (line.empty()) continue;
    char tag = line[0];
    std::string rest = line.substr(1);
    switch (tag % 6) {
      case 0:
        args.push_back(rest);
        break;
      case 1: {
        auto eq = rest.find('=');
        env[rest.substr(0, eq)] = eq == std::string::npos ? "" : rest.substr(eq + 1);
        options.env = env;
        break;
      }
      case 2:
        stdio.emplace_back(rest);
        break;
      case 3:
        stdio.emplace_back(std::atoi(rest.c_str()));
        break;
      case 4:
        stdio.emplace_back(nullptr);
        break;
      case 5:
        if (rest.rfind("cwd", 0) == 0)
          options.cwd = rest.substr(3);
        else if (rest.rfind("shell", 0) == 0)
          options.shell = rest.substr(5);
        else if (rest.rfind("argv0", 0) == 0)
          options.argv0 = rest.substr(5);
        else
          options.kill_signal = rest;
        break;
    }
  }
  if (!stdio.empty()) options.stdio = childproc::StdioOption(stdio);
  try {
    childproc::detail::SpawnPlan plan = childproc::detail::plan_spawn(file, args, options);
    if (plan.args.empty() || plan.file.empty()) std::abort();  // a plan always has argv[0]
    if (plan.stdio.size() < 3) std::abort();
  } catch (const childproc::InvalidArgumentError& e) {
    if (e.code().empty() || *e.what() == '\0') std::abort();  // every refusal says why
  }
  return 0;
}
