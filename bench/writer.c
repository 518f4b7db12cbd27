/* Writes argv[1] bytes to stdout in argv[2]-byte writes (default 64 KiB): the producer for the
   capture benchmarks. Static and libc-light so that the parent's reading is what is measured. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long long left = argc > 1 ? atoll(argv[1]) : 0;
  size_t chunk = argc > 2 ? (size_t)atoll(argv[2]) : 64 * 1024;
  char* buf = malloc(chunk);
  if (buf == NULL) return 2;
  memset(buf, 'x', chunk);
  while (left > 0) {
    size_t want = left < (long long)chunk ? (size_t)left : chunk;
    ssize_t n = write(1, buf, want);
    if (n <= 0) return 1;
    left -= n;
  }
  return 0;
}
