// A parent for the die-with-parent tests: starts `argv[1] sleep 30000` with kill_on_parent_death
// (as user and group 65534 when argv[2] is "nobody"; detached and without it when argv[2] is
// "detached"), prints the child's pid, then waits to be killed.
#include <childproc/childproc.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  // Started from a thread that ends at once: the child must outlive that thread, and die only
  // with the process.
  std::shared_ptr<childproc::ChildProcess> child;
  std::thread([&] {
    std::string mode = argc > 2 ? argv[2] : "";
    bool nobody = mode == "nobody";
    bool detached = mode == "detached";
    child = childproc::spawn(argv[1], {"sleep", "30000"},
                             {.stdio = "ignore",
                              .detached = detached,
                              .uid = nobody ? std::optional<std::uint32_t>(65534) : std::nullopt,
                              .gid = nobody ? std::optional<std::uint32_t>(65534) : std::nullopt,
                              .kill_on_parent_death = !detached});
  }).join();
  std::cout << child->pid().value_or(0) << std::endl;
  childproc::default_loop().run();  // until we are SIGKILLed
  return 0;
}
