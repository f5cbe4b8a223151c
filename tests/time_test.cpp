// docs/reference.md §4, time: sleep, after, timer, ticker, after_func, with Go 1.23's semantics.
//
// Timing checks appear only where the semantics are about time, and only in the safe
// direction (something lasts at least d) or with bounds far wider than the noise of a loaded
// machine under a sanitizer.
#include "test_util.hpp"

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

using namespace goro_test;

static_assert(std::is_same_v<goro::clock, std::chrono::steady_clock>);
static_assert(std::is_nothrow_move_constructible_v<goro::timer> &&
              !std::is_copy_constructible_v<goro::timer> &&
              !std::is_copy_assignable_v<goro::timer>);
static_assert(std::is_nothrow_move_constructible_v<goro::ticker> &&
              !std::is_copy_constructible_v<goro::ticker> &&
              !std::is_copy_assignable_v<goro::ticker>);
static_assert(std::is_same_v<decltype(goro::after(1ms)), goro::recv_chan<goro::clock::time_point>>);
static_assert(std::is_same_v<decltype(goro::tick(1ms)), goro::recv_chan<goro::clock::time_point>>);

// c() of a temporary ticker does not compile: that ticker stops at the end of the statement,
// so `for (auto t : goro::ticker(d).c())` would wait forever (goro::tick(d) is the spelling).
// A temporary timer's channel is fine: destroying a timer does not stop it.
template <class T>
concept c_of_temporary = requires(T&& t) { std::move(t).c(); };
static_assert(!c_of_temporary<goro::ticker>);
static_assert(c_of_temporary<goro::timer>);

TEST_CASE("sleep lasts at least d and blocks only the goroutine") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      for (auto d : {1ms, 10ms, 30ms}) {
        const auto start = clock::now();
        goro::sleep(d);
        GO_CHECK_MESSAGE(clock::now() - start >= d, "threads=" << n);
      }
      // Zero and negative durations return at once (no timing check needed: a hang fails).
      goro::sleep(0ms);
      goro::sleep(-5ms);
    });
  }
  // One worker: while a goroutine sleeps, other goroutines run on that worker's thread.
  run_on(1, [] {
    std::atomic<bool> woke{false};
    goro::go([&] {
      goro::sleep(500ms);
      woke = true;
    });
    auto ping = goro::make_chan<int>();
    auto pong = goro::make_chan<int>();
    goro::go([ping, pong] {
      for (int v : ping) pong.send(v + 1);
    });
    int v = 0;
    for (int i = 0; i < 100; ++i) {
      ping.send(v);
      v = *pong.recv();
    }
    CHECK(v == 100);
    // 100 round trips take far less than the 500 ms sleep; if sleep had blocked the only
    // worker they could not have happened before it woke.
    CHECK_FALSE(woke.load());
    ping.close();
    CHECK(eventually([&] { return woke.load(); }));
  });
}

TEST_CASE("10,000 goroutines sleeping at once on one worker finish in about one sleep") {
  run_on(1, [] {
    // ThreadSanitizer makes each goroutine's start cost about a millisecond: fewer there.
    constexpr int kG = kTsan ? 500 : 10000;
    const auto d = 100ms;
    const auto start = clock::now();
    goro::wait_group wg;
    std::atomic<int> too_early{0};
    for (int i = 0; i < kG; ++i) {
      wg.go([&, d] {
        const auto t0 = clock::now();
        goro::sleep(d);
        if (clock::now() - t0 < d) ++too_early;
      });
    }
    wg.wait();
    const auto took = clock::now() - start;
    CHECK(too_early.load() == 0);
    // Sequential sleeps would take 1000 s; concurrent ones about 100 ms plus spawning.
    CHECK(took >= d);
    GO_CHECK_MESSAGE(took < 2s * kSlow,
                     std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  });
}

TEST_CASE("after delivers the time once, at least d later") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      const auto start = clock::now();
      auto c = goro::after(20ms);
      auto v = recv_for(c, 10s);
      GO_CHECK_MESSAGE(v.has_value(), "threads=" << n);
      if (v && *v) {
        CHECK(**v >= start + 20ms);  // the time it fired
        CHECK(**v <= clock::now());
      }
      CHECK(clock::now() - start >= 20ms);
      // Only once, and the channel is not closed: a second receive blocks.
      CHECK_FALSE(recv_for(c, 40ms).has_value());
    });
  }
  // Many afters in a select: the earliest wins.
  run_on(2, [] {
    const auto i = goro::select(goro::on_recv(goro::after(2s)), goro::on_recv(goro::after(5ms)),
                                goro::on_recv(goro::after(1s)));
    CHECK(i == 1);
  });
}

