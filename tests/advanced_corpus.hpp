// Node's corpus of 'advanced' values (tests/node/advanced_values.js), as v8.serialize wrote each
// and as read here, for the serialization and the IPC tests.
#pragma once

#include <childproc/advanced.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace cptest {

inline std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

inline std::string unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  return out;
}

struct CorpusValue {
  std::string index;     // its position in the corpus, as Node numbered it
  std::string node_hex;  // v8.serialize(value) in Node
};

// One line per value from `node advanced_corpus.js emit`; empty (and a test failure) if node
// failed.
inline std::vector<CorpusValue> node_corpus() {
  using namespace std::chrono_literals;
  auto emitted = childproc::spawn_sync(kNode, {kNodeDir + "/advanced_corpus.js", "emit"},
                                       {.timeout = 120s, .max_buffer = 64u << 20});
  EXPECT_EQ(emitted.status, 0) << emitted.std_err;
  std::vector<CorpusValue> out;
  std::istringstream lines(emitted.std_out);
  std::string line;
  while (std::getline(lines, line)) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    out.push_back({line.substr(0, space), line.substr(space + 1)});
  }
  return out;
}

}  // namespace cptest
