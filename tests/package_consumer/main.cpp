// Built against an installed childproc: spawns `echo`, checks its output.
#include <childproc/childproc.hpp>

int main() {
  auto r = childproc::spawn_sync("echo", {"installed"});
  return r.status == 0 && r.std_out == "installed\n" ? 0 : 1;
}
