// Starting, watching and ending processes on Windows. A start is a pipeline of small steps:
// refuse what Node refuses (.bat/.cmd without a shell, uid/gid), build the UTF-16 command line
// and environment block, make an inheritable copy of each handle the child gets, hand exactly
// those to CreateProcessW (PROC_THREAD_ATTRIBUTE_HANDLE_LIST) and describe them to the child's
// C runtime (lpReserved2) so that it sees them as fds 0, 1, 2, 3...
//
// Signals as libuv has them on Windows: SIGTERM, SIGKILL, SIGINT and SIGQUIT terminate the
// process (exit code 1) and the exit is then reported as that signal; 0 probes; others ENOSYS.
//
// Job objects do what process groups and PR_SET_PDEATHSIG do on POSIX. As libuv does, every
// child that is not detached joins one job of ours that kills its members when this process
// ends (its last handle closes with us), and lets their own children break away; a child that
// leads a tree (new_process_group, detached) also gets a job of its own, nested in that one,
// which its descendants join and kill_tree() terminates.
#include <windows.h>
// after windows.h
#include <tlhelp32.h>
// after windows.h
#include <io.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cwchar>
#include <cwctype>
#include <map>
#include <mutex>
#include <unordered_map>

#include "command_line.hpp"
#include "internal/errc.hpp"
#include "internal/poller.hpp"
#include "internal/process.hpp"
#include "win32_util.hpp"