TEST_CASE("timer: fires once on c(); stop and reset report and prevent stale values") {
  // In a synctest bubble: the values carry exact times, and the waits for values that must
  // not come cost no real time.
  run_on(2, [] {
    goro::synctest::run([] {
      {
        const auto start = goro::now();
        goro::timer t(15ms);
        CHECK(t.c() == t.c());
        CHECK(t.c() != nullptr);
        auto v = recv_for(t.c(), 10s);
        CHECK(v.has_value());
        if (v && *v) CHECK(**v == start + 15ms);
        CHECK_FALSE(recv_for(t.c(), 30ms).has_value());  // once
        // Fired and received: stop and reset report that it was not active.
        CHECK_FALSE(t.stop());
      }
      {
        // Stopped while pending: stop reports true, and nothing ever arrives.
        goro::timer t(20ms);
        CHECK(t.stop());
        CHECK_FALSE(t.stop());  // already stopped
        CHECK_FALSE(recv_for(t.c(), 60ms).has_value());
      }
      {
        // Go 1.23: fired but not yet received counts as not received: stop returns true and
        // the stale value is gone.
        goro::timer t(1ms);
        goro::sleep(30ms);
        CHECK(t.stop());
        CHECK(goro::select(goro::on_recv(t.c()), goro::on_default()) == 1);
        CHECK_FALSE(recv_for(t.c(), 30ms).has_value());
      }
      {
        // reset of a pending timer: true, and it fires after the new duration, not the old.
        goro::timer t(1h);
        const auto at = goro::now();
        CHECK(t.reset(20ms));
        auto v = recv_for(t.c(), 10s);
        CHECK(v.has_value());
        if (v && *v) CHECK(**v == at + 20ms);
        // Fired and received: reset reports false and re-arms it.
        CHECK_FALSE(t.reset(10ms));
        CHECK(recv_for(t.c(), 10s).has_value());
      }
      {
        // reset of a stopped timer: false, and it fires again.
        goro::timer t(1h);
        CHECK(t.stop());
        CHECK_FALSE(t.reset(5ms));
        CHECK(recv_for(t.c(), 10s).has_value());
      }
      {
        // Go 1.23: reset of a timer that fired but was not received reports true, and the
        // value received afterwards is the new one, not the stale one.
        goro::timer t(1ms);
        goro::sleep(30ms);
        const auto at = goro::now();
        CHECK(t.reset(50ms));
        CHECK(goro::select(goro::on_recv(t.c()), goro::on_default()) == 1);  // nothing stale
        auto v = recv_for(t.c(), 10s);
        CHECK(v.has_value());
        if (v && *v) CHECK(**v == at + 50ms);
      }
      {
        // A reset to an earlier time takes effect.
        goro::timer t(1h);
        CHECK(t.reset(5ms));
        CHECK(recv_for(t.c(), 10s).has_value());
      }
    });
  });
}

TEST_CASE("timer and ticker channels report len and cap 0, as Go 1.23's unbuffered ones") {
  run_on(2, [] {
    goro::timer t(1ms);
    goro::ticker k(1ms);
    auto a = goro::after(1ms);
    goro::sleep(30ms);  // each has fired, and its value waits for a receiver
    CHECK(t.c().len() == 0);
    CHECK(t.c().cap() == 0);
    CHECK(k.c().len() == 0);
    CHECK(k.c().cap() == 0);
    CHECK(a.len() == 0);
    CHECK(a.cap() == 0);
    // The values are there all the same: each receive is ready at once.
    CHECK(goro::select(goro::on_recv(t.c()), goro::on_default()) == 0);
    CHECK(goro::select(goro::on_recv(k.c()), goro::on_default()) == 0);
    CHECK(goro::select(goro::on_recv(a), goro::on_default()) == 0);
    CHECK(t.c().len() == 0);
    // Other channels of the same element type are not affected.
    auto c = goro::make_chan<goro::clock::time_point>(2);
    c.send(clock::now());
    CHECK(c.len() == 1);
    CHECK(c.cap() == 2);
  });
}

