// The option structs (SpawnOptions, SpawnSyncOptions, ExecOptions, ExecSyncOptions, ForkOptions)
// stay separate aggregates, so that designated initializers read like Node's object literals, but
// they are converted into one another by one piece of code: every field of the list below that
// both structs have, with types that assign, is copied. A field added to two structs is carried
// by adding its name here once; what differs (exec's optional shell, fork's stdio) the caller
// sets after the copy.
#pragma once

namespace childproc::detail {

// clang-format off
#define CHILDPROC_OPTION_FIELDS(X)                                                          \
  X(cwd) X(env) X(argv0) X(stdio) X(detached) X(uid) X(gid) X(shell)                        \
  X(windows_verbatim_arguments) X(windows_hide) X(timeout) X(kill_signal) X(cancellation)   \
  X(serialization) X(input) X(encoding) X(max_buffer) X(close_timeout_after_exit)           \
  X(new_process_group) X(kill_on_parent_death)
// clang-format on

template <class To, class From>
To convert_options(const From& from) {
  To to{};
#define CHILDPROC_COPY_FIELD(name) \
  if constexpr (requires { to.name = from.name; }) to.name = from.name;
  CHILDPROC_OPTION_FIELDS(CHILDPROC_COPY_FIELD)
#undef CHILDPROC_COPY_FIELD
  return to;
}

#undef CHILDPROC_OPTION_FIELDS

}  // namespace childproc::detail
