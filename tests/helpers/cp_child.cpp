// The tests' own child on every platform: standard C++ only (plus the Win32 calls that show
// what a Windows child really received), so each Node behaviour is asserted once, by a test
// that runs on Linux, the portable backend and Windows alike. One sub-command per behaviour:
//   exit N | echo ARGS... | stderr TEXT | cat | argv | env NAME | cwd | sleep MS
//   write N (N bytes of 'x' to stdout) | write-both N (N bytes to stdout and to stderr at once)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
// after windows.h
#include <shellapi.h>
#endif

namespace {

void put(std::FILE* f, const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), f);
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
#endif

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

}  // namespace

int main(int argc, char** argv) {
#ifdef _WIN32
  // Bytes as they are: no "\n" -> "\r\n" on the way out.
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  _setmode(_fileno(stdin), _O_BINARY);
#endif
  std::vector<std::string> a = arguments(argc, argv);
  if (a.size() < 2) return 64;
  const std::string& cmd = a[1];
  if (cmd == "exit") return std::atoi(a.at(2).c_str());
  if (cmd == "echo") {
    std::string line;
    for (std::size_t i = 2; i < a.size(); ++i)
      line += (i > 2 ? " " : "") + a[i];
    put(stdout, line + "\n");
    return 0;
  }
  if (cmd == "stderr") {
    put(stderr, a.at(2) + "\n");
    return 0;
  }
  if (cmd == "cat") {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
      std::fwrite(buf, 1, n, stdout);
      std::fflush(stdout);
    }
    return 0;
  }
  if (cmd == "argv") {  // every argument after "argv", hex-encoded, one per line
    for (std::size_t i = 2; i < a.size(); ++i)
      put(stdout, hex(a[i]) + "\n");
    return 0;
  }
  if (cmd == "env") {
    const char* v = std::getenv(a.at(2).c_str());
    put(stdout, v ? std::string(v) : std::string("<unset>"));
    return 0;
  }
  if (cmd == "cwd") {
    put(stdout, std::filesystem::current_path().string());
    return 0;
  }
  if (cmd == "sleep") {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atol(a.at(2).c_str())));
    return 0;
  }
  if (cmd == "write" || cmd == "write-both") {
    std::size_t total = std::strtoull(a.at(2).c_str(), nullptr, 10);
    std::string chunk(65536, 'x');
    std::thread err_writer;
    if (cmd == "write-both")
      err_writer = std::thread([&] {
        for (std::size_t left = total; left > 0;) {
          std::size_t n = left < chunk.size() ? left : chunk.size();
          std::fwrite(chunk.data(), 1, n, stderr);
          left -= n;
        }
      });
    for (std::size_t left = total; left > 0;) {
      std::size_t n = left < chunk.size() ? left : chunk.size();
      std::fwrite(chunk.data(), 1, n, stdout);
      left -= n;
    }
    if (err_writer.joinable()) err_writer.join();
    return 0;
  }
  return 64;
}
