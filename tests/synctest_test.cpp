// docs/reference.md §10: goro::synctest (Go 1.25's testing/synctest), ported from the
// examples of Go's documentation, and the bubble's rules one by one.
//
// Every check on fake time is exact: the bubble's clock moves only when its goroutines are
// durably blocked, and then exactly to the next timer. Checks on real time only bound it
// loosely (a 10-minute timeout must not take 10 minutes).
#include "test_util.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

using namespace goro_test;

namespace {

// Go's bubbles start at 2000-01-01 00:00:00 UTC.
const auto kStart = clock::time_point(std::chrono::seconds(946'684'800));

}  // namespace

// Go's synctest example "ContextWithTimeout", with a 10-minute timeout.
TEST_CASE("synctest: a context's 10-minute timeout, in fake time") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [] {
      const auto real_start = clock::now();
      goro::synctest::run([] {
        constexpr auto timeout = 10min;
        const auto start = goro::now();
        CHECK(start == kStart);
        auto [ctx, cancel] = goro::with_timeout(goro::background(), timeout);
        goro::sleep(timeout - 1ns);
        goro::synctest::wait();
        CHECK(!ctx.err());
        goro::sleep(1ns);
        goro::synctest::wait();
        CHECK(ctx.err() == goro::context_errc::deadline_exceeded);
        CHECK(goro::now() - start == timeout);
        cancel();
      });
      CHECK(clock::now() - real_start < 5s);
    });
  }
}

// Go's example "ContextAfterFunc": the function runs once the context is canceled, and
// wait() returns only after it has.
TEST_CASE("synctest: context after_func runs before wait returns") {
  run_on(2, [] {
    goro::synctest::run([] {
      auto [ctx, cancel] = goro::with_cancel(goro::background());
      std::atomic<bool> called{false};
      goro::after_func(ctx, [&] { called = true; });
      goro::synctest::wait();
      CHECK(!called);
      cancel();
      goro::synctest::wait();
      CHECK(called);
    });
  });
}

TEST_CASE("synctest: timers, after, after_func and ticker follow the fake clock exactly") {
  run_on(2, [] {
    goro::synctest::run([] {
      const auto start = goro::now();
      // A ticker's ticks come exactly a period apart, and carry the bubble's time.
      goro::ticker tk(1s);
      for (int i = 1; i <= 3; ++i) {
        auto t = tk.c().recv();
        CHECK(t == start + i * 1s);  // (an optional: engaged, and the time)
        CHECK(goro::now() == start + i * 1s);
      }
      tk.stop();
      // after and timer, raced in one select: the earlier wins, at its exact time.
      goro::timer late(2h);
      const auto i = goro::select(goro::on_recv(goro::after(1h)), goro::on_recv(late.c()));
      CHECK(i == 0);
      CHECK(goro::now() == start + 3s + 1h);
      CHECK(late.stop());
      // after_func's goroutine belongs to the bubble: run waits for it.
      std::atomic<int> ran{0};
      goro::after_func(30min, [&] {
        CHECK(goro::now() == start + 3s + 1h + 30min);
        ++ran;
      });
      goro::sleep(31min);
      CHECK(ran == 1);
      // wall() prints the bubble's time as Go's date.
      CHECK(goro::wall(goro::now()) ==
            std::chrono::system_clock::time_point(std::chrono::seconds(946'684'800)) + 3s + 1h +
                31min);
    });
  });
}

// Go's example "Wait": wait() returns once the goroutines just started have all blocked.
TEST_CASE("synctest: wait returns when every other goroutine is durably blocked") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [] {
      goro::synctest::run([] {
        constexpr int kN = 10;
        std::atomic<int> reached{0};
        auto gate = goro::make_chan<int>();
        auto results = goro::make_chan<int>(kN);
        goro::wait_group wg;
        for (int i = 0; i < kN; ++i) {
          wg.go([&, i] {
            ++reached;
            auto v = gate.recv();  // durably blocked: a channel of the bubble
            results.send(*v + i);
          });
        }
        goro::synctest::wait();
        CHECK(reached == kN);
        CHECK(results.len() == 0);
        for (int i = 0; i < kN; ++i) gate.send(100);
        wg.wait();  // a wait group of the bubble: durably blocked too
        CHECK(results.len() == static_cast<std::size_t>(kN));
        CHECK(goro::now() == kStart);  // nothing slept: the clock never moved
      });
    });
  }
}

