// docs/reference.md §5, sync: wait_group, mutex, rw_mutex, once.
#include "test_util.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace goro_test;

namespace {

void check_negative_counter(const std::function<void()>& f) {
  try {
    f();
    FAIL_CHECK("expected panic_error(\"sync: negative WaitGroup counter\")");
  } catch (const goro::panic_error& e) {
    CHECK(std::string(e.what()) == "sync: negative WaitGroup counter");
  }
}

// Hammers a Lockable from many goroutines; returns (final counter, overlaps seen). The
// counter is a plain int on purpose: only mutual exclusion keeps the increments whole.
template <class Lock, class M>
std::pair<int, int> hammer(M& mu, int goroutines, int iters) {
  int counter = 0;
  std::atomic<bool> inside{false};
  std::atomic<int> overlaps{0};
  goro::wait_group wg;
  for (int g = 0; g < goroutines; ++g) {
    wg.go([&, g] {
      for (int i = 0; i < iters; ++i) {
        Lock hold(mu);
        if (inside.exchange(true)) ++overlaps;
        const int seen = counter;
        // Switch away inside the critical section now and then, so that others queue up
        // and park on the lock instead of always finding it free.
        if ((i + g) % 16 == 0) goro::yield();
        if ((i + g) % 97 == 0) goro::sleep(100us);
        counter = seen + 1;
        inside = false;
      }
    });
  }
  wg.wait();
  return {counter, overlaps.load()};
}

}  // namespace

TEST_CASE("wait_group: wait returns when every done has been called") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::wait_group wg;
      wg.wait();  // a zero counter: returns at once
      std::atomic<int> finished{0};
      constexpr int kG = 100;
      wg.add(kG);
      for (int i = 0; i < kG; ++i) {
        goro::go([&, i] {
          if (i % 3 == 0) goro::sleep(std::chrono::milliseconds(i % 7));
          ++finished;
          wg.done();
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(finished.load() == kG, "threads=" << n);

      // wg.go does the add and the done; the wait_group is reusable once at zero.
      std::atomic<int> ran{0};
      for (int i = 0; i < kG; ++i) wg.go([&] { ++ran; });
      wg.wait();
      GO_CHECK_MESSAGE(ran.load() == kG, "threads=" << n);

      // A signed delta: add(5) is undone by add(-5), which releases the waiters.
      wg.add(5);
      std::atomic<bool> released{false};
      goro::wait_group outer;
      outer.go([&] {
        wg.wait();
        released = true;
      });
      settle();
      CHECK_FALSE(released.load());
      wg.add(-3);
      settle();
      CHECK_FALSE(released.load());
      wg.add(-2);
      outer.wait();
      CHECK(released.load());
    });
  }
}

TEST_CASE("wait_group: several waiters are all released") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::wait_group wg;
      wg.add(1);
      std::atomic<int> released{0};
      goro::wait_group waiters;
      for (int i = 0; i < 20; ++i) {
        waiters.go([&] {
          wg.wait();
          ++released;
        });
      }
      settle();
      CHECK(released.load() == 0);
      wg.done();
      waiters.wait();
      GO_CHECK_MESSAGE(released.load() == 20, "threads=" << n);
    });
  }
}

TEST_CASE("wait_group: a negative counter panics with Go's message") {
  goro::wait_group a;
  check_negative_counter([&] { a.add(-1); });
  goro::wait_group b;
  check_negative_counter([&] { b.done(); });
  goro::wait_group c;
  c.add(2);
  c.done();
  c.done();
  check_negative_counter([&] { c.done(); });
  goro::wait_group d;
  d.add(3);
  check_negative_counter([&] { d.add(-4); });
  run_on(2, [] {
    goro::wait_group e;
    check_negative_counter([&] { e.done(); });
  });
}

TEST_CASE("wait_group: may be destroyed as soon as wait returns") {
  // If done() touched the wait_group after waking the waiter, the waiter's delete would race
  // with it: AddressSanitizer reports that as a heap-use-after-free.
  for (unsigned n : kThreadCounts) {
    run_on(n, [] {
      for (int i = 0; i < iterations(1000); ++i) {
        auto wg = std::make_unique<goro::wait_group>();
        const int doers = 1 + i % 3;
        wg->add(doers);
        for (int k = 0; k < doers; ++k) goro::go([p = wg.get()] { p->done(); });
        wg->wait();
        wg.reset();
      }
      // The same on the stack, with wg.go.
      for (int i = 0; i < iterations(500); ++i) {
        goro::wait_group wg;
        wg.go([] {});
        wg.go([] { goro::yield(); });
        wg.wait();
      }
    });
  }
}

