// POSIX numbers for the names in internal/errc.hpp: the C library's own.
#pragma once

#include <cerrno>
#include <csignal>

namespace childproc::detail::os {

inline constexpr int kEACCES = EACCES;
inline constexpr int kEAGAIN = EAGAIN;
inline constexpr int kEBADF = EBADF;
inline constexpr int kECANCELED = ECANCELED;
inline constexpr int kEINVAL = EINVAL;
inline constexpr int kEMFILE = EMFILE;
inline constexpr int kENFILE = ENFILE;
inline constexpr int kENOBUFS = ENOBUFS;
inline constexpr int kENOENT = ENOENT;
inline constexpr int kENOSYS = ENOSYS;
inline constexpr int kEPIPE = EPIPE;
inline constexpr int kESRCH = ESRCH;
inline constexpr int kETIMEDOUT = ETIMEDOUT;

inline constexpr int kSIGINT = SIGINT;
inline constexpr int kSIGKILL = SIGKILL;
inline constexpr int kSIGTERM = SIGTERM;

}  // namespace childproc::detail::os
