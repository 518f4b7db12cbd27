// Command-line quoting and the environment block: see command_line.hpp.
#include "command_line.hpp"

#include <algorithm>
#include <cwctype>

namespace childproc::detail::win32 {

std::wstring quote_argument(const std::wstring& arg) {
  if (arg.empty()) return L"\"\"";
  if (arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) return arg;
  std::wstring out = L"\"";
  std::size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"') {
      // The backslashes before a quote are doubled, and the quote itself escaped.
      out.append(backslashes * 2 + 1, L'\\');
      out.push_back(L'"');
    } else {
      out.append(backslashes, L'\\');
      out.push_back(c);
    }
    backslashes = 0;
  }
  // Trailing backslashes precede the closing quote: doubled, so that it stays a quote.
  out.append(backslashes * 2, L'\\');
  out.push_back(L'"');
  return out;
}

std::wstring command_line(const std::vector<std::wstring>& argv, bool verbatim) {
  std::wstring out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out.push_back(L' ');
    out += verbatim ? argv[i] : quote_argument(argv[i]);
  }
  return out;
}

int compare_names(const std::wstring& a, const std::wstring& b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    wint_t x = std::towupper(static_cast<wint_t>(a[i]));
    wint_t y = std::towupper(static_cast<wint_t>(b[i]));
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

namespace {

std::wstring name_of(const std::wstring& entry) {
  // A leading '=' belongs to the name (cmd's hidden "=C:" variables).
  std::size_t eq = entry.find(L'=', 1);
  return eq == std::wstring::npos ? std::wstring() : entry.substr(0, eq);
}

}  // namespace

const std::vector<std::wstring>& required_variable_names() {
  static const std::vector<std::wstring> names = {
      L"HOMEDRIVE", L"HOMEPATH",   L"LOGONSERVER", L"PATH",        L"SYSTEMDRIVE", L"SYSTEMROOT",
      L"TEMP",      L"USERDOMAIN", L"USERNAME",    L"USERPROFILE", L"WINDIR"};
  return names;
}

std::wstring environment_block(const std::vector<std::wstring>& entries,
                               const std::vector<std::wstring>& required_entries) {
  std::vector<std::pair<std::wstring, const std::wstring*>> named;
  auto add = [&named](const std::wstring& entry) {
    std::wstring name = name_of(entry);
    if (name.empty()) return;
    for (const auto& [existing, unused] : named)
      if (compare_names(existing, name) == 0) return;  // one per name: the first wins
    named.emplace_back(std::move(name), &entry);
  };
  for (const std::wstring& e : entries)
    add(e);
  for (const std::wstring& e : required_entries)
    add(e);
  std::stable_sort(named.begin(), named.end(), [](const auto& a, const auto& b) {
    return compare_names(a.first, b.first) < 0;
  });
  std::wstring block;
  for (const auto& [name, entry] : named) {
    block += *entry;
    block.push_back(L'\0');
  }
  if (named.empty()) block.push_back(L'\0');  // an empty block still ends with two NULs
  block.push_back(L'\0');
  return block;
}

}  // namespace childproc::detail::win32