TEST_CASE("timer is movable, and destroying it does not stop it") {
  run_on(2, [] {
    goro::timer a(1h);
    goro::timer b(std::move(a));
    CHECK(b.stop());        // the moved-to timer owns it
    CHECK_FALSE(a.stop());  // NOLINT(bugprone-use-after-move): the moved-from one is empty

    goro::timer c(5ms);
    goro::timer d(1h);
    d = std::move(c);
    CHECK(recv_for(d.c(), 10s).has_value());

    goro::recv_chan<goro::clock::time_point> ch;
    {
      goro::timer t(10ms);
      ch = t.c();
    }  // destroyed: keeps running, as in Go
    CHECK(recv_for(ch, 10s).has_value());
  });
}

TEST_CASE("many timers, stopped and reset from many goroutines") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      constexpr int kG = 200;
      std::atomic<int> fired{0}, stale{0};
      goro::wait_group wg;
      for (int i = 0; i < kG; ++i) {
        wg.go([&, i] {
          goro::timer t(std::chrono::milliseconds(i % 7));
          if (i % 2 == 0) {
            // A stop that wins must leave nothing behind; one that loses (the value was
            // received already, impossible here) would return false.
            if (t.stop()) {
              if (goro::select(goro::on_recv(t.c()), goro::on_default()) == 0) ++stale;
            }
          } else {
            t.reset(std::chrono::milliseconds(i % 5));
            if (recv_for(t.c(), 10s)) ++fired;
          }
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(stale.load() == 0, "threads=" << n);
      GO_CHECK_MESSAGE(fired.load() == kG / 2, "threads=" << n);
    });
  }
}

// One goroutine arms 2,000 timers on its worker's heap in a scrambled order of deadlines and
// stops every third one (removals from the middle of the heap): every other timer fires, no
// stopped one does, and each fires no earlier than its deadline.
TEST_CASE("timers stopped from the middle of one heap: the rest fire, in time") {
  run_on(1, [] {
    constexpr int kN = 2000;
    std::vector<goro::timer> timers;
    std::vector<clock::time_point> due(kN);
    timers.reserve(kN);
    const auto start = clock::now();
    for (int i = 0; i < kN; ++i) {
      const auto d = std::chrono::microseconds((i * 7919) % kN * 10);  // 0 .. 20 ms, scrambled
      due[i] = start + d;
      timers.emplace_back(d);
    }
    // Go 1.23: after stop, whatever it returns, nothing stale can be received from c().
    for (int i = 0; i < kN; i += 3) timers[i].stop();
    int fired = 0, early = 0, stale = 0;
    for (int i = 0; i < kN; ++i) {
      if (i % 3 == 0) {
        if (goro::select(goro::on_recv(timers[i].c()), goro::on_default()) == 0) ++stale;
        continue;
      }
      auto v = recv_for(timers[i].c(), 10s);
      if (!v || !*v) continue;
      ++fired;
      if (**v < due[i]) ++early;
    }
    CHECK(fired == kN - (kN + 2) / 3);
    CHECK(early == 0);
    CHECK(stale == 0);
  });
}
TEST_CASE("ticker ticks every d") {
  run_on(2, [] {
    const auto start = clock::now();
    goro::ticker k(20ms);
    clock::time_point last{};
    for (int i = 0; i < 5; ++i) {
      auto v = recv_for(k.c(), 10s);
      CHECK(v.has_value());
      if (v && *v) {
        CHECK(**v > last);
        last = **v;
      }
    }
    // The fifth tick is due 100 ms after the start.
    CHECK(clock::now() - start >= 100ms);
  });
}

