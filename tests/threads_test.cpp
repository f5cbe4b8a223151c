// docs/reference.md §1 (last rule): channels, select, timers and sync also work from plain threads,
// both talking to goroutines inside run and between threads with no runtime at all.
#include "test_util.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

using namespace goro_test;

TEST_CASE("a plain thread exchanges values with goroutines, unbuffered and buffered") {
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {0u, 1u, 16u}) {
      long from_thread = 0;
      long thread_got = 0;
      run_on(n, [&, cap] {
        constexpr int kN = 2000;
        auto to_go = goro::make_chan<int>(cap);
        auto to_thread = goro::make_chan<int>(cap);
        auto thread_done = goro::make_chan<goro::unit>(1);
        // The thread sends to goroutines and receives from them.
        std::thread t([&thread_got, to_go, to_thread, thread_done] {
          for (int i = 0; i < kN; ++i) to_go.send(i);
          to_go.close();
          for (int v : to_thread) thread_got += v;
          thread_done.send({});
        });
        // Several goroutines on the other side.
        goro::wait_group wg;
        auto sums = goro::make_chan<long>(4);
        for (int k = 0; k < 4; ++k) {
          wg.go([to_go, sums] {
            long s = 0;
            for (int v : to_go) s += v;
            sums.send(s);
          });
        }
        goro::wait_group senders;
        for (int k = 0; k < 4; ++k) {
          senders.go([to_thread, k] {
            for (int i = 0; i < kN / 4; ++i) to_thread.send(k * (kN / 4) + i);
          });
        }
        wg.wait();
        for (int k = 0; k < 4; ++k) from_thread += *sums.recv();
        senders.wait();
        to_thread.close();
        // Join only once the thread is known to be finishing: join blocks the worker.
        thread_done.recv();
        t.join();
      });
      constexpr long expect = 2000L * 1999 / 2;
      GO_CHECK_MESSAGE(from_thread == expect, "threads=" << n << " cap=" << cap);
      GO_CHECK_MESSAGE(thread_got == expect, "threads=" << n << " cap=" << cap);
    }
  }
}

TEST_CASE("a plain thread uses select against goroutines") {
  run_on(2, [] {
    auto a = goro::make_chan<int>();
    auto b = goro::make_chan<int>();
    auto quit = goro::make_chan<goro::unit>();
    auto result = goro::make_chan<long>(1);
    std::thread t([a, b, quit, result] {
      long sum = 0;
      for (;;) {
        bool stop = false;
        goro::select(goro::on_recv(a, [&](std::optional<int> v) { sum += *v; }),
                     goro::on_recv(b, [&](std::optional<int> v) { sum += 1000 * *v; }),
                     goro::on_recv(quit, [&](std::optional<goro::unit>) { stop = true; }));
        if (stop) break;
      }
      result.send(sum);
    });
    for (int i = 0; i < 100; ++i) {
      a.send(1);
      b.send(1);
    }
    quit.close();
    CHECK(*result.recv() == 100 * 1001);
    t.join();
  });
}

TEST_CASE("a goroutine waiting for a plain thread is not a deadlock") {
  // Only main is in the runtime, blocked on a channel that a live thread will feed later:
  // the runtime must wait for it, not report "all goroutines are asleep".
  const int r = run_on(1, [] {
    auto c = goro::make_chan<int>();
    std::thread t([c] {
      std::this_thread::sleep_for(200ms);
      c.send(7);
    });
    const int v = *c.recv();
    t.join();
    return v;
  });
  CHECK(r == 7);
  // The same through a mutex and a wait_group released by the thread.
  run_on(1, [] {
    goro::mutex mu;
    mu.lock();
    goro::wait_group wg;
    wg.add(1);
    std::thread t([&] {
      std::this_thread::sleep_for(100ms);
      mu.unlock();
      std::this_thread::sleep_for(100ms);
      wg.done();
    });
    mu.lock();
    wg.wait();
    mu.unlock();
    t.join();
  });
}