TEST_CASE("mutex: mutual exclusion among many goroutines") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::mutex mu;
      {
        auto [counter, overlaps] = hammer<std::lock_guard<goro::mutex>>(mu, 50, 200);
        GO_CHECK_MESSAGE(counter == 50 * 200, "lock_guard threads=" << n);
        GO_CHECK_MESSAGE(overlaps == 0, "lock_guard threads=" << n);
      }
      {
        auto [counter, overlaps] = hammer<std::unique_lock<goro::mutex>>(mu, 50, 200);
        GO_CHECK_MESSAGE(counter == 50 * 200, "unique_lock threads=" << n);
        GO_CHECK_MESSAGE(overlaps == 0, "unique_lock threads=" << n);
      }
      // Plain lock()/unlock().
      struct manual {
        goro::mutex& m;
        explicit manual(goro::mutex& m) : m(m) { m.lock(); }
        ~manual() { m.unlock(); }
      };
      auto [counter, overlaps] = hammer<manual>(mu, 50, 200);
      GO_CHECK_MESSAGE(counter == 50 * 200, "lock/unlock threads=" << n);
      GO_CHECK_MESSAGE(overlaps == 0, "lock/unlock threads=" << n);
    });
  }
}

TEST_CASE("mutex: try_lock, std::unique_lock with try_to_lock and defer_lock") {
  goro::mutex mu;
  CHECK(mu.try_lock());
  CHECK_FALSE(mu.try_lock());
  mu.unlock();
  {
    std::unique_lock lock(mu, std::try_to_lock);
    CHECK(lock.owns_lock());
    std::unique_lock other(mu, std::try_to_lock);
    CHECK_FALSE(other.owns_lock());
  }
  std::unique_lock deferred(mu, std::defer_lock);
  CHECK_FALSE(deferred.owns_lock());
  deferred.lock();
  CHECK_FALSE(mu.try_lock());
  deferred.unlock();
  CHECK(mu.try_lock());
  mu.unlock();
}

TEST_CASE("mutex: a waiter blocks its goroutine, not the thread") {
  run_on(1, [] {
    goro::mutex mu;
    mu.lock();
    std::atomic<bool> got{false};
    goro::go([&] {
      std::lock_guard hold(mu);
      got = true;
    });
    // The one worker still runs other goroutines while the waiter waits.
    auto c = goro::make_chan<int>();
    goro::go([c] { c.send(5); });
    CHECK(*c.recv() == 5);
    settle();
    CHECK_FALSE(got.load());
    mu.unlock();
    CHECK(eventually([&] { return got.load(); }));
  });
}

TEST_CASE("mutex: may be unlocked by another goroutine or thread") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::mutex mu;
      auto locked = goro::make_chan<goro::unit>();
      // Locked by one goroutine, unlocked by another.
      goro::go([&mu, locked] {
        mu.lock();
        locked.send({});
      });
      locked.recv();
      CHECK_FALSE(mu.try_lock());
      auto unlocked = goro::make_chan<goro::unit>();
      goro::go([&mu, unlocked] {
        mu.unlock();
        unlocked.send({});
      });
      unlocked.recv();
      GO_CHECK_MESSAGE(mu.try_lock(), "threads=" << n);  // main holds it now
      // Locked by main, unlocked by a plain thread while a goroutine waits for it.
      std::atomic<bool> waiter_got_it{false};
      goro::wait_group wg;
      wg.go([&] {
        mu.lock();
        waiter_got_it = true;
        mu.unlock();
      });
      settle();
      CHECK_FALSE(waiter_got_it.load());
      std::thread t([&mu] { mu.unlock(); });
      wg.wait();
      t.join();
      GO_CHECK_MESSAGE(waiter_got_it.load(), "threads=" << n);
    });
  }
}

TEST_CASE("rw_mutex: readers hold it at the same time") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::rw_mutex rw;
      constexpr int kR = 10;
      std::atomic<int> inside{0}, all_inside{0};
      goro::wait_group wg;
      for (int i = 0; i < kR; ++i) {
        wg.go([&] {
          std::shared_lock hold(rw);
          ++inside;
          // Every reader waits, holding its read lock, until all are in: possible only if
          // they share the lock.
          if (eventually([&] { return inside.load() == kR; })) ++all_inside;
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(all_inside.load() == kR, "threads=" << n);
      // try_lock_shared succeeds while readers hold it, too.
      rw.lock_shared();
      CHECK(rw.try_lock_shared());
      rw.unlock_shared();
      rw.unlock_shared();
    });
  }
}