TEST_CASE("ticker drops ticks for a slow reader") {
  // In a synctest bubble: exact, and 400 ms of ticks cost no real time.
  run_on(2, [] {
    goro::synctest::run([] {
      const auto start = goro::now();
      goro::ticker k(20ms);
      goro::sleep(390ms);  // 19 ticks' worth
      int ready = 0;
      while (goro::select(goro::on_recv(k.c()), goro::on_default()) == 0) ++ready;
      // One tick waits for the reader; a ticker that queued them would have 19 ready.
      CHECK(ready == 1);
      CHECK(goro::now() == start + 390ms);  // the loop did not receive a stream of ticks
      // It keeps ticking afterwards, on its grid.
      CHECK(k.c().recv() == start + 400ms);
    });
  });
}

TEST_CASE("ticker stop, reset and destruction") {
  // In a synctest bubble: the ticks come at exact times, and the waits for ticks that must
  // not come cost no real time.
  run_on(2, [] {
    goro::synctest::run([] {
      {
        const auto start = goro::now();
        goro::ticker k(5ms);
        CHECK(k.c().recv() == start + 5ms);
        goro::sleep(8ms);  // the tick of 10 ms is waiting now
        k.stop();
        // Go 1.23: after stop returns, no tick is received, not even one from before.
        CHECK_FALSE(recv_for(k.c(), 1h).has_value());
        // reset restarts a stopped ticker with the new period.
        const auto at = goro::now();
        k.reset(10ms);
        CHECK(k.c().recv() == at + 10ms);
        CHECK(k.c().recv() == at + 20ms);
      }
      {
        goro::ticker k(1h);
        const auto at = goro::now();
        k.reset(10ms);
        CHECK(k.c().recv() == at + 10ms);
      }
      {
        // Destroying a ticker stops it: a handle to its channel sees no more ticks.
        goro::recv_chan<goro::clock::time_point> c;
        {
          goro::ticker k(5ms);
          c = k.c();
          CHECK(c.recv().has_value());
          goro::sleep(7ms);  // the tick of 10 ms is waiting
        }
        CHECK_FALSE(recv_for(c, 1h).has_value());
      }
      {
        // Moving a ticker moves the ticking; the moved-from one is inert.
        const auto at = goro::now();
        goro::ticker a(5ms);
        goro::ticker b(std::move(a));
        CHECK(b.c().recv() == at + 5ms);
        a.stop();  // NOLINT(bugprone-use-after-move): harmless on an empty ticker
        CHECK(b.c().recv() == at + 10ms);
      }
    });
  });
}

TEST_CASE("after_func runs f in its own goroutine after d") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto ids = goro::make_chan<std::uint64_t>(1);
      auto release = goro::make_chan<goro::unit>();
      const auto start = clock::now();
      std::atomic<bool> early{false};
      goro::timer t = goro::after_func(20ms, [ids, release, start, &early] {
        if (clock::now() - start < 20ms) early = true;
        ids.send(goro::goroutine_id());
        release.recv();  // it may block: it is a goroutine of its own
      });
      CHECK(t.c() == nullptr);  // after_func timers have no channel
      auto id = recv_for(ids, 10s);
      GO_CHECK_MESSAGE(id.has_value(), "threads=" << n);
      if (id && *id) {
        CHECK(**id != 0);
        CHECK(**id != 1);
      }
      CHECK_FALSE(early.load());
      CHECK(goro::num_goroutine() == 2);  // main and f, blocked
      // While f is blocked, timers keep working.
      CHECK(recv_for(goro::after(5ms), 10s).has_value());
      release.send({});
      CHECK(eventually([] { return goro::num_goroutine() == 1; }));
      CHECK_FALSE(t.stop());  // it fired
    });
  }
}

TEST_CASE("after_func timers: discarded, stopped, reset") {
  run_on(2, [] {
    // Discarded at once: it still fires.
    std::atomic<int> runs{0};
    goro::after_func(5ms, [&] { ++runs; });
    CHECK(eventually([&] { return runs.load() == 1; }));

    // Stopped before it fires: stop reports true and f never runs.
    std::atomic<int> stopped_runs{0};
    goro::timer t = goro::after_func(30ms, [&] { ++stopped_runs; });
    CHECK(t.stop());
    goro::sleep(80ms);
    CHECK(stopped_runs.load() == 0);

    // After it fired, reset runs it again (and reports that it was not active).
    std::atomic<int> again{0};
    goro::timer r = goro::after_func(1ms, [&] { ++again; });
    CHECK(eventually([&] { return again.load() == 1; }));
    CHECK_FALSE(r.reset(5ms));
    CHECK(eventually([&] { return again.load() == 2; }));
    // reset while pending moves it; it runs once more, not twice.
    goro::timer p = goro::after_func(1h, [&] { ++again; });
    CHECK(p.reset(5ms));
    CHECK(eventually([&] { return again.load() == 3; }));
    goro::sleep(30ms);
    CHECK(again.load() == 3);
  });
}

