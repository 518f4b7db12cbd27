// A parent for the die-with-parent test: starts `argv[1] sleep 30000` with kill_on_parent_death,
// prints the child's pid, then waits to be killed.
#include <childproc/childproc.hpp>

#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  // Started from a thread that ends at once: the child must outlive that thread, and die only
  // with the process.
  std::shared_ptr<childproc::ChildProcess> child;
  std::thread([&] {
    child = childproc::spawn(argv[1], {"sleep", "30000"},
                             {.stdio = "ignore", .kill_on_parent_death = true});
  }).join();
  std::cout << child->pid().value_or(0) << std::endl;
  childproc::default_loop().run();  // until we are SIGKILLed
  return 0;
}
