// The Win32 command line and environment block, as pure functions: run on every platform, so a
// quoting rule is checked here without Wine; test_win32.cpp round-trips the same through a real
// child's CommandLineToArgvW.
#include <gtest/gtest.h>

#include "../src/win32/command_line.hpp"

namespace w = childproc::detail::win32;

TEST(Win32CommandLine, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(w::quote_argument(L"plain"), L"plain");
  EXPECT_EQ(w::quote_argument(L""), L"\"\"");
  EXPECT_EQ(w::quote_argument(L"two words"), L"\"two words\"");
  EXPECT_EQ(w::quote_argument(L"tab\there"), L"\"tab\there\"");
  EXPECT_EQ(w::quote_argument(L"C:\\dir\\"), L"C:\\dir\\");  // no space: left alone
}

TEST(Win32CommandLine, BackslashesDoubleOnlyBeforeAQuote) {
  EXPECT_EQ(w::quote_argument(L"a\"b"), L"\"a\\\"b\"");
  EXPECT_EQ(w::quote_argument(L"a\\\"b"), L"\"a\\\\\\\"b\"");  // a\"b -> "a\\\"b"
  EXPECT_EQ(w::quote_argument(L"a b\\"), L"\"a b\\\\\"");      // trailing, before the close
  EXPECT_EQ(w::quote_argument(L"a\\b c"), L"\"a\\b c\"");      // not before a quote: kept
  EXPECT_EQ(w::quote_argument(L"\\\\server\\share x"), L"\"\\\\server\\share x\"");
}

TEST(Win32CommandLine, VerbatimJoinsAsGiven) {
  EXPECT_EQ(w::command_line({L"cmd.exe", L"/d", L"/s", L"/c", L"\"echo a b\""}, true),
            L"cmd.exe /d /s /c \"echo a b\"");
  EXPECT_EQ(w::command_line({L"prog", L"a b", L""}, false), L"prog \"a b\" \"\"");
}

TEST(Win32Environment, SortedWithoutCaseOnePerNameWithRequiredVariablesAdded) {
  std::wstring block =
      w::environment_block({L"b=2", L"Path=C:\\bin", L"A=1", L"PATH=ignored", L"novalue"},
                           {L"SYSTEMROOT=C:\\windows", L"PATH=C:\\parent"});
  std::wstring expected = std::wstring(L"A=1") + L'\0' + L"b=2" + L'\0' + L"Path=C:\\bin" + L'\0' +
                          L"SYSTEMROOT=C:\\windows" + L'\0' + L'\0';
  EXPECT_EQ(block, expected);
}

TEST(Win32Environment, AnEmptyEnvironmentIsTwoNuls) {
  EXPECT_EQ(w::environment_block({}, {}), std::wstring(2, L'\0'));
}
