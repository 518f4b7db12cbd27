// The benchmarks' side of bench/interleaving.hpp: a Google Benchmark state runs the rounds, and
// each case's median becomes a counter ("<case>_us", and "<case>_per_s" when it moves a known
// number of items), which bench/run's table quotes as ratios.
#pragma once
#include <benchmark/benchmark.h>

#include <functional>
#include <string>

#include "interleaving.hpp"

namespace bench {

class Interleaved {
 public:
  // `items`: how many messages/bytes one call moves (0: report the time only).
  Interleaved& add(std::string name, std::function<void()> run, double items = 0) {
    cases_.add(std::move(name), std::move(run), items);
    return *this;
  }

  void run(benchmark::State& state) {
    for (auto _ : state)
      cases_.round();
    for (const Interleaving::Median& m : cases_.medians()) {
      state.counters[m.name + "_us"] = m.us;
      if (m.items > 0) state.counters[m.name + "_per_s"] = m.items / (m.us * 1e-6);
    }
  }

 private:
  Interleaving cases_;
};

}  // namespace bench
