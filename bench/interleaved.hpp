// Paired measurement for a noisy shared machine: every case runs once per iteration, in an
// order that rotates, so each one sees the same host contention as its peers; each case's
// median over the iterations becomes a counter ("<case>_us", and "<case>_per_s" when it moves
// a known number of items). Ratios between counters of one benchmark are then fair even when
// the machine's speed drifts by 2x during the run, which it does on a 2-vCPU VM.
#pragma once
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace bench {

class Interleaved {
 public:
  // `items`: how many messages/bytes one call moves (0: report the time only).
  Interleaved& add(std::string name, std::function<void()> run, double items = 0) {
    cases_.push_back({std::move(name), std::move(run), items, {}});
    return *this;
  }

  void run(benchmark::State& state) {
    std::size_t first = 0;
    for (auto _ : state) {
      for (std::size_t k = 0; k < cases_.size(); ++k) {
        Case& c = cases_[(first + k) % cases_.size()];
        auto t0 = std::chrono::steady_clock::now();
        c.run();
        c.samples_us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
      }
      first = (first + 1) % cases_.size();
    }
    for (Case& c : cases_) {
      if (c.samples_us.empty()) continue;
      auto mid = c.samples_us.begin() + static_cast<std::ptrdiff_t>(c.samples_us.size() / 2);
      std::nth_element(c.samples_us.begin(), mid, c.samples_us.end());
      state.counters[c.name + "_us"] = *mid;
      if (c.items > 0) state.counters[c.name + "_per_s"] = c.items / (*mid * 1e-6);
      c.samples_us.clear();
    }
  }

 private:
  struct Case {
    std::string name;
    std::function<void()> run;
    double items;
    std::vector<double> samples_us;
  };
  std::vector<Case> cases_;
};

}  // namespace bench
