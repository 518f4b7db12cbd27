// Node's argument checks and normalization (normalizeSpawnArguments, getValidStdio), done before
// any descriptor or process exists, so bad input fails at the call and leaks nothing.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "childproc/error.hpp"
#include "childproc/options.hpp"
#include "childproc/stdio.hpp"
#include "internal/process.hpp"
#include "internal/spawn_plan.hpp"

namespace childproc {

namespace {

[[noreturn]] void invalid_value(const std::string& what, const std::string& why) {
  throw InvalidArgumentError("ERR_INVALID_ARG_VALUE", "The argument '" + what + "' " + why);
}

// Text for an error message: control bytes escaped (\x00, as Node's inspect writes them), so
// the message survives being printed as a C string.
std::string escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted(std::string_view s) {
  // Appended in place: `"'" + escaped(s)` trips g++ 12's -Wrestrict false positive at -O3.
  std::string out = "'";
  out += escaped(s);
  out += '\'';
  return out;
}

void reject_nul(const std::string& what, std::string_view value) {
  if (value.find('\0') != std::string_view::npos)
    invalid_value(what, "must be a string without null bytes. Received " + quoted(value));
}

Stdio parse_stdio_string(const std::string& s, const std::string& what) {
  if (s == "pipe") return Stdio::pipe();
  if (s == "overlapped") return Stdio::overlapped();
  if (s == "ignore") return Stdio::ignore();
  if (s == "inherit") return Stdio::inherit();
  if (s == "ipc") return Stdio::ipc();
  invalid_value(what, "is invalid. Received " + quoted(s) +
                          " (expected 'pipe', 'overlapped', 'ignore', 'inherit' or 'ipc')");
}

}  // namespace

std::vector<Stdio> normalize_stdio(const StdioOption& option, bool for_sync) {
  std::vector<Stdio> out;
  if (option.is_preset()) {
    const std::string& p = option.preset();
    if (p != "pipe" && p != "overlapped" && p != "ignore" && p != "inherit")
      throw InvalidArgumentError("ERR_INVALID_ARG_VALUE",
                                 "The argument 'stdio' is invalid. Received " + quoted(p) +
                                     " (expected 'pipe', 'overlapped', 'ignore' or 'inherit')");
    out.assign(3, parse_stdio_string(p, "stdio"));
    return out;
  }
  const auto& entries = option.entries();
  bool have_ipc = false;
  for (std::size_t i = 0; i < std::max<std::size_t>(entries.size(), 3); ++i) {
    const std::string what = "stdio[" + std::to_string(i) + "]";
    Stdio s;
    if (i < entries.size()) {
      const auto& v = entries[i].value();
      if (const auto* str = std::get_if<std::string>(&v)) {
        s = parse_stdio_string(*str, what);
      } else if (const auto* fd = std::get_if<int>(&v)) {
        s = *fd < 0 ? Stdio::pipe() : Stdio::from_fd(*fd);  // negative: a pipe, as in Node
      } else {
        s = std::get<Stdio>(v);
        if (s.kind == Stdio::Kind::kFd && s.fd < 0) s = Stdio::pipe();
      }
    }
    if (s.kind == Stdio::Kind::kUnset) s = i < 3 ? Stdio::pipe() : Stdio::ignore();
    if (s.kind == Stdio::Kind::kIpc) {
      if (for_sync)
        throw InvalidArgumentError("ERR_IPC_SYNC_FORK",
                                   "IPC cannot be used with synchronous forks (" + what + ")");
      if (have_ipc)
        throw InvalidArgumentError("ERR_IPC_ONE_PIPE",
                                   "Child process can have only one IPC pipe (" + what + ")");
      have_ipc = true;
    }
    out.push_back(s);
  }
  return out;
}

Env current_env() {
  Env env;
  for (const std::string& e : detail::environment_entries()) {
    std::string_view entry(e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

KillSignal::KillSignal(std::string_view name) {
  name_too_long_ = name.size() >= sizeof name_;
  name.copy(name_, std::min(name.size(), sizeof name_ - 1));
}

// Node's convertToValidSignal: a number must be a signal's (0 is none: a kill signal of 0 would
// kill nothing), a name is taken in any case ("sigterm").
int KillSignal::resolve() const {
  if (name_[0] == '\0') {
    if (signal_name(number_).empty())
      throw InvalidArgumentError("ERR_UNKNOWN_SIGNAL",
                                 "Unknown signal: " + std::to_string(number_));
    return number_;
  }
  if (!name_too_long_) {
    char upper[sizeof name_] = {};
    for (std::size_t i = 0; name_[i] != '\0'; ++i)
      upper[i] =
          name_[i] >= 'a' && name_[i] <= 'z' ? static_cast<char>(name_[i] - 'a' + 'A') : name_[i];
    if (auto n = signal_number(upper)) return *n;
  }
  throw InvalidArgumentError("ERR_UNKNOWN_SIGNAL", std::string("Unknown signal: ") + name_ +
                                                       (name_too_long_ ? "..." : ""));
}

struct AbortSignal::State {
  std::mutex mutex;
  bool aborted = false;
  std::string reason;
  std::vector<std::pair<ListenerId, std::function<void()>>> listeners;
};

bool AbortSignal::aborted() const {
  std::lock_guard lock(state_->mutex);
  return state_->aborted;
}

std::string AbortSignal::reason() const {
  std::lock_guard lock(state_->mutex);
  return state_->reason;
}

ListenerId AbortSignal::add_listener(std::function<void()> fn) {
  ListenerId id = detail::next_listener_id();
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->aborted) {
      state_->listeners.emplace_back(id, std::move(fn));
      return id;
    }
  }
  fn();
  return id;
}

void AbortSignal::remove_listener(ListenerId id) {
  std::lock_guard lock(state_->mutex);
  std::erase_if(state_->listeners, [id](const auto& l) { return l.first == id; });
}

std::size_t AbortSignal::listener_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->listeners.size();
}

AbortController::AbortController() : state_(std::make_shared<AbortSignal::State>()) {}

void AbortController::abort(std::string reason) {
  std::vector<std::pair<ListenerId, std::function<void()>>> listeners;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->aborted) return;
    state_->aborted = true;
    state_->reason = std::move(reason);
    listeners.swap(state_->listeners);
  }
  for (auto& l : listeners)
    l.second();  // outside the lock: a listener may touch the signal
}

