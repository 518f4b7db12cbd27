// exec_file/exec on spawn(), exec_file_sync/exec_sync on spawn_sync(): Node's execFile logic
// (child_process.js) — buffer both streams, enforce max_buffer per stream, build the error from
// whichever came first (a system error, the max_buffer overflow, or the exit) and call back once.
#include "childproc/exec.hpp"

#include "internal/capture.hpp"
#include "internal/option_fields.hpp"
#include "internal/spawn_plan.hpp"
#include "internal/utf8.hpp"

#include <cstdio>
#include <utility>

namespace childproc {

namespace {

std::string command_line(const std::string& file, const std::vector<std::string>& args) {
  std::string cmd = file;
  for (const auto& a : args)
    cmd += " " + a;
  return cmd;
}

// One captured stream: its text (or bytes) and, in text mode, the start of a UTF-8 sequence that
// the next chunk completes.
struct Captured {
  std::string data;
  std::string held;
};

// What one exec_file call keeps between its listeners.
struct ExecState {
  std::string cmd;
  bool raw_bytes = false;
  std::size_t max_buffer = 0;
  int kill_signal = 15;
  Captured out;
  Captured err;
  std::optional<ExecError> error;  // a system error or the max_buffer overflow, first one wins
  bool finished = false;
  ExecCallback callback;
};

ExecError from_system_error(const Error& e) {
  ExecError ex;
  ex.message = e.message;
  ex.name = e.name;
  ex.code = e.code;
  ex.system_error = e;
  return ex;
}

// Keeps `data` (decoded already in text mode) for one stream, as Node's onChildStdout does: the
// length is counted in bytes; past max_buffer the rest of the chunk is cut (in bytes, or in
// UTF-16 units for text, Node's slice) and the child is killed (both streams destroyed).
void keep(ExecState& st, ChildProcess& child, Captured& c, const char* stream_name,
          std::string_view data) {
  if (st.max_buffer == kUnlimited || c.data.size() + data.size() <= st.max_buffer) {
    detail::append_output(c.data, data);
    return;
  }
  std::size_t room = st.max_buffer - std::min(st.max_buffer, c.data.size());
  c.data.append(st.raw_bytes ? data.substr(0, room) : detail::utf16_prefix(data, room));
  if (!st.error) {
    ExecError ex;
    ex.name = "RangeError";
    ex.code = "ERR_CHILD_PROCESS_STDIO_MAXBUFFER";
    ex.message = std::string(stream_name) + " maxBuffer length exceeded";
    st.error = std::move(ex);
  }
  // Signal first, then close the pipes: the other order lets a writing child die of SIGPIPE
  // before kill_signal arrives, and the reported signal would be a race.
  try {
    child.kill(st.kill_signal);
  } catch (const SystemError& e) {
    st.error = from_system_error(e.error());  // Node hands kill()'s exception to the callback
  }
  if (Stream* s = child.std_out()) s->destroy();
  if (Stream* s = child.std_err()) s->destroy();
}

// A chunk as it arrives. In text mode it is decoded as Node's StringDecoder does: a sequence cut
// by the chunk's end waits for the next chunk; invalid bytes become U+FFFD.
void collect(ExecState& st, ChildProcess& child, Captured& c, const char* stream_name,
             std::string_view chunk) {
  if (st.raw_bytes) return keep(st, child, c, stream_name, chunk);
  std::string joined;
  if (!c.held.empty()) {
    joined = std::move(c.held);
    joined.append(chunk);
    chunk = joined;
  }
  std::size_t tail = detail::incomplete_utf8_tail(chunk);
  std::string_view text = chunk.substr(0, chunk.size() - tail);
  c.held.assign(chunk.substr(text.size()));
  if (detail::first_invalid_utf8(text) == text.size()) return keep(st, child, c, stream_name, text);
  keep(st, child, c, stream_name, detail::sanitize_utf8(text));
}

// Node's exithandler: called from 'error' and from 'close', reports exactly once.
void finish(ExecState& st, ChildProcess& child, std::optional<int> code,
            std::optional<int> signal) {
  if (st.finished) return;
  st.finished = true;
  // The decoder's end: a sequence the output stopped inside is one U+FFFD, counted like output.
  // (Streams destroyed by an error never end, as in Node.)
  for (auto [c, name] : {std::pair{&st.out, "stdout"}, std::pair{&st.err, "stderr"}})
    if (!c->held.empty() && !st.error)
      keep(st, child, *c, name, detail::sanitize_utf8(std::exchange(c->held, {})));
  std::string out = std::move(st.out.data);
  std::string err = std::move(st.err.data);
  std::optional<ExecError> ex = std::move(st.error);
  if (!ex && code == 0 && !signal) {
    st.callback(std::nullopt, std::move(out), std::move(err));
    return;
  }
  if (!ex) {
    ex.emplace();
    ex->message = "Command failed: " + st.cmd + "\n" + err;
    ex->exit_code = code;
  }
  ex->killed = ex->killed || child.killed();
  ex->timed_out = child.timed_out();
  if (!ex->signal) ex->signal = signal;
  ex->cmd = st.cmd;
  ex->std_out = out;
  ex->std_err = err;
  st.callback(ex, std::move(out), std::move(err));
}

}  // namespace

std::shared_ptr<ChildProcess> exec_file(const std::string& file,
                                        const std::vector<std::string>& args,
                                        const ExecOptions& options, ExecCallback callback,
                                        Loop& loop) {
  auto st = std::make_shared<ExecState>();
  st->raw_bytes = options.encoding == Encoding::kBuffer;
  st->cmd = command_line(file, args);
  st->max_buffer = options.max_buffer;
  st->kill_signal = options.kill_signal.resolve();
  st->callback = std::move(callback);

  // stdio is always piped; timeout and cancellation are spawn's own, so `killed` is set by the
  // real kill.
  auto spawn_options = detail::convert_options<SpawnOptions>(options);
  spawn_options.stdio = "pipe";
  spawn_options.shell = options.shell.value_or(Shell(false));
  auto child = spawn(file, args, spawn_options, loop);
  ChildProcess* c = child.get();  // listeners live inside the child: no owning capture
  // Streams are missing only after EMFILE/ENFILE, which the 'error' listener reports.
  if (Stream* in = c->std_in()) in->end();  // nothing is ever written to an exec'd child
  if (Stream* out = c->std_out())
    out->on_data([st, c](std::string_view d) { collect(*st, *c, st->out, "stdout", d); });
  if (Stream* err = c->std_err())
    err->on_data([st, c](std::string_view d) { collect(*st, *c, st->err, "stderr", d); });
  child->on_error([st, c](const Error& e) {
    st->error = from_system_error(e);  // as Node's errorhandler: this error is the one reported
    if (Stream* s = c->std_out()) s->destroy();
    if (Stream* s = c->std_err()) s->destroy();
    finish(*st, *c, std::nullopt, std::nullopt);
  });
  child->on_close([st, c](std::optional<int> code, std::optional<int> signal) {
    finish(*st, *c, code, signal);
  });
  return child;
}

std::shared_ptr<ChildProcess> exec(const std::string& command, const ExecOptions& options,
                                   ExecCallback callback, Loop& loop) {
  ExecOptions with_shell = options;
  if (!with_shell.shell) with_shell.shell = Shell(true);
  return exec_file(command, {}, with_shell, std::move(callback), loop);
}

std::string exec_file_sync(const std::string& file, const std::vector<std::string>& args,
                           const ExecSyncOptions& options) {
  // Unmirrored: a large capture is then moved out, never copied.
  auto sync_options = detail::convert_options<SpawnSyncOptions>(options);
  sync_options.stdio = options.stdio.value_or(StdioOption("pipe"));
  sync_options.shell = options.shell.value_or(Shell(false));
  SpawnSyncResult r = detail::run_spawn_sync(file, args, sync_options, false);
  auto slot = [&r](std::size_t i) -> std::string* {
    return i < r.output.size() && r.output[i] ? &*r.output[i] : nullptr;
  };
  // Node pipes stderr and then copies it to the parent's own stderr, unless stdio was given.
  if (std::string* err = slot(2); !options.stdio && err && !err->empty()) {
    std::fwrite(err->data(), 1, err->size(), stderr);
    std::fflush(stderr);
  }
  if (r.error || r.status != 0) {
    if (std::string* out = slot(1)) r.std_out = *out;
    if (std::string* err = slot(2)) r.std_err = *err;
    std::string message =
        r.error ? r.error->message : "Command failed: " + command_line(file, args);
    if (!r.error && !r.std_err.empty()) message += "\n" + r.std_err;
    throw ExecSyncError(message, std::move(r));
  }
  std::string* out = slot(1);
  return out ? std::move(*out) : std::string();
}

std::string exec_sync(const std::string& command, const ExecSyncOptions& options) {
  ExecSyncOptions with_shell = options;
  if (!with_shell.shell) with_shell.shell = Shell(true);
  return exec_file_sync(command, {}, with_shell);
}

struct ExecAwaitable::State {
  std::string file;
  std::vector<std::string> args;
  ExecOptions options;
  Loop* loop;
  ExecResult result;
};

ExecAwaitable::ExecAwaitable(const std::string& file, const std::vector<std::string>& args,
                             const ExecOptions& options, Loop& loop)
    : state_(std::make_shared<State>(State{file, args, options, &loop, {}})) {}

void ExecAwaitable::await_suspend(std::coroutine_handle<> handle) {
  std::shared_ptr<State> st = state_;
  // Resume from a fresh tick, not from inside the child's 'close' listener.
  st->result.child = exec_file(
      st->file, st->args, st->options,
      [st, handle](const std::optional<ExecError>& error, std::string out, std::string err) {
        st->result.error = error;
        st->result.std_out = std::move(out);
        st->result.std_err = std::move(err);
        st->loop->next_tick([handle] { handle.resume(); });
      },
      *st->loop);
}

void ExecAwaitable::use_shell_by_default() {
  if (!state_->options.shell) state_->options.shell = Shell(true);
}

ExecResult ExecAwaitable::await_resume() {
  return std::move(state_->result);
}

ExecAwaitable exec_async(const std::string& command, const ExecOptions& options, Loop& loop) {
  ExecAwaitable awaitable(command, {}, options, loop);
  awaitable.use_shell_by_default();
  return awaitable;
}

ExecAwaitable exec_file_async(const std::string& file, const std::vector<std::string>& args,
                              const ExecOptions& options, Loop& loop) {
  return ExecAwaitable(file, args, options, loop);
}

}  // namespace childproc
