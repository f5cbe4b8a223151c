// errgroup, the weighted semaphore and the leak check: golang.org/x/sync's tests ported,
// plus goleak's behaviour.
#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "support.hpp"

using goro::context_errc;

TEST_CASE("errgroup: the zero group waits and returns the first error") {
  test::run([] {
    auto err1 = std::make_error_code(std::errc::io_error);
    auto err2 = std::make_error_code(std::errc::no_such_file_or_directory);
    struct tc {
      std::vector<std::error_code> errs;
    };
    for (const tc& t : {tc{{}}, tc{{std::error_code()}}, tc{{err1}}, tc{{err1, std::error_code()}},
                        tc{{err1, std::error_code(), err2}}}) {
      goro::errgroup g;
      std::error_code first;
      for (std::size_t i = 0; i < t.errs.size(); ++i) {
        std::error_code e = t.errs[i];
        g.go([e] { return e; });
        if (!first) first = e;
        // Wait for it, so that "first" is well defined.
        std::exception_ptr got = g.wait();
        if (!first) {
          CHECK(!got);
        } else {
          REQUIRE(got);
          try {
            std::rethrow_exception(got);
          } catch (const std::system_error& ex) {
            CHECK(ex.code() == first);
          }
        }
      }
    }
  });
}

TEST_CASE("errgroup: errors as exception_ptr and as thrown exceptions") {
  test::run([] {
    goro::errgroup g;
    g.go([]() -> std::exception_ptr { return nullptr; });
    g.go([] {});
    CHECK(!g.wait());
    goro::errgroup g2;
    g2.go([] { throw std::runtime_error("thrown"); });
    CHECK(goro::error_message(g2.wait()) == "thrown");
    goro::errgroup g3;
    g3.go([]() -> std::exception_ptr {
      return std::make_exception_ptr(std::logic_error("returned"));
    });
    CHECK(goro::error_message(g3.wait()) == "returned");
  });
}

TEST_CASE("errors_is: Go's errors.Is over errgroup, result and cause errors") {
  test::run([] {
    // A Go `func() error` that returns context.Canceled, ported as a function returning
    // std::error_code.
    goro::errgroup g;
    g.go([]() -> std::error_code { return goro::context_errc::canceled; });
    g.go([] {});
    std::exception_ptr err = g.wait();
    CHECK(goro::errors_is(err, context_errc::canceled));
    CHECK_FALSE(goro::errors_is(err, context_errc::deadline_exceeded));
    CHECK(goro::error_message(err) == "context canceled");

    // No error: nothing is anything.
    goro::errgroup ok;
    ok.go([]() -> std::error_code { return {}; });
    CHECK(!ok.wait());
    CHECK_FALSE(goro::errors_is(nullptr, context_errc::canceled));

    // A context's own error, through with_context's cause.
    auto [g2, ctx] = goro::errgroup::with_context(goro::background());
    g2.go([]() -> std::error_code { return std::make_error_code(std::errc::io_error); });
    g2.go([c = ctx]() -> std::error_code {
      c.done().recv();
      return c.err();
    });
    CHECK(goro::errors_is(g2.wait(), std::errc::io_error));
    CHECK(goro::errors_is(goro::cause(ctx), std::make_error_code(std::errc::io_error)));
  });

  // result<T>::error(), other exceptions, conditions, and wrapped errors.
  auto r = goro::try_invoke(
      []() -> int { throw std::system_error(make_error_code(context_errc::deadline_exceeded)); });
  CHECK(goro::errors_is(r.error(), context_errc::deadline_exceeded));
  CHECK_FALSE(goro::errors_is(r.error(), context_errc::canceled));
  CHECK_FALSE(
      goro::errors_is(std::make_exception_ptr(std::runtime_error("x")), context_errc::canceled));
  CHECK_FALSE(goro::errors_is(std::make_exception_ptr(42), context_errc::canceled));
  auto timed_out = std::make_exception_ptr(
      std::system_error(std::make_error_code(std::errc::timed_out), "dial"));
  CHECK(goro::errors_is(timed_out, std::errc::timed_out));  // an error_condition
  CHECK_FALSE(goro::errors_is(timed_out, std::errc::io_error));
  // fmt.Errorf("fetch: %w", err): std::throw_with_nested, two levels deep.
  std::exception_ptr wrapped;
  try {
    try {
      try {
        throw std::system_error(make_error_code(context_errc::canceled));
      } catch (...) {
        std::throw_with_nested(std::runtime_error("fetch"));
      }
    } catch (...) {
      std::throw_with_nested(std::system_error(std::make_error_code(std::errc::io_error)));
    }
  } catch (...) {
    wrapped = std::current_exception();
  }
  CHECK(goro::errors_is(wrapped, context_errc::canceled));
  CHECK(goro::errors_is(wrapped, std::errc::io_error));
  CHECK_FALSE(goro::errors_is(wrapped, context_errc::deadline_exceeded));
}

