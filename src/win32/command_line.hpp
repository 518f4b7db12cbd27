// The pure parts of starting a Windows process, kept free of <windows.h> so that they are
// unit-tested on every platform: quoting an argv into one command line the way
// CommandLineToArgvW and the MSVC C runtime split it, and the child's environment block.
#pragma once

#include <string>
#include <vector>

namespace childproc::detail::win32 {

// One argument, quoted only when it has to be: empty, or holding a space, tab, newline,
// vertical tab or quote. Inside quotes, a run of backslashes is doubled only where a quote
// follows it (an embedded quote, or the closing one); elsewhere backslashes stand for
// themselves.
std::wstring quote_argument(const std::wstring& arg);

// argv joined with spaces: each argument quoted, or (verbatim, Node's
// windowsVerbatimArguments) taken as it is.
std::wstring command_line(const std::vector<std::wstring>& argv, bool verbatim);

// The environment block CreateProcessW takes (CREATE_UNICODE_ENVIRONMENT): "NAME=value" entries
// sorted by name without regard to case, one per name whatever its case (the first given wins),
// each NUL-terminated, then one more NUL. Entries without '=' after the first character are
// dropped. `required` (SYSTEMROOT and the other variables Windows programs need) are added
// from `inherited` when the given environment lacks them, as libuv does.
std::wstring environment_block(const std::vector<std::wstring>& entries,
                               const std::vector<std::wstring>& required_entries);

// The names libuv always carries into a child's environment.
const std::vector<std::wstring>& required_variable_names();

// Case-insensitive (ordinal, ASCII and Latin letters folded) comparison of two names, as
// Windows orders environment variables.
int compare_names(const std::wstring& a, const std::wstring& b);

}  // namespace childproc::detail::win32