namespace childproc::detail {

namespace {

// The C runtime's per-fd flags in lpReserved2 (the layout libuv and the CRT share).
constexpr unsigned char kFdOpen = 0x01;
constexpr unsigned char kFdPipe = 0x08;
constexpr unsigned char kFdDevice = 0x40;

// Signals delivered by terminate(), reported at the exit instead of the exit code.
std::mutex g_killed_mutex;
std::unordered_map<NativeHandle, int> g_killed_with;

// Exit watches: the registered wait posts the watch's key to its loop's port.
struct ExitWait {
  HANDLE port;
  std::uint64_t key;
  HANDLE wait = nullptr;
  std::optional<Loop::TimerId> poll_timer;  // the fallback, when no wait could be registered
};
// By loop (its port) and watch key: each loop numbers its watches from 1.
std::mutex g_waits_mutex;
std::map<std::pair<HANDLE, std::uint64_t>, std::unique_ptr<ExitWait>> g_waits;

void CALLBACK on_process_signalled(void* context, BOOLEAN) {
  auto* w = static_cast<ExitWait*>(context);
  PostQueuedCompletionStatus(w->port, 0, static_cast<ULONG_PTR>(w->key), nullptr);
}

// The job every non-detached child joins, made once and never closed: the OS closes it when
// this process ends, and the job then kills what is left in it.
HANDLE die_with_us_job() {
  static HANDLE job = [] {
    HANDLE h = CreateJobObjectW(nullptr, nullptr);
    if (h == nullptr) return h;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags =
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION |
        JOB_OBJECT_LIMIT_BREAKAWAY_OK | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK;
    SetInformationJobObject(h, JobObjectExtendedLimitInformation, &limits, sizeof limits);
    return h;
  }();
  return job;
}

// Puts the suspended child in its jobs before it runs a single instruction, so that nothing it
// starts escapes them. Returns 0 or an errno.
int join_jobs(const ProcessRequest& req, HANDLE process, UniqueHandle& tree) {
  if (!req.detached || req.die_with_parent) {
    HANDLE job = die_with_us_job();
    if (job == nullptr) return last_error();
    // Refused when we run in a job that allows no nesting: libuv goes on without it, and so do we
    // (the child then lives on after us, as it would without this job).
    if (!AssignProcessToJobObject(job, process) && GetLastError() != ERROR_ACCESS_DENIED)
      return last_error();
  }
  if (req.detached || req.new_process_group) {
    UniqueHandle job(native(CreateJobObjectW(nullptr, nullptr)));
    if (!job) return last_error();
    if (!AssignProcessToJobObject(os_handle(job.get()), process)) return last_error();
    tree = std::move(job);
  }
  return 0;
}

// The number of processes still running in `job`, or -1 if that cannot be told.
long processes_in(HANDLE job) {
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION info{};
  if (!QueryInformationJobObject(job, JobObjectBasicAccountingInformation, &info, sizeof info,
                                 nullptr))
    return -1;
  return static_cast<long>(info.ActiveProcesses);
}

// The signals libuv turns into TerminateProcess; the rest have no meaning here.
bool terminates(int sig) {
  constexpr int kSIGQUIT = 3;
  return sig == os::kSIGTERM || sig == os::kSIGKILL || sig == os::kSIGINT || sig == kSIGQUIT;
}

void poll_for_exit(LoopCore& loop, ExitWait& wait, HANDLE process) {
  wait.poll_timer = loop.add_timer(std::chrono::milliseconds(100), [&loop, &wait, process] {
    wait.poll_timer.reset();
    if (WaitForSingleObject(process, 0) == WAIT_OBJECT_0) {
      PostQueuedCompletionStatus(wait.port, 0, static_cast<ULONG_PTR>(wait.key), nullptr);
    } else {
      poll_for_exit(loop, wait, process);
    }
  });
}

bool ends_with_ci(const std::string& s, const char* suffix) {
  std::size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[s.size() - n + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

bool is_file(const std::wstring& path) {
  DWORD attributes = GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && !(attributes & FILE_ATTRIBUTE_DIRECTORY);
}

std::wstring current_directory() {
  DWORD n = GetCurrentDirectoryW(0, nullptr);
  std::wstring dir(n, L'\0');
  dir.resize(GetCurrentDirectoryW(n, dir.data()));
  return dir;
}

// `dir` joined to `cwd` the way Windows resolves a relative directory.
std::wstring resolve_directory(const std::wstring& dir, const std::wstring& cwd) {
  if (dir.empty()) return cwd;
  bool unc =
      dir.size() >= 2 && (dir[0] == L'\\' || dir[0] == L'/') && (dir[1] == L'\\' || dir[1] == L'/');
  bool drive_absolute = dir.size() >= 3 && dir[1] == L':' && (dir[2] == L'\\' || dir[2] == L'/');
  if (unc || drive_absolute) return dir;
  if (dir[0] == L'\\' || dir[0] == L'/') return cwd.substr(0, 2) + dir;  // the cwd's drive
  if (dir.size() >= 2 && dir[1] == L':') {  // "X:relative": relative only on the cwd's drive
    bool same_drive = cwd.size() >= 2 && std::towupper(dir[0]) == std::towupper(cwd[0]);
    return same_drive ? cwd + L"\\" + dir.substr(2) : dir;
  }
  return cwd + L"\\" + dir;
}

// libuv's per-directory order: the exact name only if it has an extension, then .com, .exe.
std::wstring find_in(const std::wstring& dir, const std::wstring& name, bool has_extension) {
  std::wstring base = dir.empty() || dir.back() == L'\\' || dir.back() == L'/' ? dir : dir + L"\\";
  base += name;
  if (has_extension && is_file(base)) return base;
  if (!base.empty() && base.back() != L'.') {
    for (const wchar_t* ext : {L".com", L".exe"})
      if (is_file(base + ext)) return base + ext;
  }
  return {};
}

std::wstring environment_value(const std::vector<std::string>& env, const char* name) {
  std::size_t n = std::strlen(name);
  for (const std::string& entry : env) {
    if (entry.size() <= n || entry[n] != '=') continue;
    bool same = true;
    for (std::size_t i = 0; i < n && same; ++i)
      same = std::toupper(static_cast<unsigned char>(entry[i])) == name[i];
    if (same) return to_wide(entry.substr(n + 1));
  }
  return {};
}

std::wstring our_variable(const wchar_t* name) {
  DWORD n = GetEnvironmentVariableW(name, nullptr, 0);
  if (n == 0) return {};
  std::wstring value(n, L'\0');
  value.resize(GetEnvironmentVariableW(name, value.data(), n));
  return value;
}

unsigned char crt_flags_for(HANDLE h) {
  switch (GetFileType(h)) {
    case FILE_TYPE_DISK:
      return kFdOpen;
    case FILE_TYPE_PIPE:
      return kFdOpen | kFdPipe;
    default:
      return kFdOpen | kFdDevice;
  }
}

// The handles a child gets, as inheritable copies of ours, and their description for its C
// runtime. The copies close when this goes away: the child has its own by then.
struct ChildHandles {
  std::vector<UniqueHandle> owned;
  std::vector<HANDLE> by_fd;  // INVALID_HANDLE_VALUE where the fd is closed
  std::vector<unsigned char> flags;
  std::vector<HANDLE> inherited;  // unique, for PROC_THREAD_ATTRIBUTE_HANDLE_LIST
  std::vector<unsigned char> crt_block;
};

int prepare_handles(const ProcessRequest& req, ChildHandles& out) {
  std::size_t count = std::max<std::size_t>(3, req.fds.size());
  out.by_fd.assign(count, INVALID_HANDLE_VALUE);
  out.flags.assign(count, 0);
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  for (std::size_t i = 0; i < req.fds.size(); ++i) {
    const ChildFd& fd = req.fds[i];
    HANDLE copy = INVALID_HANDLE_VALUE;
    if (fd.kind == ChildFd::Kind::kNull) {
      copy =
          CreateFileW(L"NUL", i == 0 ? GENERIC_READ : GENERIC_WRITE | FILE_READ_ATTRIBUTES,
                      FILE_SHARE_READ | FILE_SHARE_WRITE, &inheritable, OPEN_EXISTING, 0, nullptr);
      if (copy == INVALID_HANDLE_VALUE) return last_error();
    } else if (fd.kind == ChildFd::Kind::kDescriptor) {
      HANDLE source = fd.source_is_fd_number
                          ? reinterpret_cast<HANDLE>(_get_osfhandle(static_cast<int>(fd.source)))
                          : os_handle(fd.source);
      if (source == INVALID_HANDLE_VALUE || source == nullptr) {
        if (i <= 2) continue;  // a standard fd we do not have: the child has none either
        return translate_error(ERROR_INVALID_HANDLE);
      }
      if (!DuplicateHandle(GetCurrentProcess(), source, GetCurrentProcess(), &copy, 0, TRUE,
                           DUPLICATE_SAME_ACCESS))
        return last_error();
    } else {
      continue;
    }
    out.owned.emplace_back(native(copy));
    out.by_fd[i] = copy;
    out.flags[i] = fd.kind == ChildFd::Kind::kNull ? kFdOpen | kFdDevice : crt_flags_for(copy);
    out.inherited.push_back(copy);
  }
  // int count, a flags byte per fd, a HANDLE per fd; packed, as the C runtime reads it.
  std::uint32_t n = static_cast<std::uint32_t>(count);
  out.crt_block.resize(sizeof n + count + count * sizeof(HANDLE));
  std::memcpy(out.crt_block.data(), &n, sizeof n);
  std::memcpy(out.crt_block.data() + sizeof n, out.flags.data(), count);
  std::memcpy(out.crt_block.data() + sizeof n + count, out.by_fd.data(), count * sizeof(HANDLE));
  return 0;
}

std::wstring environment_block_for(const std::vector<std::string>& env) {
  std::vector<std::wstring> entries;
  entries.reserve(env.size());
  for (const std::string& e : env)
    entries.push_back(to_wide(e));
  std::vector<std::wstring> required;
  for (const std::wstring& name : win32::required_variable_names()) {
    std::wstring value = our_variable(name.c_str());
    if (!value.empty()) required.push_back(name + L"=" + value);
  }
  return win32::environment_block(entries, required);
}

}  // namespace

std::vector<std::string> exec_candidates(const std::string& file,
                                         const std::optional<std::vector<std::string>>& env,
                                         const std::optional<std::string>& cwd) {
  std::wstring wide = to_wide(file);
  if (wide.empty() || wide == L".") return {};
  std::size_t cut = wide.find_last_of(L"\\/:");
  std::wstring dir = cut == std::wstring::npos ? std::wstring() : wide.substr(0, cut + 1);
  std::wstring name = cut == std::wstring::npos ? wide : wide.substr(cut + 1);
  std::size_t dot = name.find(L'.');
  bool has_extension = dot != std::wstring::npos && dot + 1 < name.size();
  std::wstring here = cwd ? to_wide(*cwd) : current_directory();
  if (!dir.empty()) {  // a path: only there
    std::wstring found = find_in(resolve_directory(dir, here), name, has_extension);
    return found.empty() ? std::vector<std::string>{} : std::vector<std::string>{from_wide(found)};
  }
  if (NeedCurrentDirectoryForExePathW(L"")) {
    std::wstring found = find_in(here, name, has_extension);
    if (!found.empty()) return {from_wide(found)};
  }
  std::wstring path = env ? environment_value(*env, "PATH") : our_variable(L"PATH");
  if (env && path.empty()) path = our_variable(L"PATH");
  std::size_t start = 0;
  while (start <= path.size()) {
    // Entries split on ';', a quoted one ("..." or '...') kept whole.
    std::wstring entry;
    std::size_t i = start;
    wchar_t quote = 0;
    for (; i < path.size(); ++i) {
      wchar_t c = path[i];
      if (quote == 0 && (c == L'"' || c == L'\'')) {
        quote = c;
      } else if (c == quote) {
        quote = 0;
      } else if (c == L';' && quote == 0) {
        break;
      } else {
        entry.push_back(c);
      }
    }
    if (!entry.empty()) {
      std::wstring found = find_in(resolve_directory(entry, here), name, has_extension);
      if (!found.empty()) return {from_wide(found)};
    }
    start = i + 1;
  }
  return {};
}

std::optional<ProcessFailure> start_process(const ProcessRequest& req, StartedProcess& out) {
  // What Node refuses on Windows before trying.
  const std::string& file = req.file ? *req.file : req.argv->at(0);
  if (ends_with_ci(file, ".bat") || ends_with_ci(file, ".cmd"))
    return ProcessFailure{os::kEINVAL, "spawn"};  // CVE-2024-27980: only through a shell
  if (req.uid || req.gid) return ProcessFailure{translate_error(ERROR_NOT_SUPPORTED), "setuid"};
  if (req.exec_candidates.empty()) return ProcessFailure{os::kENOENT, "CreateProcessW"};
  std::wstring application = to_wide(req.exec_candidates.front());

  // The command line and the environment, in UTF-16.
  std::vector<std::wstring> argv;
  for (const std::string& a : *req.argv)
    argv.push_back(to_wide(a));
  std::wstring command_line = win32::command_line(argv, req.verbatim_arguments);
  std::wstring environment;
  if (req.env) environment = environment_block_for(*req.env);
  std::wstring cwd = req.cwd ? to_wide(*req.cwd) : std::wstring();

  // The child's handles, and nothing else of ours.
  ChildHandles handles;
  if (int err = prepare_handles(req, handles)) return ProcessFailure{err, "DuplicateHandle"};
  SIZE_T attribute_size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &attribute_size);
  std::vector<unsigned char> attribute_storage(attribute_size);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attribute_storage.data());
  if (!InitializeProcThreadAttributeList(attributes, 1, 0, &attribute_size))
    return ProcessFailure{last_error(), "InitializeProcThreadAttributeList"};
  std::sort(handles.inherited.begin(), handles.inherited.end());
  handles.inherited.erase(std::unique(handles.inherited.begin(), handles.inherited.end()),
                          handles.inherited.end());
  bool inherit = !handles.inherited.empty();
  if (inherit && !UpdateProcThreadAttribute(
                     attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles.inherited.data(),
                     handles.inherited.size() * sizeof(HANDLE), nullptr, nullptr)) {
    int err = last_error();
    DeleteProcThreadAttributeList(attributes);
    return ProcessFailure{err, "UpdateProcThreadAttribute"};
  }

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW;
  startup.StartupInfo.wShowWindow = req.hide_window ? SW_HIDE : SW_SHOWDEFAULT;
  startup.StartupInfo.hStdInput = handles.by_fd[0];
  startup.StartupInfo.hStdOutput = handles.by_fd[1];
  startup.StartupInfo.hStdError = handles.by_fd[2];
  startup.StartupInfo.cbReserved2 = static_cast<WORD>(handles.crt_block.size());
  startup.StartupInfo.lpReserved2 = handles.crt_block.data();
  startup.lpAttributeList = attributes;