TEST_CASE("errgroup::with_context: canceled by the first error, or by wait") {
  test::run([] {
    // One fails: the context is canceled with that error as its cause, which releases
    // the others.
    auto [g1, ctx1] = goro::errgroup::with_context(goro::background());
    for (int i = 0; i < 3; ++i) {
      g1.go([ctx = ctx1, i]() -> std::error_code {
        if (i == 1) return std::make_error_code(std::errc::io_error);
        ctx.done().recv();
        return {};
      });
    }
    std::exception_ptr err = g1.wait();
    REQUIRE(err);
    CHECK(ctx1.err() == context_errc::canceled);
    try {
      std::rethrow_exception(goro::cause(ctx1));
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::io_error);
    }
    // No error: wait() cancels the context when it returns.
    auto [g, ctx] = goro::errgroup::with_context(goro::background());
    g.go([] {});
    CHECK(!ctx.err());
    CHECK(!g.wait());
    CHECK(ctx.err() == context_errc::canceled);
  });
}

TEST_CASE("errgroup: set_limit bounds the active goroutines; try_go") {
  test::run([] {
    goro::errgroup g;
    g.set_limit(3);
    std::atomic<int> active{0}, most{0};
    for (int i = 0; i < 30; ++i) {
      g.go([&] {
        int now = ++active;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        goro::sleep(1ms);
        --active;
      });
    }
    CHECK(!g.wait());
    CHECK(most.load() <= 3);
    CHECK(most.load() >= 1);

    goro::errgroup t;
    t.set_limit(1);
    auto release = goro::make_chan<goro::unit>();
    CHECK(t.try_go([release] { release.recv(); }));
    CHECK(!t.try_go([] {}));  // full
    CHECK_THROWS_AS(t.set_limit(2), goro::panic_error);
    release.close();
    CHECK(!t.wait());
    CHECK(t.try_go([] {}));
    CHECK(!t.wait());
    t.set_limit(-1);  // no limit
    for (int i = 0; i < 5; ++i) CHECK(t.try_go([] {}));
    CHECK(!t.wait());
  });
}

TEST_CASE("errgroup: a moved group keeps its goroutines") {
  test::run([] {
    goro::errgroup g;
    g.go([] {
      goro::sleep(2ms);
      throw std::runtime_error("late");
    });
    goro::errgroup h = std::move(g);
    CHECK(goro::error_message(h.wait()) == "late");
  });
}

TEST_CASE("semaphore: acquire, try_acquire, release") {
  test::run([] {
    goro::semaphore s(2);
    CHECK(!s.acquire(goro::background(), 1));
    CHECK(s.try_acquire(1));
    CHECK(!s.try_acquire(1));
    s.release(2);
    CHECK(s.try_acquire(2));
    s.release(2);
    CHECK_THROWS_WITH_AS(s.release(1), "semaphore: released more than held", goro::panic_error);

    // Many goroutines; never more than the size at once.
    goro::semaphore sem(3);
    std::atomic<int> active{0}, most{0};
    goro::wait_group wg;
    for (int i = 0; i < 40; ++i) {
      wg.go([&] {
        CHECK(!sem.acquire(goro::background(), 1));
        int now = ++active;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        goro::yield();
        --active;
        sem.release(1);
      });
    }
    wg.wait();
    CHECK(most.load() <= 3);
  });
}

TEST_CASE("semaphore: waiters unwound at exit leave the queue; a holder's release is safe") {
  // A waiter's queue node lives on its acquire's stack. With unwind_at_exit the goroutines
  // still blocked when main returns are unwound in some order: if a waiter goes first, the
  // holder's destructor then releases, and the queue must not name the waiter any more:
  // once the run is over, nobody is queued.
  for (int round = 0; round < 6; ++round) {
    CAPTURE(round);
    goro::semaphore sem(1);  // outlives the run, whose unwinding uses it
    goro::options opts;
    opts.threads = round % 2 + 1;
    opts.unwind_at_exit = true;
    std::atomic<int> waiting{0};
    const int rc = goro::run(opts, [&] {
      REQUIRE(sem.try_acquire(1));  // the holder's unit, given back when it is unwound
      auto holder = [&sem] {
        struct release_on_unwind {
          goro::semaphore& s;
          ~release_on_unwind() { s.release(1); }
        } release{sem};
        goro::make_chan<int>().recv();  // parks until exit unwinds it
      };
      auto waiter = [&] {
        ++waiting;
        static_cast<void>(sem.acquire(goro::background(), 1));  // parks in the queue
        sem.release(1);
      };
      // The holder is made before the waiters in some rounds and after them in others, so
      // that the order in which exit unwinds them varies.
      if (round < 3) goro::go(holder);
      for (int i = 0; i < 3; ++i) goro::go(waiter);
      if (round >= 3) goro::go(holder);
      while (waiting.load() < 3) goro::yield();
      goro::sleep(20ms);  // every waiter is parked in the queue
    });
    CHECK(rc == 0);
    CHECK(sem.try_acquire(0));  // nobody is queued any more (x/sync: true iff no waiter)
  }
}

