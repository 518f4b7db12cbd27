// The 'advanced' (V8 format) reader on arbitrary bytes, in both host-object encodings (the first
// byte picks one). It never crashes and throws nothing but DeserializeError. Whatever it accepts
// serializes without error, reads back deep-equal, and serializes to the same bytes again.
#include <childproc/advanced.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace advanced = childproc::advanced;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto host = (data[0] & 1) != 0 ? advanced::HostObjects::kChildProcess
                                 : advanced::HostObjects::kNodeDefault;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  advanced::Value value;
  try {
    value = advanced::deserialize(input, host);
  } catch (const advanced::DeserializeError&) {
    return 0;
  }
  std::string once = advanced::serialize(value, host);
  advanced::Value again = advanced::deserialize(once, host);
  if (!advanced::deep_equal(value, again)) std::abort();
  if (advanced::serialize(again, host) != once) std::abort();
  return 0;
}