TEST_CASE("synctest: goroutines started in the bubble belong to it, children included") {
  run_on(2, [] {
    std::atomic<int> done{0};
    goro::synctest::run([&] {
      goro::go([&] {
        goro::go([&] {
          // Still running when f returns: run waits for it.
          for (int i = 0; i < 100; ++i) goro::yield();
          ++done;
        });
        ++done;
      });
    });
    CHECK(done == 2);  // run returned only after both ended
    // Outside the bubble the clock is the real one again.
    const auto real = clock::now();
    const auto now = goro::now();
    CHECK(now >= real);
    CHECK(now - real < 1s);
  });
}

TEST_CASE("synctest: a goroutine blocked on a mutex is not durably blocked") {
  run_on(2, [] {
    goro::mutex mu;
    mu.lock();
    // Released from outside the bubble after a little real time: the bubble's clock must
    // not run ahead while its goroutine waits for the mutex.
    goro::go([&] {
      goro::sleep(20ms);
      mu.unlock();
    });
    goro::synctest::run([&] {
      goro::timer t(1h);  // a timer that the clock could jump to
      mu.lock();
      CHECK(goro::now() == kStart);
      mu.unlock();
      CHECK(t.c().recv() == kStart + 1h);
    });
  });
}

// Go's example "Deadlock"s: run panics, naming the blocked goroutines.
TEST_CASE("synctest: a deadlocked bubble panics with its goroutines listed") {
  run_on(2, [] {
    // f returned, a goroutine is left blocked on a channel of the bubble.
    std::string what;
    try {
      goro::synctest::run([] {
        auto c = goro::make_chan<int>();
        goro::go([c] { c.recv(); });
      });
    } catch (const goro::panic_error& e) {
      what = e.what();
    }
    GO_CHECK_MESSAGE(
        what.starts_with(
            "deadlock: main bubble goroutine has exited but blocked goroutines remain"),
        what);
    GO_CHECK_MESSAGE(what.find("[chan receive (durable), synctest bubble") != std::string::npos,
                     what);
    GO_CHECK_MESSAGE(what.find("synctest_test.cpp") != std::string::npos, what);

    // f itself blocked: every goroutine is, and no timer is left to fire.
    what.clear();
    try {
      goro::synctest::run([] {
        auto c = goro::make_chan<int>();
        goro::go([c] { goro::select(goro::on_recv(c)); });
        c.send(1);
        c.send(2);
      });
    } catch (const goro::panic_error& e) {
      what = e.what();
    }
    GO_CHECK_MESSAGE(what.starts_with("deadlock: all goroutines in bubble are blocked"), what);
    GO_CHECK_MESSAGE(what.find("[chan send (durable)") != std::string::npos, what);

    // Once f has returned, time stops: a sleeper left behind is a deadlock too (Go's
    // TestDeadlock with a 1 ns sleep).
    what.clear();
    try {
      goro::synctest::run([] { goro::go([] { goro::sleep(1ns); }); });
    } catch (const goro::panic_error& e) {
      what = e.what();
    }
    GO_CHECK_MESSAGE(what.find("[sleep, synctest bubble") != std::string::npos, what);
  });
}

TEST_CASE("synctest: misuse panics with Go's messages") {
  run_on(1, [] {
    goro::chan<int> smuggled;
    goro::synctest::run([&] {
      smuggled = goro::make_chan<int>(1);
      CHECK_THROWS_WITH_AS(goro::synctest::run([] {}),
                           "synctest.Run called from within a synctest bubble", goro::panic_error);
    });
    CHECK_THROWS_WITH_AS(smuggled.send(1), "send on synctest channel from outside bubble",
                         goro::panic_error);
    CHECK_THROWS_WITH_AS(smuggled.recv(), "receive on synctest channel from outside bubble",
                         goro::panic_error);
    CHECK_THROWS_WITH_AS(goro::select(goro::on_recv(smuggled), goro::on_recv(goro::after(1h))),
                         "select on synctest channel from outside bubble", goro::panic_error);
    CHECK_THROWS_WITH_AS(smuggled.close(), "close of synctest channel from outside bubble",
                         goro::panic_error);
    CHECK_THROWS_WITH_AS(goro::synctest::wait(), "goroutine is not in a bubble", goro::panic_error);
    // An ordinary channel may be used from a bubble (not durably: see above).
    auto plain = goro::make_chan<int>(1);
    goro::synctest::run([&] { plain.send(7); });
    CHECK(*plain.recv() == 7);
  });
}

