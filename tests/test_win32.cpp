// What only Windows has: the command line a child really receives (CommandLineToArgvW), .bat
// refused without a shell, cmd.exe as the shell, the environment block, Windows' error numbers,
// signals as TerminateProcess, handles that do not leak. Run under Wine in CI, with the tests'
// helper child (helpers/cp_helper.cpp), as every suite.
#include <gtest/gtest.h>
#include <windows.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "childproc/childproc.hpp"

using namespace childproc;
using namespace std::chrono_literals;

namespace {

// Absolute with its drive: a child started with another cwd must still find it.
const std::string kChild = std::filesystem::absolute(CP_HELPER).string();

void run(Loop& loop, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (loop.alive()) {
    loop.run_once(100ms);
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "loop still busy after " << limit.count() << " ms";
      return;
    }
  }
}

std::string unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::filesystem::path utf8_path(const std::string& s) {
  return std::filesystem::path(std::u8string(s.begin(), s.end()));
}

std::string utf8_of(const std::filesystem::path& p) {
  std::u8string u = p.u8string();
  return std::string(u.begin(), u.end());
}

// A fresh directory under the temporary one, removed when the test ends.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& name_utf8)
      : path(std::filesystem::temp_directory_path() / utf8_path(name_utf8)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(s.substr(start, nl - start));
  return out;
}

}  // namespace

TEST(Win32, ArgumentsReachTheChildExactlyThroughItsCommandLine) {
  // Hostile for CommandLineToArgvW: quotes, backslash runs before quotes and at the end,
  // whitespace of every kind, cmd's metacharacters (no shell here: they are plain bytes),
  // non-ASCII and astral characters.
  std::vector<std::string> corpus = {
      "",
      " ",
      "  ",
      "a",
      "two words",
      "\t",
      "tab\tinside",
      "new\nline",
      "\"",
      "\"\"",
      "a\"b",
      "\"quoted\"",
      "\\",
      "\\\\",
      "a\\",
      "a\\\\",
      "a b\\",
      "a b\\\\",
      "\\\"",
      "\\\\\"",
      "a\\\"b",
      "a\\\\\"b",
      "\\\\server\\share",
      "\\\\server\\share dir\\",
      "C:\\Program Files\\x",
      "C:\\Program Files\\",
      "%PATH%",
      "%",
      "^",
      "a^b",
      "&",
      "a&b",
      "|",
      "<>",
      "(x)",
      "!x!",
      "'single'",
      "=",
      "-flag=\"v a\"",
      "ünïcødé",
      "中文测试",
      "emoji 😀 x",
      "𝄞",
      "end\\\" \\",
  };
  std::vector<std::string> args = {"argv-hex"};
  args.insert(args.end(), corpus.begin(), corpus.end());
  auto r = spawn_sync(kChild, args, {.encoding = Encoding::kUtf8});
  ASSERT_FALSE(r.error) << r.error->message;
  std::vector<std::string> got;
  for (const std::string& l : lines(r.std_out))
    got.push_back(unhex(l));
  ASSERT_EQ(got.size(), corpus.size()) << r.std_out;
  for (std::size_t i = 0; i < corpus.size(); ++i)
    EXPECT_EQ(got[i], corpus[i]) << "argument " << i;
}

TEST(Win32, AMissingProgramIsAnEnoentErrorEvent) {
  Loop loop;
  std::optional<Error> error;
  auto child = spawn("childproc-no-such-program", {}, {}, loop);
  child->on_error([&](const Error& e) { error = e; });
  run(loop);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "ENOENT");
  EXPECT_EQ(error->syscall, "spawn childproc-no-such-program");
  EXPECT_EQ(error->errnum, -4058);  // libuv's UV_ENOENT on Windows, as Node reports it
}

TEST(Win32, BatchFilesAreRefusedWithoutAShellAndRunWithOne) {
  std::string dir = std::filesystem::temp_directory_path().string();
  std::string bat = dir + "\\childproc test.bat";
  {
    std::ofstream f(bat);
    f << "@echo off\r\necho got %1 %2\r\nexit /b 17\r\n";
  }
  // As Node since CVE-2024-27980: spawn throws EINVAL, spawnSync reports it.
  auto refused = spawn_sync(bat, {"x"});
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, "EINVAL");
  Loop loop;
  try {
    spawn(bat, {"x"}, {}, loop);
    ADD_FAILURE() << "no exception";
  } catch (const SystemError& e) {
    EXPECT_EQ(e.error().code, "EINVAL");
  }
  auto r = spawn_sync("\"" + bat + "\"", {"\"a b\"", "c"}, {.shell = true});
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.status, 17);
  EXPECT_EQ(r.std_out, "got \"a b\" c\r\n");
  std::filesystem::remove(bat);
}