TEST_CASE("semaphore: a canceled or expired context fails the acquire and changes nothing") {
  test::run([] {
    goro::semaphore s(2);
    auto [done_ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    CHECK(s.acquire(done_ctx, 1) == context_errc::canceled);  // even though it is free
    CHECK(s.try_acquire(2));
    auto [ctx, stop] = goro::with_timeout(goro::background(), 5ms);
    CHECK(s.acquire(ctx, 1) == context_errc::deadline_exceeded);
    stop();
    s.release(2);
    CHECK(s.try_acquire(2));  // the failed acquire took nothing
    s.release(2);
    // More than the size: waits for the context.
    auto [ctx2, stop2] = goro::with_timeout(goro::background(), 5ms);
    CHECK(s.acquire(ctx2, 3) == context_errc::deadline_exceeded);
    stop2();
    CHECK(s.try_acquire(2));
    s.release(2);
  });
}

TEST_CASE("semaphore: waiters are served in order; a large one is not starved") {
  test::run([] {
    goro::semaphore s(2);
    CHECK(!s.acquire(goro::background(), 1));
    auto order = goro::make_chan<int>(3);
    goro::wait_group wg;
    wg.go([&] {
      CHECK(!s.acquire(goro::background(), 2));  // waits for the one held above
      order.send(2);
      s.release(2);
    });
    goro::sleep(5ms);
    wg.go([&] {
      CHECK(!s.acquire(goro::background(), 1));  // would fit, but queues behind the 2
      order.send(1);
      s.release(1);
    });
    goro::sleep(5ms);
    CHECK(!s.try_acquire(1));  // a waiter is queued: no barging
    s.release(1);
    wg.wait();
    CHECK(*order.recv() == 2);
    CHECK(*order.recv() == 1);

    // x/sync's TestAllocCancelDoesntStarve: a canceled large waiter at the head lets the
    // small ones behind it go.
    goro::semaphore t(10);
    CHECK(!t.acquire(goro::background(), 1));
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto big = goro::make_chan<std::error_code>(1);
    goro::go([&t, ctx = ctx, big] { big.send(t.acquire(ctx, 10)); });
    goro::sleep(5ms);
    auto small = goro::make_chan<std::error_code>(1);
    goro::go([&t, small] { small.send(t.acquire(goro::background(), 1)); });
    goro::sleep(5ms);
    cancel();
    CHECK(*big.recv() == context_errc::canceled);
    CHECK(!*small.recv());
    t.release(2);
  });
}

namespace {
void leak_one(goro::chan<goro::unit> hold) {
  goro::go([hold] { hold.recv(); });  // this line is named in the report
}
}  // namespace

TEST_CASE("leak_check: passes when the goroutines end, even a little later") {
  test::run([] {
    goro::testing::leak_check leaks;
    goro::go([] { goro::sleep(30ms); });
    auto done = goro::make_chan<goro::unit>();
    auto out = goro::take(done, goro::repeat(done, 1), 3);
    (void)test::drain(out);
    done.close();
  });
}

TEST_CASE("leak_check: reports goroutines that outlive it, with where they were created") {
  test::run([] {
    auto hold = goro::make_chan<goro::unit>();
    bool threw = false;
    try {
      goro::testing::leak_check leaks(nullptr, 50ms);
      leak_one(hold);
    } catch (const goro::testing::leak_error& e) {
      threw = true;
      std::string what = e.what();
      CHECK(what.starts_with("found unexpected goroutines:"));
      CHECK(what.find("sync_ext_test.cpp") != std::string::npos);
      CHECK(what.find("chan receive") != std::string::npos);
      REQUIRE(e.leaked().size() == 1);
      CHECK(e.leaked()[0].created_file.find("sync_ext_test.cpp") != std::string::npos);
    }
    CHECK(threw);
    hold.close();

    // A handler instead of the exception; a pattern's goroutine names the caller's line.
    std::vector<goro::goroutine_info> reported;
    auto done = goro::make_chan<goro::unit>();
    {
      goro::testing::leak_check leaks([&](const auto& leaked) { reported = leaked; }, 50ms);
      (void)goro::repeat(done, std::vector<int>{1});
    }
    REQUIRE(reported.size() == 1);
    CHECK(reported[0].created_file.find("sync_ext_test.cpp") != std::string::npos);
    done.close();

    // check(): the report as a value; the destructor then stays quiet.
    auto hold2 = goro::make_chan<goro::unit>();
    {
      goro::testing::leak_check leaks(nullptr, 20ms);
      leak_one(hold2);
      CHECK(leaks.check().size() == 1);
    }
    hold2.close();
    CHECK(test::back_to(1));
  });
}