// ---------------------------------------------------------------------------------------
// options::seed: one worker thread, a bubble, and the seed decide the schedule.

namespace {

// Four goroutines take turns (yield, a select between two ready channels, a channel
// hand-off); the order in which their steps ran, as a string.
std::string interleaving(std::uint64_t seed) {
  std::string order;
  goro::run(goro::options{.threads = 1, .seed = seed}, [&] {
    goro::synctest::run([&] {
      auto a = goro::make_chan<int>(8);
      auto b = goro::make_chan<int>(8);
      auto relay = goro::make_chan<int>();
      goro::wait_group wg;
      for (int i = 0; i < 4; ++i) {
        wg.go([&, i] {
          for (int k = 0; k < 3; ++k) {
            order += static_cast<char>('a' + i);
            a.send(k);
            b.send(k);
            // Both cases are ready: select's poll order picks one; then the other is taken.
            const auto i = goro::select(goro::on_recv(a, [&](int) { order += 'x'; }),
                                        goro::on_recv(b, [&](int) { order += 'y'; }));
            (i == 0 ? b : a).recv();
            goro::yield();
          }
        });
      }
      wg.go([&] {
        for (int k = 0; k < 4; ++k) relay.send(k);
      });
      wg.go([&] {
        for (int k = 0; k < 4; ++k) order += static_cast<char>('0' + *relay.recv());
      });
      wg.wait();
    });
  });
  return order;
}

// The planted bug: a check-then-act race. Two goroutines each withdraw 60 from a balance of
// 100 if it is enough, and report the withdrawal to an auditor between the check and the
// act. If the auditor is not already waiting, the report blocks, and the other goroutine may
// run its check before the first one's act: both withdraw. Only some schedules do that.
bool withdrawals_stay_covered(std::uint64_t seed, int* final_balance = nullptr) {
  int balance = 100;
  goro::run(goro::options{.threads = 1, .seed = seed}, [&] {
    goro::synctest::run([&] {
      auto audit = goro::make_chan<int>();
      goro::go([audit] {
        for (int i = 0; i < 2; ++i) {
          if (!audit.recv()) return;
        }
      });
      goro::wait_group wg;
      for (int i = 0; i < 2; ++i) {
        wg.go([&] {
          if (balance >= 60) {  // check
            audit.send(60);     // may block, and let the other goroutine check
            balance -= 60;      // act
          }
        });
      }
      wg.wait();
      audit.close();
    });
  });
  if (final_balance) *final_balance = balance;
  return balance >= 0;
}

}  // namespace

TEST_CASE("seed: the same seed gives the same interleaving at one worker") {
  for (std::uint64_t seed : {1u, 42u, 977u}) {
    const std::string first = interleaving(seed);
    CAPTURE(seed);
    CHECK(first.size() == 4 * 3 * 2 + 4);
    CHECK(interleaving(seed) == first);
    CHECK(interleaving(seed) == first);
  }
}

TEST_CASE("seed: different seeds give different interleavings") {
  std::vector<std::string> seen;
  for (std::uint64_t seed = 100; seed < 120; ++seed) {
    const std::string order = interleaving(seed);
    if (std::find(seen.begin(), seen.end(), order) == seen.end()) seen.push_back(order);
  }
  CAPTURE(seen.front());
  CHECK(seen.size() >= 10);  // of 20 seeds
}

TEST_CASE("seed search finds a planted check-then-act race, and its seed replays it") {
  // Some schedules expose the bug and some do not.
  int passed = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) passed += withdrawals_stay_covered(seed);
  CHECK(passed > 0);
  const auto failing =
      seed_search([](std::uint64_t s) { return withdrawals_stay_covered(s); }, 1, 200);
  REQUIRE(failing.has_value());
  // Replaying the seed gives the same failure, every time.
  for (int i = 0; i < 3; ++i) {
    int balance = 0;
    CHECK_FALSE(withdrawals_stay_covered(*failing, &balance));
    CHECK(balance == -20);
  }
}