namespace detail {

namespace {

// The part of normalizeSpawnArguments common to every option bag.
template <class Options>
SpawnPlan plan_common(const std::string& file, const std::vector<std::string>& args,
                      const Options& options, bool for_sync) {
  if (file.empty()) invalid_value("file", "cannot be empty. Received ''");
  reject_nul("file", file);
  for (std::size_t i = 0; i < args.size(); ++i)
    reject_nul("args[" + std::to_string(i) + "]", args[i]);
  if (options.cwd) reject_nul("options.cwd", *options.cwd);
  if (options.argv0) reject_nul("options.argv0", *options.argv0);
  if (options.shell.enabled()) reject_nul("options.shell", options.shell.path());
  if (options.timeout.count() < 0)
    throw InvalidArgumentError("ERR_OUT_OF_RANGE",
                               "The value of \"timeout\" is out of range. It must be >= 0. "
                               "Received " +
                                   std::to_string(options.timeout.count()));

  SpawnPlan plan;
  plan.stdio = normalize_stdio(options.stdio, for_sync);
  plan.kill_signal = options.kill_signal.resolve();

  if (options.shell.enabled()) {
    // Node joins file and args with spaces and does no quoting: the caller wrote a command line.
    std::string command = file;
    for (const auto& a : args)
      command += " " + a;
    ShellCommand shell = shell_command(options.shell.path(), command);
    plan.args = std::move(shell.argv);
    plan.windows_verbatim_arguments = shell.verbatim_arguments;
    plan.file = plan.args[0];
  } else {
    plan.file = file;
    plan.args.reserve(args.size() + 1);
    plan.args.push_back(file);
    plan.args.insert(plan.args.end(), args.begin(), args.end());
  }
  if (options.argv0) plan.args[0] = *options.argv0;

  if (options.env) {
    std::vector<std::string> pairs;
    pairs.reserve(options.env->size() + 2);
    for (const auto& [key, value] : *options.env) {
      reject_nul("options.env['" + escaped(key) + "']", key);
      reject_nul("options.env['" + escaped(key) + "']", value);
      pairs.push_back(key + "=" + value);
    }
    plan.env = std::move(pairs);
  }
  if (options.cwd && !options.cwd->empty()) plan.cwd = *options.cwd;
  plan.windows_verbatim_arguments =
      plan.windows_verbatim_arguments || options.windows_verbatim_arguments;
  plan.windows_hide = options.windows_hide;
  plan.detached = options.detached;
  plan.new_process_group = options.new_process_group || options.detached;
  plan.kill_on_parent_death = options.kill_on_parent_death;
  plan.uid = options.uid;
  plan.gid = options.gid;
  plan.timeout = options.timeout;
  plan.close_timeout_after_exit = options.close_timeout_after_exit;

  for (std::size_t i = 0; i < plan.stdio.size(); ++i)
    if (plan.stdio[i].kind == Stdio::Kind::kIpc) plan.ipc_index = i;
  return plan;
}

}  // namespace

SpawnPlan plan_spawn(const std::string& file, const std::vector<std::string>& args,
                     const SpawnOptions& options) {
  SpawnPlan plan = plan_common(file, args, options, false);
  plan.cancellation = options.cancellation;
  plan.serialization = options.serialization;
  if (plan.ipc_index) {
    // The child finds its channel through these, as a Node child does.
    if (!plan.env) plan.env = detail::environment_entries();
    plan.env->push_back("NODE_CHANNEL_FD=" + std::to_string(*plan.ipc_index));
    plan.env->push_back(std::string("NODE_CHANNEL_SERIALIZATION_MODE=") +
                        (plan.serialization == Serialization::kJson ? "json" : "advanced"));
  }
  return plan;
}

SpawnPlan plan_spawn_sync(const std::string& file, const std::vector<std::string>& args,
                          const SpawnSyncOptions& options) {
  return plan_common(file, args, options, true);
}

std::vector<std::string> error_spawnargs(const SpawnPlan& plan) {
  return std::vector<std::string>(plan.args.begin() + 1, plan.args.end());
}

}  // namespace detail
}  // namespace childproc
