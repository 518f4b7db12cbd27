// childproc-spawn-cost: what starting *your* program costs, by each mechanism, on this machine.
//
//   childproc-spawn-cost [--heap SIZE] [--runs N] [--json] -- PROGRAM [ARGS...]
//
// Starts PROGRAM (found through PATH when it has no '/') and waits for it, by each way there is:
// the raw mechanisms (clone(CLONE_VM|CLONE_VFORK), vfork, posix_spawn, fork+exec) and childproc's
// spawn_sync (stdio ignored, stdio piped) and async spawn on a Loop; every child's stdio is
// /dev/null (or pipes, for the piped case). The cases run interleaved, once per round in a fresh
// random order, as the benchmarks do (bench/interleaving.hpp), and the table gives each one's
// median and its ratio to the first raw mechanism. --heap makes this process hold SIZE bytes of
// touched memory first (K, M, G suffixes: KiB, MiB, GiB), as a big parent does; fork+exec then
// runs in rounds of its own, after the others, since tearing down its copy of the page tables
// would land on whichever case ran next.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <childproc/childproc.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interleaving.hpp"
#include "spawn_mechanisms.hpp"

namespace {

constexpr const char* kUsage =
    "usage: childproc-spawn-cost [--heap SIZE] [--runs N] [--json] -- PROGRAM [ARGS...]\n"
    "  --heap SIZE  hold SIZE bytes of touched heap while measuring (K, M, G: KiB, MiB, GiB)\n"
    "  --runs N     rounds (default 200); each round starts PROGRAM once per mechanism\n"
    "  --json       print JSON instead of the table\n";

struct Options {
  std::size_t heap = 0;
  int runs = 200;
  bool json = false;
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "childproc-spawn-cost: " << what << "\n" << kUsage;
  std::exit(2);
}

std::size_t parse_size(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::size_t unit = 1;
  if (end != text.c_str() && *end != '\0') {
    switch (*end) {
      case 'k':
      case 'K':
        unit = std::size_t{1} << 10;
        break;
      case 'm':
      case 'M':
        unit = std::size_t{1} << 20;
        break;
      case 'g':
      case 'G':
        unit = std::size_t{1} << 30;
        break;
      default:
        end = nullptr;
    }
    if (end != nullptr && end[1] != '\0' && std::strcmp(end + 1, "iB") != 0 &&
        std::strcmp(end + 1, "B") != 0)
      end = nullptr;
  }
  if (end == nullptr || end == text.c_str() || !(value >= 0) || value > 1e15)
    usage_error("--heap wants a size such as 512M or 4G, not '" + text + "'");
  return static_cast<std::size_t>(value * static_cast<double>(unit));
}

Options parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--json") {
      o.json = true;
    } else if (a == "--heap" || a == "--runs") {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      std::string v = argv[++i];
      if (a == "--heap") {
        o.heap = parse_size(v);
      } else {
        char* end = nullptr;
        long runs = std::strtol(v.c_str(), &end, 10);
        if (end == v.c_str() || *end != '\0' || runs < 1 || runs > 1000000)
          usage_error("--runs wants a number from 1 to 1000000, not '" + v + "'");
        o.runs = static_cast<int>(runs);
      }
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else {
      usage_error("unknown option '" + a + "' (the program to measure goes after --)");
    }
  }
  for (; i < argc; ++i)
    o.command.emplace_back(argv[i]);
  if (o.command.empty()) usage_error("no program given after --");
  return o;
}

