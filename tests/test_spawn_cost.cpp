// childproc-spawn-cost (bench/spawn_cost.cpp) on the tests' tiny child: it measures every
// mechanism, prints a table (or JSON) of medians and ratios, and refuses bad input clearly.
#include <sstream>

#include "test_util.hpp"

using namespace childproc;
namespace js = childproc::json;

namespace {

const std::string kTool = CP_SPAWN_COST;
const std::string kTiny = CP_TINY;

const std::vector<std::string> kMechanisms = {
    "raw_clone_vfork",   "raw_vfork",       "raw_posix_spawn",   "raw_fork_exec",
    "spawn_sync_ignore", "spawn_sync_pipe", "spawn_async_ignore"};

TEST(SpawnCostTool, JsonHasEveryMechanismsMedianAndRatio) {
  for (const char* heap : {"0", "64M"}) {
    SCOPED_TRACE(heap);
    auto r = spawn_sync(kTool, {"--heap", heap, "--runs", "5", "--json", "--", kTiny, "x"},
                        {.timeout = std::chrono::seconds(60)});
    ASSERT_EQ(r.status, 0) << r.std_err;
    js::Value v = js::parse(r.std_out);
    EXPECT_EQ(js::stringify(*v.find("program")), "[\"" + kTiny + "\",\"x\"]");
    EXPECT_EQ(v.find("runs")->as_number(), 5);
    EXPECT_EQ(v.find("heap_bytes")->as_number(), std::string(heap) == "0" ? 0 : 64 << 20);
    EXPECT_EQ(v.find("baseline")->as_string(), "raw_clone_vfork");
    const js::Array& results = v.find("results")->as_array();
    ASSERT_EQ(results.size(), kMechanisms.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i].find("mechanism")->as_string(), kMechanisms[i]);
      EXPECT_GT(results[i].find("median_us")->as_number(), 0);
      EXPECT_GT(results[i].find("ratio")->as_number(), 0);
    }
    EXPECT_EQ(results[0].find("ratio")->as_number(), 1);
  }
}

TEST(SpawnCostTool, TheTableHasARowPerMechanism) {
  // A name without '/' is found on PATH, as a shell would.
  std::string dir = kTiny.substr(0, kTiny.rfind('/'));
  Env env = current_env();
  env["PATH"] = dir + ":" + env["PATH"];
  std::string name = kTiny.substr(kTiny.rfind('/') + 1);
  auto r = spawn_sync(kTool, {"--runs", "3", "--", name}, {.env = env});
  ASSERT_EQ(r.status, 0) << r.std_err;
  std::istringstream lines(r.std_out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);)
    rows.push_back(line);
  ASSERT_EQ(rows.size(), 12u) << r.std_out;  // title, blank, header, 7 rows, blank, ratio
  EXPECT_EQ(rows[0], "childproc-spawn-cost: " + kTiny +
                         ", 3 rounds, 0 B of touched heap held, "
                         "medians");
  EXPECT_EQ(rows[2].rfind("mechanism", 0), 0u);
  EXPECT_EQ(rows[3].rfind("raw clone(CLONE_VM|CLONE_VFORK)", 0), 0u) << rows[3];
  for (std::size_t i = 3; i < 10; ++i) {
    EXPECT_NE(rows[i].find(" us "), std::string::npos) << rows[i];
    EXPECT_EQ(rows[i].back(), 'x') << rows[i];
  }
  EXPECT_NE(rows[3].find("1.00x"), std::string::npos) << rows[3];
  EXPECT_EQ(rows[11], "ratio: to raw clone(CLONE_VM|CLONE_VFORK)");
}

TEST(SpawnCostTool, BadInputIsRefusedWithWhatWasWrong) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--runs", "0", "--", kTiny}, "--runs wants a number from 1 to 1000000, not '0'"},
      {{"--heap", "lots", "--", kTiny}, "--heap wants a size such as 512M or 4G, not 'lots'"},
      {{"--frobnicate", "--", kTiny}, "unknown option '--frobnicate'"},
      {{"--runs", "3"}, "no program given after --"},
      {{"--", "no-such-program-anywhere"},
       "no-such-program-anywhere: not found (nor on PATH), or not executable"},
      {{"--", "/no/such/program"},
       "/no/such/program cannot be started: spawnSync /no/such/program ENOENT"},
  };
  for (const Case& c : cases) {
    auto r = spawn_sync(kTool, c.args);
    EXPECT_EQ(r.status, 2) << c.says;
    EXPECT_NE(r.std_err.find(c.says), std::string::npos) << r.std_err;
    EXPECT_EQ(r.std_out, "");
  }
}

}  // namespace