TEST_CASE("rw_mutex: a writer excludes readers and writers") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::rw_mutex rw;
      rw.lock();
      CHECK_FALSE(rw.try_lock());
      CHECK_FALSE(rw.try_lock_shared());
      std::atomic<int> readers_in{0};
      std::atomic<bool> writer_in{false};
      goro::wait_group wg;
      for (int i = 0; i < 5; ++i) {
        wg.go([&] {
          std::shared_lock hold(rw);
          ++readers_in;
        });
      }
      wg.go([&] {
        std::lock_guard hold(rw);
        writer_in = true;
      });
      settle();
      GO_CHECK_MESSAGE(readers_in.load() == 0, "threads=" << n);
      CHECK_FALSE(writer_in.load());
      rw.unlock();
      wg.wait();
      CHECK(readers_in.load() == 5);
      CHECK(writer_in.load());

      // And readers exclude a writer.
      rw.lock_shared();
      CHECK_FALSE(rw.try_lock());
      std::atomic<bool> w{false};
      wg.go([&] {
        rw.lock();
        w = true;
        rw.unlock();
      });
      settle();
      CHECK_FALSE(w.load());
      rw.unlock_shared();
      wg.wait();
      CHECK(w.load());
      CHECK(rw.try_lock());
      rw.unlock();
    });
  }
}

TEST_CASE("rw_mutex: a waiting writer blocks new readers") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::rw_mutex rw;
      rw.lock_shared();  // an old reader
      auto order = goro::make_chan<char>(2);
      goro::wait_group wg;
      wg.go([&] {
        rw.lock();  // waits for the old reader
        order.send('W');
        goro::sleep(10ms);
        rw.unlock();
      });
      GO_CHECK_MESSAGE(wait_parked(1), "threads=" << n);  // the writer is waiting now
      // A new reader may not overtake the waiting writer.
      GO_CHECK_MESSAGE(!rw.try_lock_shared(), "threads=" << n);
      wg.go([&] {
        rw.lock_shared();
        order.send('R');
        rw.unlock_shared();
      });
      settle();
      GO_CHECK_MESSAGE(order.len() == 0, "threads=" << n);  // neither got in yet
      rw.unlock_shared();  // the old reader leaves: the writer goes first
      wg.wait();
      GO_CHECK_MESSAGE(*order.recv() == 'W', "threads=" << n);
      GO_CHECK_MESSAGE(*order.recv() == 'R', "threads=" << n);
    });
  }
}

TEST_CASE("rw_mutex: invariants under a mixed load") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::rw_mutex rw;
      std::atomic<int> state{0};  // >0: readers inside; -1: a writer inside
      std::atomic<int> violations{0};
      int data = 0;  // written only under the write lock
      goro::wait_group wg;
      for (int r = 0; r < 20; ++r) {
        wg.go([&, r] {
          for (int i = 0; i < 100; ++i) {
            std::shared_lock hold(rw);
            if (state.fetch_add(1) < 0) ++violations;
            const int before = data;
            if ((i + r) % 10 == 0) goro::yield();
            if (data != before) ++violations;  // a writer got in
            state.fetch_sub(1);
          }
        });
      }
      for (int w = 0; w < 5; ++w) {
        wg.go([&, w] {
          for (int i = 0; i < 100; ++i) {
            std::unique_lock hold(rw);
            int expected = 0;
            if (!state.compare_exchange_strong(expected, -1)) ++violations;
            const int before = data;
            if ((i + w) % 10 == 0) goro::yield();
            data = before + 1;
            state = 0;
          }
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(violations.load() == 0, "threads=" << n);
      GO_CHECK_MESSAGE(data == 500, "threads=" << n);
    });
  }
}

TEST_CASE("once: f runs once, and the other callers wait for it") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::once o;
      std::atomic<int> calls{0};
      std::atomic<int> value{0};
      std::atomic<int> saw_unset{0};
      goro::wait_group wg;
      for (int i = 0; i < 50; ++i) {
        wg.go([&] {
          o.call([&] {
            ++calls;
            goro::sleep(20ms);  // the others arrive meanwhile and must wait
            value = 42;
          });
          if (value.load() != 42) ++saw_unset;
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(calls.load() == 1, "threads=" << n);
      GO_CHECK_MESSAGE(saw_unset.load() == 0, "threads=" << n);
      // Later calls, with any f, do nothing.
      o.call([&] { ++calls; });
      CHECK(calls.load() == 1);
    });
  }
}

TEST_CASE("once: f that throws counts as done, as in Go") {
  goro::once o;
  int calls = 0;
  CHECK_THROWS_AS(o.call([&] {
    ++calls;
    throw std::runtime_error("first");
  }),
                  std::runtime_error);
  o.call([&] { ++calls; });
  CHECK(calls == 1);
}
