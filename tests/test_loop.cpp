// The Loop on its own: timers, next-tick, cross-thread post, stop, embedding.

#include <thread>

#include "test_util.hpp"

using namespace childproc;
using namespace std::chrono_literals;

namespace {

TEST(Loop, EmptyLoopReturnsAtOnce) {
  Loop loop;
  EXPECT_FALSE(loop.alive());
  loop.run();
}

TEST(Loop, TimersFireInDueOrder) {
  Loop loop;
  std::vector<int> order;
  loop.set_timeout(30ms, [&] { order.push_back(3); });
  loop.set_timeout(10ms, [&] { order.push_back(1); });
  loop.set_timeout(20ms, [&] { order.push_back(2); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Loop, ClearedTimerNeverFires) {
  Loop loop;
  bool fired = false;
  auto id = loop.set_timeout(10ms, [&] { fired = true; });
  loop.clear_timeout(id);
  EXPECT_FALSE(loop.alive());
  loop.run();
  EXPECT_FALSE(fired);
}

TEST(Loop, NextTickRunsBeforeTimersAndInOrder) {
  Loop loop;
  std::vector<std::string> order;
  loop.set_timeout(0ms, [&] { order.push_back("timer"); });
  loop.next_tick([&] {
    order.push_back("tick1");
    loop.next_tick([&] { order.push_back("tick3"); });
  });
  loop.next_tick([&] { order.push_back("tick2"); });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"tick1", "tick2", "tick3", "timer"}));
}

TEST(Loop, PostFromAnotherThreadWakesTheLoop) {
  Loop loop;
  std::atomic<bool> ran{false};
  // A long timer keeps the loop waiting; the post must wake it long before.
  auto guard = loop.set_timeout(10s, [] {});
  std::thread poster([&] {
    loop.post([&] {
      ran = true;
      loop.stop();
    });
  });
  auto start = std::chrono::steady_clock::now();
  loop.run();
  poster.join();
  EXPECT_TRUE(ran);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  loop.clear_timeout(guard);
}

// poll() keeps no kernel object to hand out: the portable loop says so rather than giving a
// descriptor that would never become readable.
TEST(Loop, BackendTimeoutTracksTheNearestTimer) {
  Loop loop;
  EXPECT_EQ(loop.backend_timeout(), std::nullopt);
  loop.set_timeout(500ms, [] {});
  auto t = loop.backend_timeout();
  ASSERT_TRUE(t);
  EXPECT_LE(*t, 500ms);
  EXPECT_GT(*t, 400ms);
  loop.next_tick([] {});
  EXPECT_EQ(loop.backend_timeout(), 0ms);
}

TEST(Event, ListenersAddedOrRemovedDuringEmitAreSafe) {
  Event<int> ev;
  std::vector<int> seen;
  ListenerId second = 0;
  ev.on([&](int v) {
    seen.push_back(v);
    ev.off(second);                                  // remove a later one
    ev.on([&](int w) { seen.push_back(100 + w); });  // add one: runs from the next emit
  });
  second = ev.on([&](int v) { seen.push_back(-v); });
  ev.once([&](int v) { seen.push_back(1000 + v); });
  ev.emit(1);
  ev.emit(2);
  EXPECT_EQ(seen, (std::vector<int>{1, 1001, 2, 102}));
}

}  // namespace