TEST(Win32, TheShellIsCmdWithItsOwnQuoting) {
  std::string out = exec_sync("echo hello& echo there");
  EXPECT_EQ(out, "hello\r\nthere\r\n");
}

TEST(Win32, AGivenEnvironmentKeepsWhatWindowsNeedsAndOneEntryPerName) {
  auto r = spawn_sync(kChild, {"env", "CP_VALUE"},
                      {.env = Env{{"CP_VALUE", "given"}}, .encoding = Encoding::kUtf8});
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.std_out, "given");
  auto root = spawn_sync(kChild, {"env", "SYSTEMROOT"},
                         {.env = Env{{"CP_VALUE", "given"}}, .encoding = Encoding::kUtf8});
  EXPECT_NE(root.std_out, "<unset>");  // carried over from ours, as libuv does
  // "Path" and "PATH" name one variable on Windows: the first in the map's order wins.
  auto path = spawn_sync(
      kChild, {"env", "PATH"},
      {.env = Env{{"PATH", "C:\\first"}, {"Path", "C:\\second"}}, .encoding = Encoding::kUtf8});
  EXPECT_EQ(path.std_out, "C:\\first");
}

TEST(Win32, CwdIsTheChildsWorkingDirectory) {
  std::string dir = std::filesystem::temp_directory_path().string();
  auto r = spawn_sync(kChild, {"cwd"}, {.cwd = dir, .encoding = Encoding::kUtf8});
  ASSERT_FALSE(r.error) << r.error->message;
  std::string expected = dir;
  while (expected.size() > 3 && (expected.back() == '\\' || expected.back() == '/'))
    expected.pop_back();
  EXPECT_EQ(r.std_out, expected);
}

TEST(Win32, AsyncSpawnStreamsBothWaysAndReportsExitThenClose) {
  Loop loop;
  auto child = spawn(kChild, {"cat"}, {}, loop);
  std::string out;
  std::vector<std::string> events;
  child->std_out()->on_data([&](std::string_view d) { out += d; });
  child->on_exit([&](std::optional<int> code, std::optional<int>) {
    events.push_back("exit " + std::to_string(code.value_or(-1)));
  });
  child->on_close([&](std::optional<int>, std::optional<int>) { events.push_back("close"); });
  child->std_in()->write("ping\n");
  child->std_in()->end("pong\n");
  run(loop);
  EXPECT_EQ(out, "ping\npong\n");
  EXPECT_EQ(events, (std::vector<std::string>{"exit 0", "close"}));
}

TEST(Win32, KillTerminatesAndTheExitReportsTheSignal) {
  Loop loop;
  auto child = spawn(kChild, {"sleep", "60000"}, {}, loop);
  std::optional<int> code, signal;
  bool exited = false;
  child->on_spawn([&] { EXPECT_TRUE(child->kill()); });
  child->on_exit([&](std::optional<int> c, std::optional<int> s) {
    exited = true;
    code = c;
    signal = s;
  });
  run(loop);
  ASSERT_TRUE(exited);
  EXPECT_FALSE(code);
  EXPECT_EQ(signal, 15);
  EXPECT_TRUE(child->killed());
  EXPECT_FALSE(child->kill(0));  // gone
}

TEST(Win32, OtherSignalsAreEnosys) {
  Loop loop;
  auto child = spawn(kChild, {"sleep", "60000"}, {}, loop);
  child->on_spawn([&] {
    try {
      child->kill(1);  // SIGHUP: not a signal Windows can send
      ADD_FAILURE() << "no exception";
    } catch (const SystemError& e) {
      EXPECT_EQ(e.error().code, "ENOSYS");
    }
    child->kill(9);
  });
  run(loop);
}

TEST(Win32, AMegabyteOnStdoutAndStderrAtOnceThroughTheLoop) {
  Loop loop;
  auto child = spawn(kChild, {"write-both", "1048576"}, {}, loop);
  std::size_t out = 0, err = 0;
  child->std_out()->on_data([&](std::string_view d) { out += d.size(); });
  child->std_err()->on_data([&](std::string_view d) { err += d.size(); });
  run(loop);
  EXPECT_EQ(out, 1048576u);
  EXPECT_EQ(err, 1048576u);
}

