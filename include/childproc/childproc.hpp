// childproc: Node's child_process for C++. One include for the whole public API.
#pragma once

#include "childproc/advanced.hpp"       // IWYU pragma: export
#include "childproc/child_process.hpp"  // IWYU pragma: export
#include "childproc/error.hpp"          // IWYU pragma: export
#include "childproc/event.hpp"          // IWYU pragma: export
#include "childproc/exec.hpp"           // IWYU pragma: export
#include "childproc/fork.hpp"           // IWYU pragma: export
#include "childproc/ipc.hpp"            // IWYU pragma: export
#include "childproc/jobs.hpp"           // IWYU pragma: export
#include "childproc/json.hpp"           // IWYU pragma: export
#include "childproc/loop.hpp"           // IWYU pragma: export
#include "childproc/options.hpp"        // IWYU pragma: export
#include "childproc/spawn_sync.hpp"     // IWYU pragma: export
#include "childproc/stdio.hpp"          // IWYU pragma: export
#include "childproc/stream.hpp"         // IWYU pragma: export
#include "childproc/task.hpp"           // IWYU pragma: export
