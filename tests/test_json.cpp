// childproc::json against the real node: for a corpus of tricky values, node prints
// JSON.stringify(v) (and String(v) for numbers); our parse followed by our stringify must give the
// same bytes back, and our number formatting the same text.
#include <cmath>
#include <sstream>

#include "test_util.hpp"

using namespace childproc;
namespace js = childproc::json;

namespace {

// Runs a node script and returns its stdout lines. Fails (never skips) without node: CI
// installs it.
std::vector<std::string> node_lines(const std::string& script,
                                    const std::vector<std::string>& args = {}) {
  std::vector<std::string> argv = {"-e", script};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = spawn_sync("node", argv, {.max_buffer = 0});
  EXPECT_FALSE(r.error) << "node is needed for this test: " << (r.error ? r.error->message : "");
  EXPECT_EQ(r.status, 0) << r.std_err;
  std::vector<std::string> lines;
  std::istringstream in(r.std_out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

TEST(Json, NumbersPrintAsJavaScriptPrintsThem) {
  const std::vector<std::string> exprs = {"0",
                                          "-0",
                                          "1",
                                          "-1",
                                          "100",
                                          "1e21",
                                          "1e20",
                                          "-1e21",
                                          "123456789012345680000",
                                          "0.1+0.2",
                                          "5e-324",
                                          "-5e-324",
                                          "1.7976931348623157e308",
                                          "1e-7",
                                          "0.000001",
                                          "1.5e-7",
                                          "123e-20",
                                          "2**53",
                                          "2**53+2",
                                          "1/3",
                                          "Math.PI",
                                          "-Math.E*1e30",
                                          "4.35",
                                          "0.5",
                                          "1e300*10",
                                          "NaN",
                                          "-1e300*10",
                                          "2**-1074*3",
                                          "9007199254740993",
                                          "1e-6",
                                          "12e-7",
                                          "0.1",
                                          "1e100",
                                          "123.456",
                                          "25e20",
                                          "1.25e21"};
  std::string script = "for (const e of " + [&] {
    std::string arr = "[";
    for (const auto& e : exprs)
      arr += "'" + e + "',";
    return arr + "]";
  }() + ") { const v = eval(e); console.log(JSON.stringify(v) + '\\t' + String(v)); }";
  auto lines = node_lines(script);
  ASSERT_EQ(lines.size(), exprs.size());
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    auto tab = lines[i].find('\t');
    std::string node_json = lines[i].substr(0, tab), node_string = lines[i].substr(tab + 1);
    js::Value v = js::parse(node_json);
    EXPECT_EQ(js::stringify(v), node_json) << exprs[i];
    if (v.is_number()) {
      EXPECT_EQ(js::number_to_string(v.as_number()), node_string) << exprs[i];
    }
  }
  // Non-finite numbers made in C++ print as JavaScript's too, and stringify as null.
  EXPECT_EQ(js::number_to_string(NAN), "NaN");
  EXPECT_EQ(js::number_to_string(-INFINITY), "-Infinity");
  EXPECT_EQ(js::stringify(js::Value::array({NAN, INFINITY, -0.0})), "[null,null,0]");
}

TEST(Json, StringsRoundTripByteForByte) {
  // Control characters, quotes, backslashes, DEL, U+2028/2029, astral characters, lone
  // surrogates, and a long string.
  const std::string script = R"JS(
    const values = [
      'plain', 'quote " backslash \\ slash /', '\b\f\n\r\t', '\u0000\u0001\u001f\u007f',
      'line\u2028sep\u2029', 'h\u00e9llo \u4e2d\u6587 \ud83d\ude00 \ud834\udd1e',
      'lone \ud800 high', 'lone \udc00 low', 'reversed \udc00\ud800', 'x'.repeat(100000),
      '', '{"nested":"json"}', '\u00ff\u0100\uffff'];
    for (const v of values) console.log(JSON.stringify(v));
  )JS";
  auto lines = node_lines(script);
  ASSERT_EQ(lines.size(), 13u);
  for (const auto& line : lines) {
    js::Value v = js::parse(line);
    ASSERT_TRUE(v.is_string());
    EXPECT_EQ(js::stringify(v), line) << line.substr(0, 80);
  }
  // Decoded content: a surrogate pair becomes one 4-byte UTF-8 sequence.
  EXPECT_EQ(js::parse(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(js::parse(R"("\u00e9")").as_string(), "\xC3\xA9");
}

TEST(Json, ObjectsKeepOrderAndDuplicateKeysBehaveAsJsonParse) {
  // The third: repeated keys in an object past the parser's linear-search size (16 members).
  std::string large = "{";
  for (int k = 0; k < 20; ++k)
    large += "\"k" + std::to_string(k) + "\":" + std::to_string(k) + ",";
  large += R"("k3":"again","new":1,"k19":"last","k0":[0]})";
  auto lines = node_lines(R"JS(
    console.log(JSON.stringify(JSON.parse('{"b":1,"a":[true,false,null,{}],"c":{"d":[]},"b":2}')));
    console.log(JSON.stringify({z: 1, y: {x: [1, 'two', {w: null}]}, '': 0}));
    console.log(JSON.stringify(JSON.parse(process.argv[1])));
  )JS",
                          {large});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(js::stringify(js::parse(large)), lines[2]);
  EXPECT_EQ(js::stringify(js::parse(R"({"b":1,"a":[true,false,null,{}],"c":{"d":[]},"b":2})")),
            lines[0]);
  EXPECT_EQ(js::stringify(js::parse(lines[1])), lines[1]);
  js::Value built = js::Value::object();
  built["z"] = 1;
  built["y"]["x"] = js::Value::array({1, "two", js::Value::object({{"w", nullptr}})});
  built[""] = 0;
  EXPECT_EQ(js::stringify(built), lines[1]);
}

TEST(Json, WhitespaceIsAllowedWhereJsonAllowsIt) {
  js::Value v = js::parse(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n");
  EXPECT_EQ(js::stringify(v), R"({"a":[1,2]})");
}

TEST(Json, BadInputGivesAClearErrorWithTheByteOffset) {
  auto offset_of = [](std::string_view text) -> long {
    try {
      js::parse(text);
    } catch (const js::ParseError& e) {
      EXPECT_NE(std::string(e.what()), "");
      return static_cast<long>(e.offset());
    }
    return -1;
  };
  EXPECT_EQ(offset_of(R"({"a":1,})"), 7);
  EXPECT_EQ(offset_of("[1 2]"), 3);
  EXPECT_EQ(offset_of(""), 0);
  EXPECT_EQ(offset_of("nul"), 0);
  EXPECT_EQ(offset_of("01"), 1);
  EXPECT_EQ(offset_of("1."), 2);
  EXPECT_EQ(offset_of("-"), 1);
  EXPECT_EQ(offset_of("\"raw\ncontrol\""), 4);
  EXPECT_EQ(offset_of(R"("\x")"), 2);
  EXPECT_EQ(offset_of(R"("\u12G4")"), 3);
  EXPECT_EQ(offset_of("{\"a\" 1}"), 5);
  EXPECT_EQ(offset_of("[1] x"), 4);
  EXPECT_EQ(offset_of("'single'"), 0);
  EXPECT_EQ(offset_of("\"unterminated"), 13);
  EXPECT_EQ(offset_of("// comment\n1"), 0);
}

TEST(Json, NestingIsBoundedSoHostileInputCannotExhaustTheStack) {
  std::string deep(100000, '[');
  EXPECT_THROW(js::parse(deep), js::ParseError);
  std::string ok = std::string(512, '[') + std::string(512, ']');
  EXPECT_NO_THROW(js::parse(ok));
  std::string over = std::string(513, '[') + std::string(513, ']');
  EXPECT_THROW(js::parse(over), js::ParseError);
  EXPECT_NO_THROW(js::parse(over, {.max_depth = 1000}));
}

TEST(Json, InvalidUtf8InStringsBecomesReplacementCharacters) {
  js::Value v = js::parse(
      "\"a\xFF"
      "b\xE2\x82"
      "c\"");
  EXPECT_EQ(v.as_string(),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c");
  EXPECT_EQ(js::stringify(js::Value(std::string("x\xC0y"))), "\"x\xEF\xBF\xBDy\"");
}

TEST(Json, LargeNumbersAndExtremes) {
  EXPECT_EQ(js::parse("1e400").as_number(), INFINITY);
  EXPECT_EQ(js::parse("-1e400").as_number(), -INFINITY);
  EXPECT_EQ(js::parse("1e-400").as_number(), 0.0);
  EXPECT_TRUE(std::signbit(js::parse("-0").as_number()));
  EXPECT_EQ(js::stringify(js::parse("-0")), "0");
}

TEST(Json, TypedAccessIsChecked) {
  js::Value v = js::parse(R"({"n":1,"s":"x","a":[1]})");
  EXPECT_EQ(v.find("n")->as_number(), 1);
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_THROW(v.find("s")->as_number(), std::logic_error);
  EXPECT_THROW((*v.find("a"))[5], std::out_of_range);
  EXPECT_EQ(v.size(), 3u);
}

}  // namespace

// Out-of-range numbers follow the value, not the exponent's sign: 1 followed by 400 zeros, then
// e-1, is 1e399 (Infinity); 0.<400 zeros>1e+1 is 1e-400 (0).
TEST(Json, OverflowAndUnderflowFollowTheValueNotTheExponentsSign) {
  EXPECT_EQ(js::parse("1" + std::string(400, '0') + "e-1").as_number(), INFINITY);
  EXPECT_EQ(js::parse("-1" + std::string(400, '0') + "e-1").as_number(), -INFINITY);
  EXPECT_EQ(js::parse("0." + std::string(400, '0') + "1e+1").as_number(), 0.0);
  EXPECT_TRUE(std::signbit(js::parse("-0." + std::string(400, '0') + "1e+1").as_number()));
  EXPECT_EQ(js::parse("0." + std::string(400, '0') + "1e+800").as_number(), INFINITY);
}

// Differential against node: JSON.stringify(JSON.parse(s)) for a generated corpus of number
// spellings (long mantissas, leading and trailing zeros, big and small exponents, many digits
// after the point, values around the double range's edges).
TEST(Json, NumberSpellingsParseAsNodeParsesThem) {
  std::vector<std::string> corpus;
  const std::vector<std::string> zeros = {"", "0", "00000", std::string(40, '0'),
                                          std::string(400, '0')};
  const std::vector<std::string> digits = {"1",
                                           "17",
                                           "9999999999999999999",
                                           "123456789012345678901",
                                           "4940656458412465441765687928682213723651",
                                           "5"};
  const std::vector<std::string> exponents = {
      "",     "e0",    "e+1",   "e-1",   "E22",   "e-22",  "e308",
      "e309", "e-307", "e-324", "e-325", "e+400", "e-400", "e999999999999999999999"};
  for (const auto& d : digits)
    for (const auto& z : zeros)
      for (const auto& e : exponents) {
        corpus.push_back(d + z + e);         // big mantissa
        corpus.push_back("0." + z + d + e);  // small mantissa
        corpus.push_back("-" + d + "." + z + d + e);
      }
  for (const char* s :
       {"1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "2.2250738585072014e-308", "5e-324", "2e-324", "3e-324", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "0e99999", "-0e-99999", "0.0000e+400", "100e-2", "0.1e1"})
    corpus.push_back(s);

  std::string input;
  for (const auto& s : corpus)
    input += s + "\n";
  auto r = spawn_sync("node",
                      {"-e",
                       "require('fs').readFileSync(0, 'latin1').split('\\n').slice(0, -1)"
                       ".forEach(s => console.log(JSON.stringify(JSON.parse(s))))"},
                      {.input = input, .max_buffer = 0});
  ASSERT_FALSE(r.error) << "node is needed for this test";
  ASSERT_EQ(r.status, 0) << r.std_err;
  std::istringstream lines(r.std_out);
  std::size_t i = 0, differ = 0;
  for (std::string expected; std::getline(lines, expected); ++i) {
    ASSERT_LT(i, corpus.size());
    std::string ours = js::stringify(js::parse(corpus[i]));
    if (ours != expected && ++differ <= 20)
      ADD_FAILURE() << corpus[i].substr(0, 80) << (corpus[i].size() > 80 ? "..." : "") << ": node "
                    << expected << ", childproc " << ours;
  }
  EXPECT_EQ(i, corpus.size());
  EXPECT_EQ(differ, 0u) << "of " << corpus.size() << " spellings";
}

// Many out-of-range numbers in one document stay linear (a peer's line of 200,000 of them once
// meant a scan of the rest of the input per number: hours).
TEST(Json, ManyOutOfRangeNumbersParseInLinearTime) {
  std::string doc = "[";
  for (int i = 0; i < 200000; ++i)
    doc += i == 0 ? "1e400" : ",1e400";
  doc += "]";
  js::Value v = js::parse(doc);
  EXPECT_EQ(v.size(), 200000u);
  EXPECT_EQ(v[199999].as_number(), INFINITY);
}