TEST_CASE("time works from plain threads outside run") {
  const auto start = clock::now();
  goro::sleep(20ms);
  CHECK(clock::now() - start >= 20ms);

  auto v = goro::after(10ms).recv();
  CHECK(v.has_value());
  if (v) CHECK(*v >= start + 30ms);

  goro::timer t(1h);
  CHECK(t.stop());
  CHECK(goro::select(goro::on_recv(t.c()), goro::on_recv(goro::after(30ms))) == 1);

  goro::timer f(5ms);
  CHECK(f.c().recv().has_value());

  goro::ticker k(5ms);
  CHECK(k.c().recv().has_value());
  CHECK(k.c().recv().has_value());

  // And from several threads at once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      const auto t0 = clock::now();
      goro::sleep(15ms);
      if (clock::now() - t0 >= 15ms && goro::after(5ms).recv()) ++ok;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok.load() == 4);
}

TEST_CASE("format_duration and duration_fmt print Go's Duration.String") {
  // Expected texts from Go's time.Duration.String.
  struct tc {
    std::int64_t ns;
    const char* text;
  };
  const tc cases[] = {
      {0, "0s"},
      {1, "1ns"},
      {-1, "-1ns"},
      {999, "999ns"},
      {1000, "1\u00b5s"},
      {1001, "1.001\u00b5s"},
      {1500, "1.5\u00b5s"},
      {999999, "999.999\u00b5s"},
      {1000000, "1ms"},
      {1100000, "1.1ms"},
      {23500000, "23.5ms"},
      {250000000, "250ms"},
      {999999999, "999.999999ms"},
      {1000000000, "1s"},
      {1500000000, "1.5s"},
      {1000935000, "1.000935s"},
      {59000000000, "59s"},
      {60000000000, "1m0s"},
      {90000000000, "1m30s"},
      {1234567890123, "20m34.567890123s"},
      {7200000000000, "2h0m0s"},
      {7230000000000, "2h0m30s"},
      {3660000000001, "1h1m0.000000001s"},
      {11045006000000, "3h4m5.006s"},
      {360000000000000, "100h0m0s"},
      {-999, "-999ns"},
      {-1000, "-1\u00b5s"},
      {-1500000000, "-1.5s"},
      {-90000000000, "-1m30s"},
      {std::numeric_limits<std::int64_t>::max(), "2562047h47m16.854775807s"},
      {std::numeric_limits<std::int64_t>::min(), "-2562047h47m16.854775808s"},
  };
  for (const tc& t : cases) {
    const auto d = std::chrono::nanoseconds(t.ns);
    CHECK_MESSAGE(goro::format_duration(d) == t.text, t.ns);
    std::ostringstream os;
    os << goro::duration_fmt{d};
    CHECK_MESSAGE(os.str() == t.text, t.ns);
  }
  // The micro sign is U+00B5 (C2 B5), as Go writes it, not U+03BC.
  CHECK(goro::format_duration(1500ns) == "1.5\xC2\xB5s");
  // Coarser units convert.
  CHECK(goro::format_duration(1500ms) == "1.5s");
  CHECK(goro::format_duration(90s) == "1m30s");
  CHECK(goro::format_duration(std::chrono::hours(2)) == "2h0m0s");
  // Floating durations are cut toward zero to nanoseconds, as time.Duration(f) is.
  CHECK(goro::format_duration(std::chrono::duration<double>(1.5)) == "1.5s");
  CHECK(goro::format_duration(std::chrono::duration<double, std::micro>(-0.0015)) == "-1ns");
  CHECK(goro::format_duration(std::chrono::duration<double, std::nano>(0.9)) == "0s");
  std::ostringstream os;
  os << "took " << goro::duration_fmt{250ms} << ", then "
     << goro::duration_fmt{std::chrono::duration<double>(90.25)} << ".";
  CHECK(os.str() == "took 250ms, then 1m30.25s.");
}

