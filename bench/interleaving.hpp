// Paired measurement for a noisy shared machine, without any benchmark framework: every case runs
// once per round, in a fresh random order, so each one sees the same host contention as its
// peers (and, equally often, the aftermath of a heavy peer: a fixed order once billed the
// teardown of a 4 GiB fork's page tables to whichever case always came next). A case's figure is
// its median over the rounds, so ratios between cases of one run stay fair even when the
// machine's speed drifts by 2x during the run, which it does on a 2-vCPU VM. Used by the
// benchmarks (through interleaved.hpp) and by childproc-spawn-cost.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace bench {

class Interleaving {
 public:
  struct Median {
    std::string name;
    double us;     // median time of one call
    double items;  // what one call moves (0: time only)
  };

  // `items`: how many messages/bytes one call moves (0: report the time only).
  Interleaving& add(std::string name, std::function<void()> run, double items = 0) {
    cases_.push_back({std::move(name), std::move(run), items, {}});
    order_.push_back(order_.size());
    return *this;
  }

  // Every case once, in a fresh random order.
  void round() {
    std::shuffle(order_.begin(), order_.end(), rng_);
    for (std::size_t k : order_) {
      Case& c = cases_[k];
      auto t0 = std::chrono::steady_clock::now();
      c.run();
      c.samples_us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
  }

  // Each case's median over the rounds so far, in the order the cases were added; the samples
  // are dropped.
  std::vector<Median> medians() {
    std::vector<Median> out;
    for (Case& c : cases_) {
      if (c.samples_us.empty()) continue;
      auto mid = c.samples_us.begin() + static_cast<std::ptrdiff_t>(c.samples_us.size() / 2);
      std::nth_element(c.samples_us.begin(), mid, c.samples_us.end());
      out.push_back({c.name, *mid, c.items});
      c.samples_us.clear();
    }
    return out;
  }

 private:
  struct Case {
    std::string name;
    std::function<void()> run;
    double items;
    std::vector<double> samples_us;
  };
  std::vector<Case> cases_;
  std::vector<std::size_t> order_;
  std::mt19937 rng_{12345};
};

}  // namespace bench