TEST(Win32, UidAndGidAreNotSupported) {
  auto r = spawn_sync(kChild, {"exit", "0"}, {.uid = 0});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOTSUP");
  Loop loop;
  try {
    spawn(kChild, {"exit", "0"}, {.gid = 0}, loop);
    ADD_FAILURE() << "no exception";
  } catch (const SystemError& e) {
    EXPECT_EQ(e.error().code, "ENOTSUP");
  }
}

// The channel's pipe carries libuv's frames: a frame no libuv peer writes (here flags 0x9) is a
// clear channel error naming it and its offset, and the channel closes, as Node's does (libuv
// reports ECONNABORTED and Node disconnects); what came before it is delivered.
TEST(Win32, ABadFrameOnTheChannelIsAnErrorAndTheChannelCloses) {
  Loop loop;
  auto child = spawn(kChild,
                     {"channel-write", "3", "line:{\"ok\":1}",
                      "hex:09000000000000000100000000000000" + std::string("78")},
                     {.stdio = {"pipe", "pipe", "pipe", "ipc"}}, loop);
  std::vector<std::string> events;
  child->on_message([&](const json::Value& m, ipc::Handle*) {
    events.push_back("message " + json::stringify(m));
  });
  child->on_error([&](const Error& e) { events.push_back(e.code + ": " + e.message); });
  child->on_disconnect([&] { events.push_back("disconnect"); });
  run(loop);
  EXPECT_EQ(events,
            (std::vector<std::string>{
                R"(message {"ok":1})",
                "ERR_IPC_BAD_FRAME: bad IPC frame at byte 25: unknown flags 0x9", "disconnect"}));
  EXPECT_EQ(child->exit_code(), 0);
}

TEST(Win32, AUnicodeProgramPathAndCwdReachTheOsIntact) {
  ScratchDir dir("childproc ünïcødé 中文 😀");
  std::filesystem::path program = dir.path / utf8_path("hélper 𝄞.exe");
  std::filesystem::copy_file(kChild, program);
  std::string cwd = utf8_of(dir.path);
  auto r = spawn_sync(utf8_of(program), {"cwd"}, {.cwd = cwd, .encoding = Encoding::kUtf8});
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.std_out, cwd);
  auto exe = spawn_sync(utf8_of(program), {"exe-path"}, {.encoding = Encoding::kUtf8});
  EXPECT_EQ(utf8_path(exe.std_out).filename(), program.filename());
}

TEST(Win32, PathSearchTriesComThenExeForANameWithoutExtension) {
  ScratchDir dir("childproc-path-search");
  std::filesystem::copy_file(kChild, dir.path / "prog.exe");
  Env env{{"PATH", utf8_of(dir.path)}};
  auto exe = spawn_sync("prog", {"exe-path"}, {.env = env, .encoding = Encoding::kUtf8});
  ASSERT_FALSE(exe.error) << exe.error->message;
  EXPECT_EQ(utf8_path(exe.std_out).filename(), "prog.exe");
  std::filesystem::copy_file(kChild, dir.path / "prog.com");  // .com comes first, as in libuv
  auto com = spawn_sync("prog", {"exe-path"}, {.env = env, .encoding = Encoding::kUtf8});
  ASSERT_FALSE(com.error) << com.error->message;
  EXPECT_EQ(utf8_path(com.std_out).filename(), "prog.com");
  // A name with an extension is taken as it is; one that is missing is ENOENT.
  auto exact = spawn_sync("prog.exe", {"exe-path"}, {.env = env, .encoding = Encoding::kUtf8});
  EXPECT_EQ(utf8_path(exact.std_out).filename(), "prog.exe");
  auto missing = spawn_sync("prog.bin", {"exit", "0"}, {.env = env});
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->code, "ENOENT");
}

// windows_hide: the window a GUI child would open is hidden (libuv's SW_HIDE), and it gets no
// console window (CREATE_NO_WINDOW); otherwise the default show state.
TEST(Win32, WindowsHideAsksTheChildToHideItsWindow) {
  auto hidden = spawn_sync(kChild, {"show-window"}, {.windows_hide = true});
  auto shown = spawn_sync(kChild, {"show-window"});
  EXPECT_EQ(hidden.std_out, std::to_string(SW_HIDE));
  EXPECT_EQ(shown.std_out, std::to_string(SW_SHOWDEFAULT));
}
