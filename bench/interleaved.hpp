// Paired measurement for a noisy shared machine: every case runs once per iteration, in a fresh
// random order, so each one sees the same host contention as its peers (and, equally often,
// the aftermath of a heavy peer: a fixed order once billed the teardown of a 4 GiB fork's page
// tables to whichever case always came next); each case's
// median over the iterations becomes a counter ("<case>_us", and "<case>_per_s" when it moves
// a known number of items). Ratios between counters of one benchmark are then fair even when
// the machine's speed drifts by 2x during the run, which it does on a 2-vCPU VM.
#pragma once
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
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
    std::vector<std::size_t> order(cases_.size());
    for (std::size_t k = 0; k < order.size(); ++k)
      order[k] = k;
    std::mt19937 shuffle_rng(12345);
    for (auto _ : state) {
      std::shuffle(order.begin(), order.end(), shuffle_rng);
      for (std::size_t k : order) {
        Case& c = cases_[k];
        auto t0 = std::chrono::steady_clock::now();
        c.run();
        c.samples_us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
      }
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