TEST_CASE("now is goro's clock, and wall gives its system_clock time") {
  static_assert(std::is_same_v<decltype(goro::now()), goro::clock::time_point>);
  const auto before = clock::now();
  const auto t = goro::now();
  CHECK(t >= before);
  CHECK(t <= clock::now());
  // wall(now()) is the system time now; a later time maps to a later wall time by as much.
  const auto sys = std::chrono::system_clock::now();
  const auto w = goro::wall(goro::now());
  CHECK(w - sys >= -1s);
  CHECK(w - sys <= 1s);
  const auto later = goro::wall(t + 1h) - goro::wall(t);
  CHECK(later >= 1h - 1s);
  CHECK(later <= 1h + 1s);
  // A tick's time is a goro clock time: its wall time is about the system time when it came.
  run_on(1, [] {
    goro::timer tm(1ms);
    auto v = recv_for(tm.c(), 10s);
    const auto sys_now = std::chrono::system_clock::now();
    CHECK(v.has_value());
    if (v && *v) {
      const auto diff = goro::wall(**v) - sys_now;
      CHECK(diff <= 1s);
      CHECK(diff >= -1s * kSlow);
    }
  });
}

TEST_CASE("tick: a channel that owns its ticker; nil for d <= 0") {
  CHECK(goro::tick(0ms) == nullptr);
  CHECK(goro::tick(-1s) == nullptr);
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      // In a synctest bubble, where the ticks come at exact times and cost no real time.
      goro::synctest::run([n] {
        // The range-for of the obvious port gets ticks, d apart.
        const auto start = goro::now();
        int ticks = 0;
        for (auto t : goro::tick(5ms)) {
          ++ticks;
          GO_CHECK_MESSAGE(t == start + ticks * 5ms, "threads=" << n);
          if (ticks == 4) break;
        }
        GO_CHECK_MESSAGE(goro::now() - start == 20ms, "threads=" << n);

        // In a select loop, with the channel made once, as Go's `tick := time.Tick(d)`.
        auto k = goro::tick(2ms);
        CHECK(k.len() == 0);
        CHECK(k.cap() == 0);
        int got = 0;
        auto quit = goro::after(10s);
        while (got < 3) {
          if (goro::select(goro::on_recv(k), goro::on_recv(quit)) != 0) break;
          ++got;
        }
        GO_CHECK_MESSAGE(got == 3, "threads=" << n);

        // A copy keeps the ticker going after the first handle is gone, and a goroutine that
        // owns the last copy keeps it too.
        auto copy = k;
        k = nullptr;
        CHECK(recv_for(copy, 10s).has_value());
        auto done = goro::make_chan<int>();
        goro::go([copy = std::move(copy), done] {
          int seen = 0;
          for (auto t : copy) {
            (void)t;
            if (++seen == 2) break;
          }
          done.send(seen);
        });
        auto seen = recv_for(done, 10s);
        GO_CHECK_MESSAGE(seen && *seen && **seen == 2, "threads=" << n);
      });

      // A goroutine still ranging over a tick when main returns is released; its channel,
      // and with it the ticker, stays with it (and is not reported as leaked).
      goro::go([] {
        for (auto t : goro::tick(1ms)) (void)t;
      });
      goro::sleep(3ms);
    });
  }
  // From a plain thread outside run (this one).
  {
    auto k = goro::tick(1ms);
    CHECK(k.recv().has_value());
    CHECK(k.recv().has_value());
  }
  // Many tick channels made and dropped, some with a tick waiting, some mid-firing: each
  // ticker stops and is freed with its channel (LeakSanitizer checks the freeing).
  run_on(2, [] {
    for (int i = 0; i < 200; ++i) {
      auto k = goro::tick(std::chrono::microseconds(50 + i % 7));
      if (i % 3 == 0) goro::sleep(100us);
      if (i % 5 == 0) k.recv();
    }
  });
}
