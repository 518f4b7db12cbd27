// The stress tests' child: linked statically and without sanitizers, so that thousands of
// starts measure the library, not the dynamic loader. Prints argv[1]; exits with argv[2] (or 0).
#include <unistd.h>

#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1) {
    std::size_t left = std::strlen(argv[1]);
    for (const char* p = argv[1]; left > 0;) {
      ssize_t n = write(1, p, left);
      if (n <= 0) return 3;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  return argc > 2 ? std::atoi(argv[2]) : 0;
}
