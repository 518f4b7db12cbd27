// A tour of the Node mirror: four things child_process does, in C++.
//   1. spawn() with piped output, read as it arrives on the event loop;
//   2. spawn_sync() feeding the child's stdin and collecting its output;
//   3. a timeout that kills a child that runs too long;
//   4. a program that does not exist, reported as ENOENT.
#include <childproc/childproc.hpp>

#include <chrono>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

namespace {

void heading(const std::string& title) {
  std::cout << "\n== " << title << " ==\n";
}

std::string describe(std::optional<int> code, std::optional<int> signal) {
  return code ? "code " + std::to_string(*code) : "signal " + childproc::signal_name(*signal);
}

}  // namespace

int main() {
  childproc::Loop& loop = childproc::default_loop();

  heading("1. spawn: ls -l /usr, output streamed as it arrives");
  auto ls = childproc::spawn("ls", {"-l", "/usr"});
  int chunks = 0;
  ls->on_spawn([&] { std::cout << "spawned pid " << *ls->pid() << std::endl; });
  ls->std_out()->on_data([&](std::string_view chunk) {
    // Printed the moment it arrives: 'exit' may come before or after it, as in Node.
    ++chunks;
    std::cout << "[chunk " << chunks << ", " << chunk.size() << " bytes]\n" << chunk << std::flush;
  });
  ls->on_exit(
      [](auto code, auto signal) { std::cout << "exit: " << describe(code, signal) << std::endl; });
  ls->on_close([&](auto code, auto signal) {
    std::cout << "close: " << describe(code, signal) << " after " << chunks
              << " chunk(s) of output (close waits for the exit and every pipe)" << std::endl;
  });
  loop.run();

  heading("2. spawn_sync: sort, with input on stdin");
  auto sorted = childproc::spawn_sync("sort", {}, {.input = "pear\napple\nfig\n"});
  std::cout << "input:  pear apple fig\noutput: ";
  for (char c : sorted.std_out)
    std::cout << (c == '\n' ? ' ' : c);
  std::cout << "\nstatus: " << *sorted.status << ", pid was " << sorted.pid << "\n";

  heading("3. timeout: sleep 30 killed after 200 ms");
  auto start = std::chrono::steady_clock::now();
  auto sleeper = childproc::spawn("sleep", {"30"}, {.timeout = 200ms});
  sleeper->on_exit([&](auto code, auto signal) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::cout << "exit: " << describe(code, signal) << " after " << ms.count()
              << " ms (killed: " << std::boolalpha << sleeper->killed() << ")\n";
  });
  loop.run();

  heading("4. a missing program: an 'error' event, as in Node");
  auto missing = childproc::spawn("no-such-program", {"--flag"});
  missing->on_error([](const childproc::Error& e) {
    std::cout << "error: " << e.message << " (code " << e.code << ", errno " << e.errnum
              << ", syscall '" << e.syscall << "', failed at " << e.step << ")\n";
  });
  missing->on_close([](auto code, auto) { std::cout << "close: code " << *code << "\n"; });
  loop.run();
  auto sync_missing = childproc::spawn_sync("no-such-program");
  std::cout << "spawn_sync: result.error = " << sync_missing.error->message << "\n";
  return 0;
}
