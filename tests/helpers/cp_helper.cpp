// The child process the tests spawn, on every platform. It does not use the library: it is the
// "other side", a plain program whose behaviour each sub-command pins down. Most commands are
// standard C++ over the C runtime's fds (0, 1, 2 and the extra ones a parent hands over: on
// Windows through STARTUPINFO's lpReserved2); the ones that need POSIX (signals, fork,
// SCM_RIGHTS, /proc) exist only there, and the tests that use them live in POSIX-only files.
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
// after windows.h
#include <shellapi.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

#ifdef _WIN32
using IoSize = long long;
IoSize read_fd(int fd, char* buf, std::size_t size) {
  return _read(fd, buf, static_cast<unsigned>(size));
}
IoSize write_fd(int fd, const char* buf, std::size_t size) {
  return _write(fd, buf, static_cast<unsigned>(size));
}
int close_fd(int fd) {
  return _close(fd);
}
#else
using IoSize = ssize_t;
IoSize read_fd(int fd, char* buf, std::size_t size) {
  return ::read(fd, buf, size);
}
IoSize write_fd(int fd, const char* buf, std::size_t size) {
  return ::write(fd, buf, size);
}
int close_fd(int fd) {
  return ::close(fd);
}
#endif

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    IoSize n = write_fd(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::exit(3);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void say(const std::string& s) {
  write_all(1, s.data(), s.size());
}

std::string hex(const std::string& s) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

#ifdef _WIN32
// UTF-16 to UTF-8, an unpaired surrogate kept as its WTF-8 form (what the library sends).
std::string utf8(const wchar_t* w) {
  std::string out;
  for (; *w; ++w) {
    unsigned cp = static_cast<unsigned short>(*w);
    unsigned next = static_cast<unsigned short>(w[1]);
    if (cp >= 0xD800 && cp < 0xDC00 && next >= 0xDC00 && next < 0xE000) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (next - 0xDC00);
      ++w;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// Starts this program again with `args` (plain words: no quoting needed), sharing our standard
// handles, and lets it run on its own.
bool start_self(const std::vector<std::string>& args) {
  wchar_t path[32768];
  DWORD n = GetModuleFileNameW(nullptr, path, 32768);
  path[n < 32768 ? n : 32767] = L'\0';
  std::wstring line = L"\"" + std::wstring(path) + L"\"";
  for (const std::string& arg : args)
    line += L" " + std::wstring(arg.begin(), arg.end());
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  startup.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION info{};
  if (!CreateProcessW(path, line.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &startup,
                      &info))
    return false;
  CloseHandle(info.hThread);
  CloseHandle(info.hProcess);
  return true;
}
#endif

// Writes to the IPC channel a parent handed over as fd `fd`, as that platform's Node would: on
// Windows each write is one libuv frame (a 16-byte little-endian header, written out here by
// hand, not by the library) and goes out as overlapped I/O, since the channel's pipe is
// overlapped; elsewhere bytes as they are. `framed` false writes raw bytes, bad frames included.
void channel_write(int fd, const std::string& bytes, bool framed) {
#ifdef _WIN32
  std::string out;
  if (framed) {
    auto le32 = [&out](std::uint32_t v) {
      for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    le32(bytes.empty() ? 0 : 1);
    le32(0);
    le32(static_cast<std::uint32_t>(bytes.size()));
    le32(0);
  }
  out += bytes;
  HANDLE h = reinterpret_cast<HANDLE>(_get_osfhandle(fd));
  OVERLAPPED ov{};
  ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  DWORD n = 0;
  bool ok = WriteFile(h, out.data(), static_cast<DWORD>(out.size()), nullptr, &ov) ||
            GetLastError() == ERROR_IO_PENDING;
  ok = ok && GetOverlappedResult(h, &ov, &n, TRUE) && n == out.size();
  CloseHandle(ov.hEvent);
  if (!ok) std::exit(3);
#else
  (void)framed;
  write_all(fd, bytes.data(), bytes.size());
#endif
}

// The arguments as the OS handed them over: on Windows, CommandLineToArgvW of the raw command
// line (what a quoting bug would show), elsewhere argv itself.
std::vector<std::string> arguments(int argc, char** argv) {
#ifdef _WIN32
  (void)argc;
  (void)argv;
  int n = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &n);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(utf8(wide[i]));
  LocalFree(wide);
  return out;
#else
  return std::vector<std::string>(argv, argv + argc);
#endif
}

#ifndef _WIN32
std::string status_line(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return line;
  return {};
}

int run_posix_only(const std::vector<std::string>& a) {
  const std::string& cmd = a.at(0);
  if (cmd == "signal") {
    signal(std::atoi(a.at(1).c_str()), SIG_DFL);
    raise(std::atoi(a.at(1).c_str()));
    return 99;
  }
  if (cmd == "handle-flood") {  // N NODE_HANDLE messages with no descriptor to FD, never reading
    int fd = std::atoi(a.at(1).c_str());
    long n = std::atol(a.at(2).c_str());
    signal(SIGPIPE, SIG_IGN);
    const std::string line = "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":1}\n";
    std::string batch;
    for (int i = 0; i < 1000; ++i)
      batch += line;
    long sent = 0;
    for (; sent < n; sent += 1000) {
      ssize_t w = 0;
      for (std::size_t off = 0; off < batch.size(); off += static_cast<std::size_t>(w)) {
        w = write(fd, batch.data() + off, batch.size() - off);
        if (w < 0 && errno == EINTR) w = 0;
        if (w < 0) {  // the parent closed the channel
          say("stopped after " + std::to_string(sent) + "\n");
          return 0;
        }
      }
    }
    say("sent all " + std::to_string(sent) + "\n");
    return 0;
  }
  if (cmd == "fd-flood") {  // N messages "1\n" to FD, each carrying a descriptor (SCM_RIGHTS)
    int fd = std::atoi(a.at(1).c_str());
    long n = std::atol(a.at(2).c_str());
    for (long i = 0; i < n; ++i) {
      char byte[2] = {'1', '\n'};
      iovec iov{byte, 2};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      int passed = 1;  // our stdout: any open descriptor will do
      std::memcpy(CMSG_DATA(c), &passed, sizeof passed);
      if (sendmsg(fd, &msg, 0) != 2) return 3;
    }
    return 0;
  }
  if (cmd == "list-fds") {  // open descriptors, excluding the one used to list them
    DIR* d = opendir("/proc/self/fd");
    if (!d) return 2;
    std::vector<int> fds;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      int fd = std::atoi(e->d_name);
      if (fd != dirfd(d)) fds.push_back(fd);
    }
    closedir(d);
    std::sort(fds.begin(), fds.end());
    std::string out;
    for (int fd : fds) {
      if (!out.empty()) out += ' ';
      out += std::to_string(fd);
    }
    say(out);
    return 0;
  }
  if (cmd == "ignore-term") {  // says "ready" once SIGTERM and SIGINT are ignored, then sleeps
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    say("ready\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(a.at(1).c_str())));
    return 0;
  }
  if (cmd == "sid") {
    say(std::to_string(getpid()) + " " + std::to_string(getsid(0)) + " " +
        std::to_string(getpgrp()));
    return 0;
  }
  if (cmd == "signals") {  // blocked and ignored signal masks, as the kernel reports them
    say(status_line("SigBlk:") + "\n" + status_line("SigIgn:") + "\n");
    return 0;
  }
  if (cmd == "grandchild-holds-stdout") {  // a grandchild keeps stdout open for MS ms
    int ms = std::atoi(a.at(1).c_str());
    pid_t pid = fork();
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      _exit(0);
    }
    say("child-done\n");
    return 0;
  }
  return -1;
}
#endif

int run(const std::vector<std::string>& a) {
  const std::string& cmd = a.at(0);
  if (cmd == "exit") return std::atoi(a.at(1).c_str());
  // Pieces written in order to the IPC channel FD: "line:TEXT" (TEXT and a newline),
  // "text:TEXT" (no newline), "fill:N:C" (N bytes C, in 64 KiB writes), "hex:HEX" (raw bytes, never
  // framed).
  if (cmd == "channel-write") {
    int fd = std::atoi(a.at(1).c_str());
    for (std::size_t i = 2; i < a.size(); ++i) {
      const std::string& piece = a[i];
      if (piece.rfind("line:", 0) == 0) {
        channel_write(fd, piece.substr(5) + "\n", true);
      } else if (piece.rfind("text:", 0) == 0) {
        channel_write(fd, piece.substr(5), true);
      } else if (piece.rfind("fill:", 0) == 0) {
        std::size_t colon = piece.find(':', 5);
        long long left = std::atoll(piece.substr(5, colon - 5).c_str());
        const std::string chunk(64 * 1024, piece.at(colon + 1));
        for (; left > 0; left -= static_cast<long long>(chunk.size()))
          channel_write(fd,
                        chunk.substr(0, static_cast<std::size_t>(std::min<long long>(left, 65536))),
                        true);
      } else if (piece.rfind("hex:", 0) == 0 || piece.rfind("bin:", 0) == 0) {
        // hex: raw bytes, as they are (no frame on Windows); bin: the same bytes as one message
        std::string bytes;
        for (std::size_t k = 4; k + 1 < piece.size(); k += 2)
          bytes.push_back(static_cast<char>(std::stoi(piece.substr(k, 2), nullptr, 16)));
        channel_write(fd, bytes, piece[0] == 'b');
      } else {
        std::cerr << "cp_helper: bad channel-write piece " << piece << "\n";
        return 2;
      }
    }
    return 0;
  }
  if (cmd == "env") {
    const char* v = getenv(a.at(1).c_str());
    say(v ? std::string(v) : std::string("<unset>"));
    return 0;
  }
  if (cmd == "cwd") {  // in UTF-8 (on Windows too, where string() is the ANSI code page)
    std::u8string u = std::filesystem::current_path().u8string();
    say(std::string(u.begin(), u.end()));
    return 0;
  }
  if (cmd == "exe-path") {  // the file this process runs from, in UTF-8
#ifdef _WIN32
    wchar_t path[32768];
    DWORD n = GetModuleFileNameW(nullptr, path, 32768);
    path[n < 32768 ? n : 32767] = L'\0';
    say(utf8(path));
#else
    std::u8string u = std::filesystem::read_symlink("/proc/self/exe").u8string();
    say(std::string(u.begin(), u.end()));
#endif
    return 0;
  }
#ifdef _WIN32
  if (cmd == "show-window") {  // how the parent asked us to show a window (-1: it did not say)
    STARTUPINFOW startup{};
    GetStartupInfoW(&startup);
    say(std::to_string(startup.dwFlags & STARTF_USESHOWWINDOW ? startup.wShowWindow : -1));
    return 0;
  }
#endif
  if (cmd == "cat") {
    char buf[65536];
    for (;;) {
      IoSize n = read_fd(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      write_all(1, buf, static_cast<std::size_t>(n));
    }
    return 0;
  }
  if (cmd == "count-stdin") {
    char buf[65536];
    std::size_t total = 0;
    unsigned long sum = 0;
    for (;;) {
      IoSize n = read_fd(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
      for (IoSize i = 0; i < n; ++i)
        sum += static_cast<unsigned char>(buf[i]);
    }
    say(std::to_string(total) + " " + std::to_string(sum));
    return 0;
  }
  if (cmd == "write") {  // write N bytes of 'o' to fd (default 1)
    std::size_t n = std::strtoull(a.at(1).c_str(), nullptr, 10);
    int fd = a.size() > 2 ? std::atoi(a[2].c_str()) : 1;
    std::string chunk(65536, 'o');
    while (n > 0) {
      std::size_t k = std::min(n, chunk.size());
      write_all(fd, chunk.data(), k);
      n -= k;
    }
    return 0;
  }
  if (cmd == "write-both") {  // alternate 16 KiB to stdout and stderr: needs both drained
    std::size_t n = std::strtoull(a.at(1).c_str(), nullptr, 10);
    std::string out(16384, 'o'), err(16384, 'e');
    std::size_t left_out = n, left_err = n;
    while (left_out > 0 || left_err > 0) {
      std::size_t k = std::min(left_out, out.size());
      write_all(1, out.data(), k);
      left_out -= k;
      k = std::min(left_err, err.size());
      write_all(2, err.data(), k);
      left_err -= k;
    }
    return 0;
  }
  if (cmd == "print") {  // print TEXT to fd
    int fd = std::atoi(a.at(1).c_str());
    write_all(fd, a.at(2).data(), a.at(2).size());
    return 0;
  }
  if (cmd == "print-split") {  // print TEXT to stdout in two writes: bytes [0, AT), then the rest
    std::size_t at = std::strtoull(a.at(2).c_str(), nullptr, 10);
    write_all(1, a.at(1).data(), at);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the parent read a chunk
    write_all(1, a.at(1).data() + at, a.at(1).size() - at);
    return 0;
  }
  if (cmd == "close-stdin") {  // reads one byte, closes stdin, says "closed", lives MS ms more
    char c;
    while (read_fd(0, &c, 1) < 0 && errno == EINTR) {
    }
    close_fd(0);
    say("closed\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(a.at(1).c_str())));
    return 0;
  }
  if (cmd == "flood") {  // TEXT written N times to FD, in large writes
    int fd = std::atoi(a.at(1).c_str());
    long n = std::atol(a.at(2).c_str());
    std::string batch;
    long per = std::max<long>(1, 65536 / static_cast<long>(a.at(3).size() + 1));
    for (long i = 0; i < per; ++i)
      batch += a.at(3);
    for (long done = 0; done < n; done += per) {
      long k = std::min(per, n - done);
      write_all(fd, batch.data(), static_cast<std::size_t>(k) * a.at(3).size());
    }
    return 0;
  }
  if (cmd == "sleep") {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(a.at(1).c_str())));
    return 0;
  }
  if (cmd == "slow-reader") {  // reads stdin in 4 KiB bites with a pause, reports the total
    int pause_ms = std::atoi(a.at(1).c_str());
    char buf[4096];
    std::size_t total = 0;
    for (;;) {
      IoSize n = read_fd(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    }
    say(std::to_string(total));
    return 0;
  }
  if (cmd == "print-hex") {  // the bytes HEX stands for, to FD (any bytes, whatever argv can carry)
    std::string bytes;
    const std::string& h = a.at(2);
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
      bytes.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    write_all(std::atoi(a.at(1).c_str()), bytes.data(), bytes.size());
    return 0;
  }
  if (cmd == "report") {  // OUT and a newline to stdout, ERR and a newline to stderr, exit CODE
    say(a.at(1) + "\n");
    write_all(2, (a.at(2) + "\n").data(), a.at(2).size() + 1);
    return std::atoi(a.at(3).c_str());
  }
  if (cmd == "tree") {  // a chain of N descendants below us; each prints its pid, then sleeps MS
    int depth = std::atoi(a.at(1).c_str());
#ifdef _WIN32
    say(std::to_string(GetCurrentProcessId()) + "\n");
    if (depth > 0 && !start_self({"tree", std::to_string(depth - 1), a.at(2)})) return 3;
#else
    for (;;) {
      say(std::to_string(getpid()) + "\n");
      if (depth-- == 0 || fork() != 0) break;  // the new child goes round again, one level down
    }
#endif
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(a.at(2).c_str())));
    return 0;
  }
  if (cmd == "echo") {  // the arguments joined with spaces, and a newline
    std::string line;
    for (std::size_t i = 1; i < a.size(); ++i)
      line += (i > 1 ? " " : "") + a[i];
    say(line + "\n");
    return 0;
  }
#ifndef _WIN32
  if (int rc = run_posix_only(a); rc != -1) return rc;
#endif
  std::cerr << "cp_helper: unknown command " << cmd << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef _WIN32
  // Bytes as they are: no "\n" -> "\r\n" on the way out.
  for (int fd : {0, 1, 2})
    _setmode(fd, _O_BINARY);
#endif
  std::vector<std::string> args = arguments(argc, argv);
  if (args.size() < 2) {
    std::cerr << "usage: cp_helper <command> [args]\n";
    return 2;
  }
  if (args[1] == "argv") {  // the whole argv, one per line, argv[0] first
    std::string out;
    for (const std::string& arg : args)
      out += arg + "\n";
    say(out);
    return 0;
  }
  if (args[1] == "argv-hex") {  // the arguments after it, hex-encoded, one per line
    std::string out;
    for (std::size_t i = 2; i < args.size(); ++i)
      out += hex(args[i]) + "\n";
    say(out);
    return 0;
  }
  return run(std::vector<std::string>(args.begin() + 1, args.end()));
}
