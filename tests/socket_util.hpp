// Loopback TCP sockets for the handle-passing tests, on POSIX and Windows (Winsock) alike.
#pragma once

#ifdef _WIN32
#include <winsock2.h>
// after winsock2.h
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "childproc/native_handle.hpp"

namespace cptest {

// A socket as the library takes it (a descriptor on POSIX, a SOCKET on Windows).
using Socket = childproc::NativeHandle;

inline void start_sockets() {
#ifdef _WIN32
  static bool started = [] {
    WSADATA data;
    return WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  ASSERT_TRUE(started);
#endif
}

inline void close_socket(Socket s) {
#ifdef _WIN32
  closesocket(static_cast<SOCKET>(s));
#else
  close(s);
#endif
}

inline sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

inline Socket new_tcp_socket() {
#ifdef _WIN32
  // Not inheritable: only a spawn's own list hands anything to a child.
  return static_cast<Socket>(WSASocketW(AF_INET, SOCK_STREAM, 0, nullptr, 0,
                                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT));
#else
  return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
#endif
}

// A socket listening on 127.0.0.1 at a free port, which `port` receives.
inline Socket listening_socket(int& port) {
  start_sockets();
  Socket s = new_tcp_socket();
  sockaddr_in addr = loopback(0);
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(s, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return s;
}

// Connects to 127.0.0.1:port and reads until the peer closes.
inline std::string connect_and_read_all(int port) {
  Socket c = new_tcp_socket();
  sockaddr_in addr = loopback(port);
  std::string out;
  if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "cannot connect to port " << port;
    close_socket(c);
    return out;
  }
  char buf[256];
  for (;;) {
    int n = static_cast<int>(recv(c, buf, sizeof buf, 0));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close_socket(c);
  return out;
}

// Two connected stream sockets (a loopback TCP connection).
inline void connected_pair(Socket out[2]) {
  int port = 0;
  Socket server = listening_socket(port);
  out[0] = new_tcp_socket();
  sockaddr_in addr = loopback(port);
  ASSERT_EQ(connect(out[0], reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  out[1] = static_cast<Socket>(accept(server, nullptr, nullptr));
  close_socket(server);
}

}  // namespace cptest