// The program's path as execve wants it: as given when it has a '/', else from PATH.
std::optional<std::string> resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string describe_size(std::size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string json_string(const std::string& s) {
  return childproc::json::stringify(childproc::json::Value(s));
}

struct Row {
  std::string key;    // JSON name
  std::string label;  // table name
  double us;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  std::optional<std::string> path = resolve(options.command.front());
  if (!path) {
    std::cerr << "childproc-spawn-cost: " << options.command.front()
              << ": not found (nor on PATH), or not executable\n";
    return 2;
  }
  options.command.front() = *path;
  bench::Command command(options.command);

  // Once, to fail clearly before measuring anything.
  auto trial = childproc::spawn_sync(command.file(), command.rest(), {.stdio = "ignore"});
  if (trial.error) {
    std::cerr << "childproc-spawn-cost: " << *path << " cannot be started: " << trial.error->message
              << "\n";
    return 2;
  }

  std::unique_ptr<char[]> heap;
  if (options.heap > 0) {
    heap.reset(new char[options.heap]);
    for (std::size_t i = 0; i < options.heap; i += 4096)
      heap[i] = 1;
  }

  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  bench::RawChild raw{&command, null_fd};
  childproc::Loop loop;
  bench::Interleaving cases;
  std::vector<std::pair<std::string, std::string>> labels;
#ifdef __linux__
  auto stack = std::make_unique<char[]>(bench::kCloneStackSize);
  cases.add("raw_clone_vfork", [&] { bench::raw_clone_vfork(raw, stack.get()); });
  labels.emplace_back("raw_clone_vfork", "raw clone(CLONE_VM|CLONE_VFORK)");
#endif
  cases.add("raw_vfork", [&] { bench::raw_vfork(raw); });
  labels.emplace_back("raw_vfork", "raw vfork + exec");
  cases.add("raw_posix_spawn", [&] { bench::raw_posix_spawn(raw); });
  labels.emplace_back("raw_posix_spawn", "raw posix_spawn");
  bool fork_apart = options.heap > 0;
  if (!fork_apart) cases.add("raw_fork_exec", [&] { bench::raw_fork_exec(raw); });
  labels.emplace_back("raw_fork_exec", "raw fork + exec");
  cases.add("spawn_sync_ignore", [&] { bench::spawn_sync_ignore(command); });
  labels.emplace_back("spawn_sync_ignore", "childproc spawn_sync, stdio ignore");
  cases.add("spawn_sync_pipe", [&] { bench::spawn_sync_pipe(command); });
  labels.emplace_back("spawn_sync_pipe", "childproc spawn_sync, stdio pipe");
  cases.add("spawn_async_ignore", [&] { bench::spawn_async_ignore(command, loop); });
  labels.emplace_back("spawn_async_ignore", "childproc spawn on a Loop");

  for (int r = 0; r < options.runs; ++r)
    cases.round();
  std::vector<bench::Interleaving::Median> medians = cases.medians();
  if (fork_apart) {
    bench::Interleaving alone;
    alone.add("raw_fork_exec", [&] { bench::raw_fork_exec(raw); });
    for (int r = 0; r < options.runs; ++r)
      alone.round();
    for (auto& m : alone.medians())
      medians.push_back(m);
  }
  close(null_fd);

  std::vector<Row> rows;
  for (const auto& [key, label] : labels)
    for (const auto& m : medians)
      if (m.name == key) rows.push_back({key, label, m.us});
  const Row& base = rows.front();

  if (options.json) {
    std::string out = "{\"program\":[";
    for (std::size_t i = 0; i < options.command.size(); ++i) {
      if (i > 0) out += ',';
      out += json_string(options.command[i]);
    }
    out += "],\"runs\":" + std::to_string(options.runs) +
           ",\"heap_bytes\":" + std::to_string(options.heap) +
           ",\"baseline\":" + json_string(base.key) + ",\"results\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s{\"mechanism\":%s,\"median_us\":%.1f,\"ratio\":%.3f}",
                    i ? "," : "", json_string(rows[i].key).c_str(), rows[i].us,
                    rows[i].us / base.us);
      out += buf;
    }
    out += "]}";
    std::cout << out << "\n";
    return 0;
  }
  std::cout << "childproc-spawn-cost: " << *path << ", " << options.runs << " rounds, "
            << describe_size(options.heap) << " of touched heap held, medians\n\n";
  std::printf("%-36s %12s %10s\n", "mechanism", "median", "ratio");
  for (const Row& row : rows)
    std::printf("%-36s %9.1f us %9.2fx\n", row.label.c_str(), row.us, row.us / base.us);
  std::printf("\nratio: to %s%s\n", base.label.c_str(),
              fork_apart ? "; fork + exec ran in rounds of its own" : "");
  return 0;
}