TEST_CASE("channels and select between plain threads, no runtime") {
  CHECK(goro::num_goroutine() == 0);
  // Unbuffered ping-pong.
  auto ping = goro::make_chan<int>();
  auto pong = goro::make_chan<int>();
  std::thread t([ping, pong] {
    for (int v : ping) pong.send(v + 1);
    pong.close();
  });
  int v = 0;
  for (int i = 0; i < 1000; ++i) {
    ping.send(v);
    v = *pong.recv();
  }
  ping.close();
  CHECK(v == 1000);
  CHECK(pong.recv() == std::nullopt);
  t.join();

  // Buffered, several producers and consumers.
  auto c = goro::make_chan<int>(8);
  std::atomic<long> sum{0};
  std::vector<std::thread> producers, consumers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([c, p] {
      for (int i = 0; i < 1000; ++i) c.send(p * 1000 + i);
    });
  }
  for (int k = 0; k < 3; ++k) {
    consumers.emplace_back([c, &sum] {
      for (int x : c) sum += x;
    });
  }
  for (auto& th : producers) th.join();
  c.close();
  for (auto& th : consumers) th.join();
  CHECK(sum.load() == 3000L * 2999 / 2);

  // Select with a blocking wait, a timeout and a default.
  auto a = goro::make_chan<int>();
  std::thread s([a] {
    std::this_thread::sleep_for(20ms);
    a.send(5);
  });
  int got = 0;
  CHECK(goro::select(goro::on_recv(a, [&](std::optional<int> x) { got = *x; }),
                     goro::on_recv(goro::after(10s))) == 0);
  CHECK(got == 5);
  s.join();
  CHECK(goro::select(goro::on_recv(a), goro::on_default()) == 1);
  CHECK(goro::select(goro::on_recv(a), goro::on_recv(goro::after(20ms))) == 1);

  // Close wakes a blocked receiver thread and makes a blocked sender thread throw. They use
  // separate channels so that they cannot meet each other.
  auto no_sender = goro::make_chan<int>();
  auto no_receiver = goro::make_chan<int>();
  std::atomic<int> woke{0};
  std::thread r1([no_sender, &woke] {
    if (!no_sender.recv()) ++woke;
  });
  std::thread s1([no_receiver, &woke] {
    try {
      no_receiver.send(1);
    } catch (const goro::panic_error& e) {
      if (std::string(e.what()) == "send on closed channel") ++woke;
    }
  });
  std::this_thread::sleep_for(20ms);
  CHECK(woke.load() == 0);
  no_sender.close();
  no_receiver.close();
  r1.join();
  s1.join();
  CHECK(woke.load() == 2);
}

TEST_CASE("sync types between plain threads, no runtime") {
  // mutex: mutual exclusion.
  goro::mutex mu;
  int counter = 0;
  {
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) {
      ts.emplace_back([&] {
        for (int k = 0; k < 5000; ++k) {
          std::lock_guard hold(mu);
          ++counter;
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  CHECK(counter == 20000);

  // A thread blocked on the mutex is released by an unlock from another thread.
  mu.lock();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    mu.lock();
    got = true;
    mu.unlock();
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(got.load());
  std::thread unlocker([&] { mu.unlock(); });
  unlocker.join();
  waiter.join();
  CHECK(got.load());

  // wait_group.
  goro::wait_group wg;
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    wg.add(1);
    ts.emplace_back([&] {
      std::this_thread::sleep_for(5ms);
      ++done;
      wg.done();
    });
  }
  wg.wait();
  CHECK(done.load() == 4);
  for (auto& t : ts) t.join();

  // rw_mutex: readers share, a writer excludes.
  goro::rw_mutex rw;
  std::atomic<int> readers{0}, max_readers{0};
  {
    std::vector<std::thread> rs;
    for (int i = 0; i < 3; ++i) {
      rs.emplace_back([&] {
        std::shared_lock hold(rw);
        const int now = ++readers;
        int m = max_readers.load();
        while (now > m && !max_readers.compare_exchange_weak(m, now)) {
        }
        // Wait (bounded) for the others to join, holding the read lock.
        const auto deadline = clock::now() + 10s;
        while (readers.load() < 3 && clock::now() < deadline) std::this_thread::sleep_for(1ms);
      });
    }
    for (auto& t : rs) t.join();
  }
  CHECK(max_readers.load() == 3);
  rw.lock();
  std::atomic<bool> reader_in{false};
  std::thread rt([&] {
    std::shared_lock hold(rw);
    reader_in = true;
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(reader_in.load());
  rw.unlock();
  rt.join();
  CHECK(reader_in.load());

  // once.
  goro::once o;
  std::atomic<int> calls{0};
  std::atomic<int> saw_unset{0};
  std::atomic<bool> value{false};
  {
    std::vector<std::thread> os;
    for (int i = 0; i < 4; ++i) {
      os.emplace_back([&] {
        o.call([&] {
          ++calls;
          std::this_thread::sleep_for(20ms);
          value = true;
        });
        if (!value.load()) ++saw_unset;
      });
    }
    for (auto& t : os) t.join();
  }
  CHECK(calls.load() == 1);
  CHECK(saw_unset.load() == 0);
}

TEST_CASE("mutex and wait_group shared between goroutines and a plain thread") {
  for (unsigned n : kThreadCounts) {
    int counter = 0;
    run_on(n, [&] {
      goro::mutex mu;
      goro::wait_group wg;
      wg.add(1);
      std::thread t([&] {
        for (int k = 0; k < 2000; ++k) {
          std::lock_guard hold(mu);
          ++counter;
        }
        wg.done();
      });
      for (int g = 0; g < 8; ++g) {
        wg.go([&] {
          for (int k = 0; k < 250; ++k) {
            std::lock_guard hold(mu);
            ++counter;
            if (k % 50 == 0) goro::yield();
          }
        });
      }
      wg.wait();
      t.join();
    });
    GO_CHECK_MESSAGE(counter == 4000, "threads=" << n);
  }
}