  DWORD flags = CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT | CREATE_SUSPENDED;
  if (req.detached) flags |= DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP;
  if (req.new_process_group) flags |= CREATE_NEW_PROCESS_GROUP;
  if (req.hide_window) flags |= CREATE_NO_WINDOW;

  PROCESS_INFORMATION info{};
  // Wine reports a child that died before it was initialized (seen here about once in 4,000
  // starts) as ERROR_INTERNAL_ERROR. Nothing of it ran, so trying again is safe; Windows itself
  // does not fail this way.
  BOOL ok = FALSE;
  for (int attempt = 0; attempt < 3 && !ok; ++attempt) {
    ok = CreateProcessW(application.c_str(), command_line.data(), nullptr, nullptr, inherit, flags,
                        req.env ? environment.data() : nullptr, req.cwd ? cwd.c_str() : nullptr,
                        &startup.StartupInfo, &info);
    if (!ok && GetLastError() != ERROR_INTERNAL_ERROR) break;
  }
  int err = ok ? 0 : last_error();
  DeleteProcThreadAttributeList(attributes);
  if (!ok) return ProcessFailure{err, "CreateProcessW"};
  UniqueHandle process(native(info.hProcess));
  UniqueHandle thread(native(info.hThread));

  // Its jobs, then let it run; a child that cannot be put where it was asked is not left behind.
  UniqueHandle tree;
  const char* step = "AssignProcessToJobObject";
  err = join_jobs(req, info.hProcess, tree);
  if (err == 0 && ResumeThread(info.hThread) == static_cast<DWORD>(-1)) {
    err = last_error();
    step = "ResumeThread";
  }
  if (err != 0) {
    TerminateProcess(info.hProcess, 1);
    WaitForSingleObject(info.hProcess, INFINITE);
    return ProcessFailure{err, step};
  }
  out.pid = static_cast<int>(info.dwProcessId);
  out.handle = std::move(process);
  out.group = std::move(tree);
  return std::nullopt;
}

int signal_process(NativeHandle handle, int sig) {
  HANDLE h = os_handle(handle);
  DWORD status = 0;
  if (sig == 0) {  // a probe
    if (!GetExitCodeProcess(h, &status)) return last_error();
    if (status != STILL_ACTIVE || WaitForSingleObject(h, 0) == WAIT_OBJECT_0) return os::kESRCH;
    return 0;
  }
  if (!terminates(sig)) return os::kENOSYS;
  if (!TerminateProcess(h, 1)) {
    DWORD e = GetLastError();
    if (e == ERROR_ACCESS_DENIED && ((GetExitCodeProcess(h, &status) && status != STILL_ACTIVE) ||
                                     WaitForSingleObject(h, 0) == WAIT_OBJECT_0))
      return os::kESRCH;  // it had already exited
    return translate_error(e);
  }
  std::lock_guard lock(g_killed_mutex);
  g_killed_with.emplace(handle, sig);
  return 0;
}

int signal_process_group(int, NativeHandle group, int sig) {
  HANDLE job = os_handle(group);
  if (job == nullptr || job == INVALID_HANDLE_VALUE) return os::kESRCH;
  if (sig != 0 && !terminates(sig)) return os::kENOSYS;
  long running = processes_in(job);
  if (running < 0) return last_error();
  if (running == 0) return os::kESRCH;
  if (sig != 0 && !TerminateJobObject(job, 1)) return last_error();
  return 0;
}

std::optional<ExitStatus> try_reap(NativeHandle handle) {
  HANDLE h = os_handle(handle);
  if (WaitForSingleObject(h, 0) != WAIT_OBJECT_0) return std::nullopt;
  ExitStatus status;
  {
    std::lock_guard lock(g_killed_mutex);
    if (auto it = g_killed_with.find(handle); it != g_killed_with.end()) {
      status.signal = it->second;
      g_killed_with.erase(it);
      return status;
    }
  }
  DWORD code = 0;
  GetExitCodeProcess(h, &code);
  status.code = static_cast<int>(code);
  return status;
}

ExitStatus wait_for_exit(int, NativeHandle handle) {
  WaitForSingleObject(os_handle(handle), INFINITE);
  return *try_reap(handle);
}

std::uint64_t watch_exit(LoopCore& loop, NativeHandle handle, std::function<void()> on_exit) {
  std::uint64_t key = loop.watch(kInvalidNativeHandle, kIoReadable,
                                 [on_exit = std::move(on_exit)](unsigned) { on_exit(); });
  auto wait = std::make_unique<ExitWait>(
      ExitWait{os_handle(loop.backend_fd()), key, nullptr, std::nullopt});
  if (!RegisterWaitForSingleObject(&wait->wait, os_handle(handle), on_process_signalled, wait.get(),
                                   INFINITE, WT_EXECUTEONLYONCE)) {
    // The thread pool refused (out of resources): the exit must still be seen, so the loop
    // looks at the handle every 100 ms until it is signalled, slower but never lost.
    wait->wait = nullptr;
    poll_for_exit(loop, *wait, os_handle(handle));
  }
  std::lock_guard lock(g_waits_mutex);
  g_waits.emplace(std::pair(wait->port, key), std::move(wait));
  return key;
}

void unwatch_exit(LoopCore& loop, std::uint64_t watch) {
  std::unique_ptr<ExitWait> wait;
  {
    std::lock_guard lock(g_waits_mutex);
    auto it = g_waits.find(std::pair(os_handle(loop.backend_fd()), watch));
    if (it != g_waits.end()) {
      wait = std::move(it->second);
      g_waits.erase(it);
    }
  }
  // Returns once a callback in progress has finished: nothing posts for this watch after it.
  if (wait && wait->wait) UnregisterWaitEx(wait->wait, INVALID_HANDLE_VALUE);
  if (wait && wait->poll_timer) loop.cancel_timer(*wait->poll_timer);
  loop.unwatch(watch);
}

void abandon_process(int, UniqueHandle handle) {
  // Windows keeps no zombies: the handle is all there is to let go of.
  std::lock_guard lock(g_killed_mutex);
  g_killed_with.erase(handle.get());
}

void reap_orphans() {}

ShellCommand shell_command(const std::string& shell_path, const std::string& command) {
  std::string shell = shell_path;
  if (shell.empty()) {
    std::wstring comspec = our_variable(L"ComSpec");
    shell = comspec.empty() ? "cmd.exe" : from_wide(comspec);
  }
  // Node's test: a path whose last part is cmd or cmd.exe, in any case.
  std::size_t cut = shell.find_last_of('\\');
  std::string base = cut == std::string::npos ? shell : shell.substr(cut + 1);
  for (char& c : base)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (base == "cmd" || base == "cmd.exe")
    return {{shell, "/d", "/s", "/c", "\"" + command + "\""}, true};
  return {{shell, "-c", command}, false};
}

std::string current_executable() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    DWORD n = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (n < path.size()) {
      path.resize(n);
      return from_wide(path);
    }
    path.resize(path.size() * 2);
  }
}

std::vector<std::string> environment_entries() {
  std::vector<std::string> out;
  wchar_t* block = GetEnvironmentStringsW();
  if (block == nullptr) return out;
  for (const wchar_t* p = block; *p != L'\0'; p += std::wcslen(p) + 1)
    out.push_back(from_wide(p));
  FreeEnvironmentStringsW(block);
  return out;
}

void remove_environment_variable(const char* name) {
  std::wstring wide = to_wide(name);
  SetEnvironmentVariableW(wide.c_str(), nullptr);
  _wputenv_s(wide.c_str(), L"");  // the C runtime's copy, which getenv() reads
}

int parent_process_id() {
  // Windows keeps no parent link but the id recorded at creation: the process snapshot has it.
  HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return -1;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  int parent = -1;
  DWORD self = GetCurrentProcessId();
  for (BOOL more = Process32FirstW(snapshot, &entry); more;
       more = Process32NextW(snapshot, &entry)) {
    if (entry.th32ProcessID == self) {
      parent = static_cast<int>(entry.th32ParentProcessID);
      break;
    }
  }
  CloseHandle(snapshot);
  return parent;
}

void force_start_strategy(StartStrategy) {}  // one way to start a process here

}  // namespace childproc::detail
