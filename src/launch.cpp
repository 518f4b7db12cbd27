// From a SpawnPlan to a running process: one pipe per "pipe" slot, the child's fd plan, the
// platform start, then the child's ends closed in the parent.
#include "internal/pipe.hpp"
#include "internal/spawn_plan.hpp"

namespace childproc::detail {

Launch launch(const SpawnPlan& plan, const LaunchHints& hints) {
  const std::size_t n = plan.stdio.size();
  Launch out;
  out.parent_ends.resize(n);
  std::vector<UniqueHandle> child_ends(n);  // closed when we return: the child has its copies
  ProcessRequest request;
  request.fds.resize(n);

  for (std::size_t i = 0; i < n; ++i) {
    ChildFd& fd = request.fds[i];
    switch (plan.stdio[i].kind) {
      case Stdio::Kind::kPipe:
      case Stdio::Kind::kOverlapped:
      case Stdio::Kind::kIpc: {
        PipeDirection dir = plan.stdio[i].kind == Stdio::Kind::kIpc ? PipeDirection::kIpc
                            : i == 0 && hints.stdin_never_written   ? PipeDirection::kToChildAtEof
                            : i == 0                                ? PipeDirection::kToChild
                            : i < 3                                 ? PipeDirection::kFromChild
                                                                    : PipeDirection::kDuplex;
        PipePair pair;
        if (int err = make_pipe(dir, pair)) {
          out.failure = ProcessFailure{err, "pipe"};
          return out;
        }
        fd = {ChildFd::Kind::kDescriptor, pair.child.get(), false};
        out.parent_ends[i] = std::move(pair.parent);
        child_ends[i] = std::move(pair.child);
        break;
      }
      case Stdio::Kind::kIgnore:
        fd.kind = i < 3 ? ChildFd::Kind::kNull : ChildFd::Kind::kNone;
        break;
      case Stdio::Kind::kInherit:
        fd = {ChildFd::Kind::kDescriptor, static_cast<NativeHandle>(i), true};
        break;
      case Stdio::Kind::kFd:
        fd = {ChildFd::Kind::kDescriptor, static_cast<NativeHandle>(plan.stdio[i].fd), true};
        break;
      case Stdio::Kind::kUnset:
        break;  // normalize_stdio leaves none
    }
  }

  request.file = &plan.file;
  request.exec_candidates = exec_candidates(plan.file, plan.env, plan.cwd);
  request.argv = &plan.args;
  request.env = plan.env ? &*plan.env : nullptr;
  request.cwd = plan.cwd ? &*plan.cwd : nullptr;
  request.detached = plan.detached;
  request.new_process_group = plan.new_process_group;
  request.die_with_parent = plan.kill_on_parent_death;
  request.verbatim_arguments = plan.windows_verbatim_arguments;
  request.hide_window = plan.windows_hide;
  request.wait_only = hints.wait_only;
  request.uid = plan.uid;
  request.gid = plan.gid;
  out.failure = start_process(request, out.process);
  return out;
}

}  // namespace childproc::detail
