/* The raw peer of the IPC benchmarks: fixed 100-byte lines over the socket on fd 3, no JSON,
   no event loop. "echo": send back each line; "echo-epoll": the same, waiting in epoll_wait
   before each read as an event loop does; "stream N": write N lines, one write() each. */
#include <stdlib.h>
#include <sys/epoll.h>
#include <string.h>
#include <unistd.h>

enum { kLine = 100 };

static int epoll_fd = -1;

static int read_line(char* buf) {
  if (epoll_fd >= 0) {
    struct epoll_event ev;
    if (epoll_wait(epoll_fd, &ev, 1, -1) != 1) return 0;
  }
  size_t got = 0;
  while (got < kLine) {
    ssize_t n = read(3, buf + got, kLine - got);
    if (n <= 0) return 0;
    got += (size_t)n;
  }
  return 1;
}

int main(int argc, char** argv) {
  char line[kLine];
  if (argc > 2 && strcmp(argv[1], "stream") == 0) {
    long count = atol(argv[2]);
    memset(line, 'x', kLine - 1);
    line[kLine - 1] = '\n';
    /* Each request line asks for one burst of `count` lines. */
    while (read_line(line)) {
      line[kLine - 1] = '\n';
      for (long i = 0; i < count; i++)
        if (write(3, line, kLine) != kLine) return 1;
    }
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "echo-epoll") == 0) {
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, 3, &ev) != 0) return 1;
  }
  while (read_line(line))
    if (write(3, line, kLine) != kLine) return 1;
  return 0;
}
