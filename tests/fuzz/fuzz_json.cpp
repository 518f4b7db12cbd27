// json::parse on arbitrary bytes: a value or a ParseError, never a crash; and what parses
// stringifies to text that parses back to the same text (JSON.stringify's output is stable).
#include <childproc/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  childproc::json::Value value;
  try {
    value = childproc::json::parse(text, {.max_depth = 256});
  } catch (const childproc::json::ParseError&) {
    return 0;
  }
  std::string once = childproc::json::stringify(value);
  std::string twice = childproc::json::stringify(childproc::json::parse(once, {.max_depth = 256}));
  if (once != twice) std::abort();  // not a fixed point: stringify or parse is wrong
  return 0;
}
