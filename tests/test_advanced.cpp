// The 'advanced' serialization (V8's value format) against Node's own v8.serialize and
// v8.deserialize, and its reader's answers to bad input. Runs on every platform (under Wine with
// node.exe).
#include <childproc/advanced.hpp>
#include <cmath>
#include <sstream>

#include "advanced_corpus.hpp"

using namespace childproc;
using namespace std::chrono_literals;
using advanced::Value;

namespace {

using cptest::hex;
using cptest::unhex;

std::string serialized_hex(const Value& v) {
  return hex(advanced::serialize(v));
}

// Node's corpus (tests/node/advanced_corpus.js): v8.serialize of each value, byte for byte, is
// what serialize(deserialize(bytes)) gives here; and Node's v8.deserialize of those bytes of ours
// deep-equals each value.
TEST(AdvancedNode, CorpusIsByteExactBothWays) {
  std::string ours;
  std::size_t values = 0;
  for (const cptest::CorpusValue& c : cptest::node_corpus()) {
    ++values;
    Value v;
    try {
      v = advanced::deserialize(unhex(c.node_hex));
    } catch (const advanced::DeserializeError& e) {
      ADD_FAILURE() << "value " << c.index << ": " << e.what();
      continue;
    }
    std::string again = serialized_hex(v);
    EXPECT_EQ(again, c.node_hex) << "value " << c.index;
    ours += c.index + " " + again + "\n";
  }
  EXPECT_GE(values, 200u);
  auto checked = spawn_sync(cptest::kNode, {cptest::kNodeDir + "/advanced_corpus.js", "check", "-"},
                            {.timeout = 120s, .input = ours, .max_buffer = 64u << 20});
  EXPECT_EQ(checked.status, 0) << checked.std_out << checked.std_err;
  EXPECT_NE(checked.std_out.find("checked " + std::to_string(values)), std::string::npos)
      << checked.std_out;
}

// to_json is JSON.stringify: for every corpus value, the same text, or the same TypeError.
TEST(AdvancedNode, ToJsonIsWhatJsonStringifyGives) {
  std::vector<cptest::CorpusValue> corpus = cptest::node_corpus();
  auto stringified = spawn_sync(cptest::kNode, {cptest::kNodeDir + "/advanced_corpus.js", "json"},
                                {.timeout = 120s, .max_buffer = 256u << 20});
  ASSERT_EQ(stringified.status, 0) << stringified.std_err;
  std::istringstream texts(stringified.std_out);
  std::string text_line;
  std::size_t compared = 0, refused = 0;
  for (const cptest::CorpusValue& c : corpus) {
    if (!std::getline(texts, text_line)) break;
    std::string node_text = text_line.substr(text_line.find(' ') + 1);
    Value v = advanced::deserialize(unhex(c.node_hex));
    std::string ours;
    try {
      ours = json::stringify(advanced::to_json(v));
    } catch (const std::invalid_argument& e) {
      ours = std::string("!") + e.what();
      ++refused;
    }
    EXPECT_EQ(ours, node_text) << "value " << c.index;
    ++compared;
  }
  EXPECT_GE(compared, 200u);
  EXPECT_GT(refused, 0u);  // BigInts, cycles and a 2^32 - 1 long array are among them
  // And back: a JSON value is the same object as an advanced one.
  json::Value j = json::parse(R"({"a":[1,"x",null,true,{"b":-2.5}]})");
  EXPECT_EQ(advanced::to_json(advanced::from_json(j)), j);
  EXPECT_EQ(serialized_hex(advanced::from_json(json::parse(R"({"a":1,"b":"x"})"))),
            "ff0f6f22016149022201622201787b02");
}

// Values built here, with the bytes Node 20 writes for them (v8.serialize in node 20.20).
TEST(Advanced, ValuesBuiltInCppSerializeAsNodeDoes) {
  EXPECT_EQ(serialized_hex(5), "ff0f490a");
  EXPECT_EQ(serialized_hex(-1), "ff0f4901");
  EXPECT_EQ(serialized_hex(2147483648.0), "ff0f4e000000000000e041");
  EXPECT_EQ(serialized_hex(-0.0), "ff0f4e0000000000000080");
  EXPECT_EQ(serialized_hex(Value()), "ff0f5f");
  EXPECT_EQ(serialized_hex(nullptr), "ff0f30");
  EXPECT_EQ(serialized_hex("\xC3\xA9"), "ff0f2201e9");                // é: one byte
  EXPECT_EQ(serialized_hex("\xE2\x82\xAC"), "ff0f6302ac20");          // €: two bytes
  EXPECT_EQ(serialized_hex("\xF0\x9F\x98\x80"), "ff0f63043dd800de");  // a surrogate pair
  EXPECT_EQ(serialized_hex(Value::array({1.5, 2})),
            "ff0f41024e000000000000f83f4e0000000000000040240002");  // a double array
  EXPECT_EQ(serialized_hex(Value::object({{"a", 1}, {"b", "x"}})),
            "ff0f6f22016149022201622201787b02");
  // Index keys are enumerated first, ascending, and written as numbers.
  EXPECT_EQ(serialized_hex(Value::object({{"2", 1}, {"a", 2}, {"1", 3}})),
            "ff0f6f490249064904490222016149047b03");
  // A two-byte key right after the object tag is padded to an even offset.
  EXPECT_EQ(serialized_hex(Value::object({{"\xE2\x82\xAC", 1}})), "ff0f6f006302ac2049027b01");
  advanced::Array holey;
  holey.elements = {1, advanced::Hole{}, 3};
  holey.length = 3;
  EXPECT_EQ(serialized_hex(holey), "ff0f61034900490249044906400203");
  EXPECT_EQ(serialized_hex(advanced::Map{{{1, 2}}}), "ff0f3b490249043a02");
  EXPECT_EQ(serialized_hex(advanced::Set{{"a"}}), "ff0f272201612c01");
  EXPECT_EQ(serialized_hex(advanced::Date{0}), "ff0f440000000000000000");
  EXPECT_EQ(serialized_hex(
                advanced::RegExp{"ab", advanced::RegExp::kGlobal | advanced::RegExp::kIgnoreCase}),
            "ff0f522202616203");
  EXPECT_EQ(serialized_hex(advanced::BigInt(123)), "ff0f5a107b00000000000000");
  advanced::BigInt minus_two_to_64;
  minus_two_to_64.negative = true;
  minus_two_to_64.digits = {0, 1};
  EXPECT_EQ(serialized_hex(minus_two_to_64), "ff0f5a2100000000000000000100000000000000");
  EXPECT_EQ(minus_two_to_64.to_string(), "-18446744073709551616");
  EXPECT_EQ(serialized_hex(advanced::BigInt(0)), "ff0f5a00");
  EXPECT_EQ(serialized_hex(advanced::View{advanced::ViewType::kBuffer, "hi"}), "ff0f5c0a026869");
  // The IPC channel's serializer puts a 0 ("an ArrayBufferView") before the view's type.
  EXPECT_EQ(hex(advanced::serialize(advanced::View{advanced::ViewType::kUint8Array, "\x07"},
                                    advanced::HostObjects::kChildProcess)),
            "ff0f5c00010107");
}

TEST(Advanced, SharingAndCyclesKeepTheirShapeAndAreFreed) {
  std::weak_ptr<advanced::HeapObject> watch;
  {
    // o = {}; o.self = o; [o, o]
    Value o = Value::object();
    o["self"] = Value::back_reference(o.heap());
    Value pair = Value::array({o, o});
    std::string bytes = advanced::serialize(pair);
    EXPECT_EQ(hex(bytes), "ff0f41026f220473656c665e017b015e01240002");
    Value back = advanced::deserialize(bytes);
    const auto& elements = back.as<advanced::Array>().elements;
    ASSERT_EQ(elements.size(), 2u);
    EXPECT_EQ(elements[0], elements[1]);  // one object, twice
    EXPECT_EQ(*elements[0].find("self"), elements[0]);
    EXPECT_TRUE(elements[0].find("self")->is_back_reference());
    EXPECT_TRUE(advanced::deep_equal(back, pair));
    watch = elements[0].heap();
  }
  EXPECT_TRUE(watch.expired());  // the cycle was freed with its root
}

TEST(Advanced, DeepEqualSeesKindsNumbersAndShape) {
  EXPECT_TRUE(advanced::deep_equal(std::nan(""), std::nan("")));
  EXPECT_FALSE(advanced::deep_equal(0.0, -0.0));
  EXPECT_FALSE(advanced::deep_equal(advanced::Date{1}, advanced::NumberObject{1}));
  Value shared = Value::object();
  Value a = Value::array({shared, shared});
  Value b = Value::array({Value::object(), Value::object()});
  EXPECT_FALSE(advanced::deep_equal(a, b));  // two names of one object vs two objects
}

void expect_error(std::string_view hex_input, std::size_t offset, std::string_view says,
                  advanced::Limits limits = {}) {
  try {
    advanced::deserialize(unhex(hex_input), advanced::HostObjects::kNodeDefault, limits);
    ADD_FAILURE() << hex_input << " was accepted";
  } catch (const advanced::DeserializeError& e) {
    EXPECT_EQ(e.offset(), offset) << hex_input << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(Advanced, BadInputIsAnErrorWithItsOffset) {
  expect_error("", 0, "no serialization header");
  expect_error("ff0c490a", 2, "unsupported serialization version 12");
  expect_error("ff0f", 2, "the input ends inside a value");
  expect_error("ff0f22056162", 3, "a string of 5 runs past the end");
  expect_error("ff0f6303ac20ac", 3, "odd byte length");
  expect_error("ff0f6f5e057b00", 3, "a reference to object 5 of 1");
  expect_error("ff0f72", 2, "an Error");
  expect_error("ff0f41024902240002", 6, "unsupported tag 0x24 ('$')");  // 2 elements said, 1 there
  expect_error("ff0f6f7b05", 4, "object says 5, found 0");
  expect_error("ff0f5c0d0100", 2, "unknown type 13");
  expect_error("ff0f5c030100", 2, "not whole elements");
  expect_error("ff0f52220161ff7f", 6, "unknown bits");
  expect_error("ff0f5a0f", 3, "not whole digits");
  expect_error("ff0f2d", 2, "a hole");
  expect_error("ff0f4f", 2, "unsupported tag 0x4f ('O')");
  // Nesting past the limit: [[[[...]]]] 600 deep.
  std::string deep = "ff0f";
  for (int i = 0; i < 600; ++i)
    deep += "4101";
  expect_error(deep, 2 + 2 * 512, "nesting deeper than 512");
}

}  // namespace
