// The POSIX names of errno values and signals, from the C library's own macros. Node's names are
// these on POSIX; the aliases (SIGIOT, SIGPOLL) come after the name Node reports.
#include <cerrno>
#include <csignal>

#include "internal/errc.hpp"

namespace childproc::detail {

namespace {

#define CP_NAME(x) \
  { x, #x }
constexpr NamedNumber kErrnoNames[] = {
    CP_NAME(EPERM),        CP_NAME(ENOENT),     CP_NAME(ESRCH),        CP_NAME(EINTR),
    CP_NAME(EIO),          CP_NAME(ENXIO),      CP_NAME(E2BIG),        CP_NAME(ENOEXEC),
    CP_NAME(EBADF),        CP_NAME(ECHILD),     CP_NAME(EAGAIN),       CP_NAME(ENOMEM),
    CP_NAME(EACCES),       CP_NAME(EFAULT),     CP_NAME(EBUSY),        CP_NAME(EEXIST),
    CP_NAME(EXDEV),        CP_NAME(ENODEV),     CP_NAME(ENOTDIR),      CP_NAME(EISDIR),
    CP_NAME(EINVAL),       CP_NAME(ENFILE),     CP_NAME(EMFILE),       CP_NAME(ENOTTY),
    CP_NAME(ETXTBSY),      CP_NAME(EFBIG),      CP_NAME(ENOSPC),       CP_NAME(ESPIPE),
    CP_NAME(EROFS),        CP_NAME(EMLINK),     CP_NAME(EPIPE),        CP_NAME(ERANGE),
    CP_NAME(ENAMETOOLONG), CP_NAME(ENOSYS),     CP_NAME(ELOOP),        CP_NAME(ENOBUFS),
    CP_NAME(ETIMEDOUT),    CP_NAME(ECONNRESET), CP_NAME(ECONNREFUSED), CP_NAME(ENOTSOCK),
    CP_NAME(ENOTSUP),      CP_NAME(ECANCELED),  CP_NAME(EADDRINUSE),   CP_NAME(ENOTCONN),
#ifdef ESTALE
    CP_NAME(ESTALE),
#endif
};

constexpr NamedNumber kSignalNames[] = {
    CP_NAME(SIGHUP),    CP_NAME(SIGINT),   CP_NAME(SIGQUIT), CP_NAME(SIGILL),  CP_NAME(SIGTRAP),
    CP_NAME(SIGABRT),   CP_NAME(SIGBUS),   CP_NAME(SIGFPE),  CP_NAME(SIGKILL), CP_NAME(SIGUSR1),
    CP_NAME(SIGSEGV),   CP_NAME(SIGUSR2),  CP_NAME(SIGPIPE), CP_NAME(SIGALRM), CP_NAME(SIGTERM),
    CP_NAME(SIGCHLD),   CP_NAME(SIGCONT),  CP_NAME(SIGSTOP), CP_NAME(SIGTSTP), CP_NAME(SIGTTIN),
    CP_NAME(SIGTTOU),   CP_NAME(SIGURG),   CP_NAME(SIGXCPU), CP_NAME(SIGXFSZ), CP_NAME(SIGVTALRM),
    CP_NAME(SIGPROF),   CP_NAME(SIGWINCH), CP_NAME(SIGIO),   CP_NAME(SIGSYS),
#ifdef SIGSTKFLT
    CP_NAME(SIGSTKFLT),
#endif
#ifdef SIGPWR
    CP_NAME(SIGPWR),
#endif
// Aliases come last: signal_name() gives the first name of a number, as Node reports a death by
// 6 as SIGABRT and by 29 as SIGIO; signal_number() knows every name os.constants.signals has.
#ifdef SIGIOT
    CP_NAME(SIGIOT),
#endif
#ifdef SIGPOLL
    CP_NAME(SIGPOLL),
#endif
};
#undef CP_NAME

}  // namespace

std::span<const NamedNumber> errno_names() {
  return kErrnoNames;
}

std::span<const NamedNumber> signal_names() {
  return kSignalNames;
}

}  // namespace childproc::detail
