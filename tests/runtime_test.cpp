// docs/reference.md §1, the runtime: run, go, yield, num_goroutine, gomaxprocs, goroutine_id,
// options.
#include "test_util.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace goro_test;

namespace {

// Starts `k` goroutines that each spin (without yielding to goro) until all `k` have
// arrived or `limit` passes. They can all arrive only if `k` workers run them at once.
// Returns whether they all did and how many distinct threads ran them.
struct parallel_probe {
  bool all_arrived = false;
  std::size_t distinct_threads = 0;
};
parallel_probe probe_parallelism(int k, clock::duration limit) {
  std::atomic<int> arrived{0};
  std::atomic<int> saw_all{0};
  std::mutex mu;  // a plain std::mutex: held for a moment, never across a goro switch
  std::set<std::thread::id> threads;
  goro::wait_group wg;
  for (int i = 0; i < k; ++i) {
    wg.go([&] {
      {
        std::lock_guard lock(mu);
        threads.insert(std::this_thread::get_id());
      }
      ++arrived;
      const auto deadline = clock::now() + limit;
      while (arrived.load() < k && clock::now() < deadline) std::this_thread::yield();
      if (arrived.load() >= k) ++saw_all;
    });
  }
  wg.wait();
  return {saw_all.load() == k, threads.size()};
}

}  // namespace

TEST_CASE("run returns main's int result") {
  CHECK(goro::run([] { return 42; }) == 42);
  CHECK(goro::run([] { return -3; }) == -3);
  CHECK(goro::run(goro::options{.threads = 2}, [] { return 7; }) == 7);
  // The result may come from work done by other goroutines.
  CHECK(run_on(2, [] {
          auto c = goro::make_chan<int>();
          goro::go([c] { c.send(40); });
          return *c.recv() + 2;
        }) == 42);
}

TEST_CASE("run returns 0 for a void main and runs it exactly once") {
  int ran = 0;
  CHECK(goro::run([&] { ++ran; }) == 0);
  CHECK(ran == 1);
  CHECK(run_on(3, [&] { ++ran; }) == 0);
  CHECK(ran == 2);
}

TEST_CASE("run can be called many times in one process") {
  for (int i = 0; i < 60; ++i) {
    const unsigned n = kThreadCounts[i % 3];
    const int r = run_on(n, [i] {
      // Each run is a fresh runtime: main is goroutine 1 and alone again.
      CHECK(goro::goroutine_id() == 1);
      CHECK(goro::num_goroutine() == 1);
      auto c = goro::make_chan<int>();
      goro::wait_group wg;
      for (int j = 0; j < 10; ++j) wg.go([c, j] { c.send(j); });
      int sum = 0;
      for (int j = 0; j < 10; ++j) sum += *c.recv();
      wg.wait();
      return sum + i;
    });
    CHECK(r == 45 + i);
  }
  // Outside run the runtime is gone.
  CHECK(goro::num_goroutine() == 0);
  CHECK(goro::goroutine_id() == 0);
}

TEST_CASE("run returns promptly while other goroutines are blocked forever") {
  for (unsigned n : kThreadCounts) {
    CAPTURE(n);
    const auto start = clock::now();
    const int r = run_on(n, [] {
      // Shared state lives in shared_ptrs: the blocked goroutines outlive main's frame.
      // Receivers and senders get channels of their own so that they cannot meet.
      auto no_sender = goro::make_chan<int>();
      auto no_receiver = goro::make_chan<int>();
      auto full = goro::make_chan<std::unique_ptr<int>>(1);
      full.send(std::make_unique<int>(0));
      goro::chan<int> nil;
      auto mu = std::make_shared<goro::mutex>();
      mu->lock();
      auto rw = std::make_shared<goro::rw_mutex>();
      rw->lock();
      auto wg = std::make_shared<goro::wait_group>();
      wg->add(1);
      for (int i = 0; i < 10; ++i) {
        goro::go([no_sender] { no_sender.recv(); });
        goro::go([no_receiver] { no_receiver.send(1); });
        goro::go([full] { full.send(std::make_unique<int>(1)); });
        goro::go([nil] { nil.recv(); });
        goro::go([nil] { nil.send(1); });
        goro::go([] { goro::select(); });
        goro::go([no_sender, nil] {
          goro::select(goro::on_recv(nil), goro::on_recv(no_sender), goro::on_send(nil, 2));
        });
        goro::go([] { goro::sleep(1h); });
        goro::go([] { goro::after(1h).recv(); });
        goro::go([mu] { mu->lock(); });
        goro::go([rw] { rw->lock_shared(); });
        goro::go([wg] { wg->wait(); });
      }
      // A ticker left running and an after_func that would fire much later.
      static std::atomic<int> late_fired{0};
      goro::after_func(1h, [] { ++late_fired; });
      auto tick = std::make_shared<goro::ticker>(1ms);
      goro::go([tick] {
        for (auto t : tick->c()) (void)t;
      });
      goro::sleep(10ms);  // let them all block
      CHECK(goro::num_goroutine() > 100);
      return 5;
    });
    CHECK(r == 5);
    // "Promptly": nowhere near the hour the sleepers wait for. Generous for a loaded box.
    CHECK(clock::now() - start < 10s * kSlow);
  }
}

TEST_CASE("run returns promptly while another goroutine keeps yielding") {
  // A goroutine that is runnable rather than blocked must not keep the program alive
  // either: Go's exit ends it.
  for (unsigned n : kThreadCounts) {
    CAPTURE(n);
    const auto start = clock::now();
    run_on(n, [] {
      static std::atomic<bool> spinning{false};
      spinning = false;
      goro::go([] {
        for (;;) {
          spinning = true;
          goro::yield();
        }
      });
      CHECK(eventually([] { return spinning.load(); }));
    });
    CHECK(clock::now() - start < 10s * kSlow);
  }
}

namespace {

// Makes the compiler assume that p escapes, so that an allocation is not elided.
void keep(void* p) {
  asm volatile("" : : "r"(p) : "memory");
}

// Parks 60 goroutines that own heap memory (on a receive, a send and a sleep), each with a
// guard that counts its destruction, then returns from main.
void park_sixty_and_return(std::atomic<int>& destroyed) {
  struct on_unwind {
    std::atomic<int>* destroyed;
    ~on_unwind() { ++*destroyed; }
  };
  auto recvs = goro::make_chan<std::unique_ptr<int>>();
  auto sends = goro::make_chan<std::unique_ptr<int>>();
  for (int i = 0; i < 20; ++i) {
    goro::go([recvs, &destroyed] {
      on_unwind guard{&destroyed};
      auto owned = std::make_unique<int>(1);
      keep(owned.get());
      recvs.recv();
    });
    goro::go([sends, &destroyed] {
      on_unwind guard{&destroyed};
      sends.send(std::make_unique<int>(2));
    });
    goro::go([&destroyed] {
      on_unwind guard{&destroyed};
      goro::sleep(1h);
    });
  }
  CHECK(goro::num_goroutine() == 61);
  // All must have reached their blocking calls: one that never started has no guard yet.
  CHECK(wait_parked(60));
  CHECK(destroyed.load() == 0);
}

}  // namespace

TEST_CASE("goroutines still blocked when main returns are released, as Go abandons them") {
  // runtime.hpp: "those that are blocked or waiting to run are released (they never run
  // again and their destructors do not run)". DESIGN §7: nothing is reported as leaked:
  // LeakSanitizer must not count the heap memory they still own (their stacks are roots).
  static std::atomic<int> destroyed{0};
  for (unsigned n : kThreadCounts) {
    CAPTURE(n);
    destroyed = 0;
    run_on(n, [] { park_sixty_and_return(destroyed); });
    CHECK(destroyed.load() == 0);
  }
}

TEST_CASE("a goroutine released at exit stays asleep when a later run wakes its channel") {
  // A channel that outlives run keeps its released receiver queued: a later run's send
  // hands its value there, and the released goroutine is not resumed (it belongs to a
  // runtime that is gone).
  static std::atomic<int> resumed{0};
  auto c = goro::make_chan<int>();
  run_on(2, [c] {
    goro::go([c] {
      c.recv();
      ++resumed;
    });
    CHECK(wait_parked(1));
  });
  run_on(2, [c] {
    bool sent = false;
    goro::select(goro::on_send(c, 1, [&] { sent = true; }), goro::on_default());
    CHECK(sent);  // the released receiver took it
    goro::sleep(10ms);
  });
  CHECK(resumed.load() == 0);
}

TEST_CASE("with unwind_at_exit, goroutines still blocked when main returns are unwound") {
  // runtime.hpp: "With options::unwind_at_exit they are unwound instead: [...] their
  // destructors run, and they are freed". LeakSanitizer checks the freeing.
  static std::atomic<int> destroyed{0};
  for (unsigned n : kThreadCounts) {
    CAPTURE(n);
    destroyed = 0;
    run_unwinding(n, [] { park_sixty_and_return(destroyed); });
    CHECK(destroyed.load() == 60);
  }
}

TEST_CASE("with unwind_at_exit, many blocked goroutines are unwound by several threads") {
  // A large drain is shared out between threads (run.cpp, drain): each goroutine must
  // still be unwound exactly once, whatever it waits on, with nothing leaked (LeakSanitizer)
  // and no race between the shares (ThreadSanitizer).
  static std::atomic<int> destroyed{0};
  struct on_unwind {
    ~on_unwind() { ++destroyed; }
  };
  constexpr int kEach = live(3000) / 3;
  for (unsigned n : {2u, 4u}) {
    CAPTURE(n);
    destroyed = 0;
    run_unwinding(n, [] {
      auto c = goro::make_chan<std::unique_ptr<int>>();  // nobody sends
      auto d = goro::make_chan<std::unique_ptr<int>>();  // nobody receives
      auto mu = std::make_shared<goro::mutex>();
      mu->lock();
      for (int i = 0; i < kEach; ++i) {
        goro::go([c] {
          on_unwind guard;
          auto owned = std::make_unique<int>(1);
          keep(owned.get());
          c.recv();
        });
        goro::go([c, d] {
          on_unwind guard;
          goro::select(goro::on_recv(c), goro::on_send(d, std::make_unique<int>(2)),
                       goro::on_recv(goro::after(std::chrono::hours(1))));
        });
        goro::go([mu] {
          on_unwind guard;
          std::lock_guard<goro::mutex> hold(*mu);
        });
      }
      CHECK(wait_parked(3 * kEach, 60s));
    });
    CHECK(destroyed.load() == 3 * kEach);
  }
}

TEST_CASE("after main_fn returns, no goroutine resumes its normal code (runtime.hpp)") {
  // runtime.hpp: "From that moment no goroutine resumes its normal code: those that are
  // blocked or waiting to run are released" (or unwound). A Go-shaped program whose goroutines use
  // main's locals must not touch them once main's scope is gone. With one worker the moment is
  // exact: nothing runs beside main. `ended` flips as main's locals are destroyed; goroutines
  // that yield in a loop, and receivers that main's last act made runnable (closing their
  // channel), count each time they run on past it.
  static std::atomic<bool> ended{false};
  static std::atomic<int> ran_after_main{0}, unwound{0};
  struct main_local {
    ~main_local() { ended = true; }
  };
  struct on_unwind {
    ~on_unwind() { ++unwound; }
  };
  for (const bool unwind : {false, true}) {
    CAPTURE(unwind);
    ended = false;
    ran_after_main = 0;
    unwound = 0;
    goro::run(goro::options{.threads = 1, .unwind_at_exit = unwind}, [] {
      main_local local;
      auto c = goro::make_chan<int>();
      for (int i = 0; i < 50; ++i) {
        goro::go([] {
          on_unwind guard;
          for (;;) {
            goro::yield();
            if (ended) ++ran_after_main;
          }
        });
        goro::go([c] {
          on_unwind guard;
          c.recv();
          if (ended) ++ran_after_main;
        });
      }
      CHECK(wait_parked(50));
      c.close();  // every receiver is runnable now, and so are the yielders
    });
    CHECK(ended.load());
    CHECK(ran_after_main.load() == 0);
    CHECK(unwound.load() == (unwind ? 100 : 0));
  }
}

TEST_CASE("defer runs at the end of its scope, in reverse order, and during exceptions") {
  std::vector<int> order;
  {
    goro::defer a{[&] { order.push_back(1); }};
    goro::defer b{[&] { order.push_back(2); }};
    order.push_back(0);
  }
  CHECK(order == std::vector<int>{0, 2, 1});

  // A panic (an exception) runs the defers of the scopes it leaves.
  order.clear();
  try {
    goro::defer a{[&] { order.push_back(3); }};
    throw std::runtime_error("panic");
  } catch (const std::runtime_error&) {
    order.push_back(4);
  }
  CHECK(order == std::vector<int>{3, 4});

  // An exception from the deferred call propagates, as a panic in a deferred call does.
  bool caught = false;
  try {
    goro::defer a{[] { throw std::runtime_error("from defer"); }};
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "from defer";
  }
  CHECK(caught);

  // In goroutines: defer close(c) and defer wg.Done(), also on a goroutine that throws and
  // recovers, and on one that blocked and moved between workers first.
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto c = goro::make_chan<int>();
      goro::wait_group wg;
      std::atomic<int> recovered{0};
      wg.add(2);
      goro::go([c, &wg] {
        goro::defer done{[&wg] { wg.done(); }};
        goro::defer close_c{[c] { c.close(); }};
        for (int i = 0; i < 100; ++i) c.send(i);
      });
      goro::go([&wg, &recovered] {
        goro::defer done{[&wg] { wg.done(); }};
        try {
          goro::defer count{[&recovered] { ++recovered; }};
          goro::sleep(1ms);
          throw std::runtime_error("panic");
        } catch (const std::runtime_error&) {
        }
      });
      int sum = 0;
      for (int v : c) sum += v;  // ends only because the deferred close ran
      wg.wait();
      GO_CHECK_MESSAGE(sum == 4950, "threads=" << n);
      GO_CHECK_MESSAGE(recovered.load() == 1, "threads=" << n);
    });
  }
}

TEST_CASE("defer is skipped when run's return unwinds a blocked goroutine, as Go abandons it") {
  // Go does not run the defers of goroutines still blocked when main returns. With
  // unwind_at_exit goro unwinds them so that their destructors free what they hold (the
  // guards below count that), but a goro::defer skips its call then. Released (the
  // default), they run neither.
  static std::atomic<int> destroyed{0}, deferred{0};
  struct on_unwind {
    ~on_unwind() { ++destroyed; }
  };
  for (unsigned n : kThreadCounts) {
    for (const bool unwind : {false, true}) {
      destroyed = 0;
      deferred = 0;
      goro::run(goro::options{.threads = n, .unwind_at_exit = unwind}, [] {
        auto never = goro::make_chan<int>();
        auto finished = goro::make_chan<int>();
        for (int i = 0; i < 10; ++i) {
          goro::go([never] {
            on_unwind guard;
            goro::defer d{[] { ++deferred; }};
            never.recv();
          });
          goro::go([] {
            goro::defer d{[] { ++deferred; }};
            on_unwind guard;  // destroyed before the defer runs (or is skipped)
            goro::sleep(1h);
          });
        }
        // One that ends before main does runs its defer.
        goro::go([finished] {
          goro::defer d{[] { deferred += 100; }};
          finished.send(1);
        });
        CHECK(recv_for(finished, 10s).has_value());
        CHECK(eventually([] { return deferred.load() == 100; }));
        CHECK(wait_parked(20));
      });
      // Unwound or released, without their defers.
      GO_CHECK_MESSAGE(destroyed.load() == (unwind ? 20 : 0),
                       "threads=" << n << " unwind=" << unwind);
      GO_CHECK_MESSAGE(deferred.load() == 100, "threads=" << n << " unwind=" << unwind);
    }
  }
  // On a plain thread the defer always runs.
  deferred = 0;
  std::thread([] { goro::defer d{[] { ++deferred; }}; }).join();
  CHECK(deferred.load() == 1);
}

TEST_CASE("rand: math/rand's top-level functions") {
  // intn: uniform over [0, n); 10,000 draws put about 1,000 in each of 10 buckets (the
  // standard deviation is 30: 800 is 6.7 of them away).
  std::array<int, 10> buckets{};
  int outside = 0;
  for (int i = 0; i < 10000; ++i) {
    const int v = goro::rand::intn(10);
    if (v >= 0 && v < 10) {
      ++buckets[static_cast<std::size_t>(v)];
    } else {
      ++outside;
    }
  }
  CHECK(outside == 0);
  for (int b : buckets) CHECK(b > 800);
  CHECK(goro::rand::intn(1) == 0);
  // A bound that is not a power of two, near the top of the range: still below it.
  bool in_range = true;
  for (int i = 0; i < 1000; ++i) {
    in_range = in_range && goro::rand::int63n(std::int64_t{3} << 61) < (std::int64_t{3} << 61) &&
               goro::rand::int31n(2000000011) < 2000000011 && goro::rand::int63() >= 0 &&
               goro::rand::int31() >= 0;
  }
  CHECK(in_range);
  // Go panics on n <= 0, with these words.
  auto panics_with = [](auto f, const std::string& text) {
    try {
      f();
    } catch (const goro::panic_error& e) {
      return e.what() == text;
    }
    return false;
  };
  CHECK(panics_with([] { goro::rand::intn(0); }, "invalid argument to Intn"));
  CHECK(panics_with([] { goro::rand::intn(-3); }, "invalid argument to Intn"));
  CHECK(panics_with([] { goro::rand::int63n(0); }, "invalid argument to Int63n"));
  CHECK(panics_with([] { goro::rand::int31n(-1); }, "invalid argument to Int31n"));
  CHECK(
      panics_with([] { goro::rand::shuffle(-1, [](int, int) {}); }, "invalid argument to Shuffle"));
  CHECK(panics_with([] { goro::rand::perm(-1); }, "makeslice: len out of range"));

  // float64: [0, 1), mean about 1/2 (the standard deviation of the mean is 0.003).
  double sum = 0;
  bool high_bit = false, unit_interval = true;
  for (int i = 0; i < 10000; ++i) {
    const double f = goro::rand::float64();
    const float g = goro::rand::float32();
    unit_interval = unit_interval && f >= 0.0 && f < 1.0 && g >= 0.0f && g < 1.0f;
    sum += f;
    high_bit = high_bit || (goro::rand::uint32() >> 31) != 0;
  }
  CHECK(unit_interval);
  CHECK(sum / 10000 > 0.48);
  CHECK(sum / 10000 < 0.52);
  CHECK(high_bit);

  // shuffle: a permutation, not the identity (1 chance in 100!), swap never called for
  // fewer than two elements; perm likewise.
  std::vector<int> xs(100);
  std::iota(xs.begin(), xs.end(), 0);
  goro::rand::shuffle(xs.size(), [&](std::size_t a, std::size_t b) { std::swap(xs[a], xs[b]); });
  std::vector<int> sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(xs != identity);
  int swaps = 0;
  goro::rand::shuffle(0, [&](int, int) { ++swaps; });
  goro::rand::shuffle(1u, [&](unsigned, unsigned) { ++swaps; });
  CHECK(swaps == 0);
  std::vector<int> p = goro::rand::perm(50);
  std::sort(p.begin(), p.end());
  CHECK(p == std::vector<int>(identity.begin(), identity.begin() + 50));
  CHECK(goro::rand::perm(0).empty());
  // Every permutation of three is about equally likely (6,000 shuffles: 1,000 each, the
  // standard deviation 29).
  std::map<std::vector<int>, int> seen;
  for (int i = 0; i < 6000; ++i) {
    std::vector<int> t{0, 1, 2};
    goro::rand::shuffle(3, [&](int a, int b) {
      std::swap(t[static_cast<std::size_t>(a)], t[static_cast<std::size_t>(b)]);
    });
    ++seen[t];
  }
  CHECK(seen.size() == 6);
  for (const auto& [perm, count] : seen) CHECK(count > 800);
}

TEST_CASE("rand: seeded per thread from a random source, safe from every goroutine") {
  // Two threads (and two runs of this test) draw different numbers: a constant seed would
  // give the same ones.
  auto draw = [] {
    std::vector<std::uint64_t> v;
    for (int i = 0; i < 4; ++i) v.push_back(goro::rand::uint64());
    return v;
  };
  std::vector<std::uint64_t> a, b;
  std::thread ta([&] { a = draw(); });
  std::thread tb([&] { b = draw(); });
  ta.join();
  tb.join();
  CHECK(a != b);

  // Goroutines on every worker draw at once, moving between workers as they sleep
  // (ThreadSanitizer would see a shared generator).
  for (unsigned n : kThreadCounts) {
    goro::options opts{.threads = n};
    opts.debug_migrate = true;
    goro::run(opts, [n] {
      std::atomic<int> out_of_range{0};
      std::atomic<std::uint64_t> ones{0};
      goro::wait_group wg;
      for (int g = 0; g < 8; ++g) {
        wg.go([&] {
          for (int i = 0; i < 2000; ++i) {
            const int v = goro::rand::intn(7);
            if (v < 0 || v >= 7) ++out_of_range;
            ones += static_cast<std::uint64_t>(__builtin_popcountll(goro::rand::uint64()));
            if (i % 500 == 0) goro::sleep(100us);
          }
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(out_of_range.load() == 0, "threads=" << n);
      // Half the bits set, on the whole: 16,000 draws of 64 bits, 512,000 expected.
      GO_CHECK_MESSAGE(ones.load() > 500000 && ones.load() < 524000, "threads=" << n);
    });
  }
}

TEST_CASE("go decay-copies f and its arguments, like std::thread") {
  run_on(2, [] {
    auto out = goro::make_chan<std::string>();
    auto gate = goro::make_chan<goro::unit>();

    // An argument is copied when go() is called: later changes to the original are not seen,
    // even though f takes a reference.
    std::string s = "original";
    goro::go(
        [gate, out](const std::string& arg) {
          gate.recv();
          out.send(arg);
        },
        s);
    s = "changed";
    gate.send({});
    CHECK(*out.recv() == "original");

    // The callable is copied too.
    struct fn {
      std::string v;
      goro::chan<std::string> out;
      goro::chan<goro::unit> gate;
      void operator()() const {
        gate.recv();
        out.send(v);
      }
    };
    fn f{"first", out, gate};
    goro::go(f);
    f.v = "second";
    gate.send({});
    CHECK(*out.recv() == "first");

    // A string literal decays to const char*, a function to a function pointer.
    goro::go([out](const char* p) { out.send(p); }, "literal");
    CHECK(*out.recv() == "literal");
    static goro::chan<std::string> fn_out;
    fn_out = out;
    struct free_fn {
      static void send_twice(int x) { fn_out.send(std::to_string(2 * x)); }
    };
    goro::go(free_fn::send_twice, 21);
    CHECK(*out.recv() == "42");
    fn_out = nullptr;

    // Move-only arguments and callables are moved in.
    auto ints = goro::make_chan<int>();
    auto p = std::make_unique<int>(5);
    goro::go([ints](std::unique_ptr<int> q) { ints.send(*q); }, std::move(p));
    CHECK(p == nullptr);
    CHECK(*ints.recv() == 5);
    auto owned = std::make_unique<int>(6);
    goro::go([ints, q = std::move(owned)] { ints.send(*q); });
    CHECK(*ints.recv() == 6);

    // A member function with its object, as std::thread (std::invoke) takes them.
    struct adder {
      goro::chan<int> out;
      void add(int a, int b) const { out.send(a + b); }
    };
    const adder ad{ints};
    goro::go(&adder::add, &ad, 2, 3);
    CHECK(*ints.recv() == 5);

    // std::ref passes a reference, as with std::thread.
    int target = 0;
    goro::go(
        [gate](int& r) {
          r = 9;
          gate.send({});
        },
        std::ref(target));
    gate.recv();
    CHECK(target == 9);

    // An lvalue argument is copied exactly once (into the goroutine), an rvalue never.
    tracked::reset();
    tracked t(3);
    goro::go([ints](tracked x) { ints.send(x.v); }, t);
    CHECK(*ints.recv() == 3);
    CHECK(tracked::copies.load() == 1);
    tracked::reset();
    goro::go([ints](tracked x) { ints.send(x.v); }, tracked(4));
    CHECK(*ints.recv() == 4);
    CHECK(tracked::copies.load() == 0);
  });
}

TEST_CASE("go takes closures of any size and alignment, and survives a throwing copy") {
  run_on(2, [] {
    auto sums = goro::make_chan<std::uint64_t>();
    // Bigger than a g can hold: the closure goes to the top of the goroutine's stack.
    std::array<std::uint64_t, 1024> big{};
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = i;
    goro::go([sums, big] { sums.send(std::accumulate(big.begin(), big.end(), std::uint64_t{0})); });
    CHECK(*sums.recv() == 1023 * 1024 / 2);
    // Over-aligned callables keep their alignment, small or big.
    struct alignas(64) small_aligned {
      goro::chan<std::uint64_t> out;
      void operator()() const { out.send(reinterpret_cast<std::uintptr_t>(this) % 64); }
    };
    goro::go(small_aligned{sums});
    CHECK(*sums.recv() == 0);
    struct alignas(256) big_aligned {
      goro::chan<std::uint64_t> out;
      void operator()() const { out.send(reinterpret_cast<std::uintptr_t>(this) % 256); }
    };
    goro::go(big_aligned{sums});
    CHECK(*sums.recv() == 0);
    goro::go_with_stack(1 << 20, [sums] { sums.send(7); });  // a small closure, its own stack
    CHECK(*sums.recv() == 7);

    // A copy that throws leaves no goroutine behind and its memory reusable.
    struct bomb {
      bool armed = true;
      bomb() = default;
      bomb(const bomb& o) : armed(o.armed) {
        if (armed) throw std::runtime_error("copy");
      }
    };
    // The goroutines above have sent their values but may not have exited yet.
    REQUIRE(eventually([] { return goro::num_goroutine() == 1; }));
    const std::size_t before = goro::num_goroutine();
    const bomb b;
    const std::array<char, 4096> padding{};
    for (int i = 0; i < 200; ++i) {
      CHECK_THROWS_AS(goro::go([](const bomb&) {}, b), std::runtime_error);
      CHECK_THROWS_AS(goro::go([padding](const bomb&) { (void)padding; }, b), std::runtime_error);
    }
    CHECK(goro::num_goroutine() == before);
    goro::go([sums] { sums.send(1); });
    CHECK(*sums.recv() == 1);
  });
}

namespace {
std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  REQUIRE(f != nullptr);
  unsigned long size = 0, resident = 0;
  REQUIRE(std::fscanf(f, "%lu %lu", &size, &resident) == 2);
  std::fclose(f);
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}
}  // namespace

TEST_CASE("a goroutine takes its stack when it first runs, not when it is spawned") {
  // One worker, and main does not block while it spawns: none of the goroutines runs until
  // main waits. Spawned, they cost a g each (under half a KiB); once each has run and
  // parked, a stack page too.
  static constexpr int kGoroutines = live(5000);
  run_on(1, [] {
    auto gate = goro::make_chan<goro::unit>();
    goro::wait_group started;
    started.add(kGoroutines);
    std::atomic<int> ran{0};
    const std::size_t rss0 = resident_bytes();
    for (int i = 0; i < kGoroutines; ++i) {
      goro::go([&, gate] {
        ++ran;
        started.done();
        gate.recv();
      });
    }
    CHECK(ran.load() == 0);
    const std::size_t spawned = resident_bytes() - rss0;
    started.wait();
    CHECK(ran.load() == kGoroutines);
    const std::size_t parked = resident_bytes() - rss0;
    gate.close();
    MESSAGE("per goroutine: spawned " << spawned / kGoroutines << " B, parked "
                                      << parked / kGoroutines << " B");
    CHECK(parked >= std::size_t{kGoroutines} * 4096);  // a stack page each
    CHECK(spawned * 4 < parked);
  });
}

TEST_CASE("go returns before the goroutine finishes; goroutines run concurrently") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [] {
      auto c = goro::make_chan<int>();
      std::atomic<bool> finished{false};
      goro::go([c, &finished] {
        c.send(1);
        finished = true;
      });
      CHECK_FALSE(finished.load());  // it is blocked until main receives
      CHECK(*c.recv() == 1);
      CHECK(eventually([&] { return finished.load(); }));
    });
  }
}

TEST_CASE("num_goroutine counts main and live goroutines and sees leaks") {
  CHECK(goro::num_goroutine() == 0);  // outside run (runtime.hpp)
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      CHECK(goro::num_goroutine() == 1);
      auto block = goro::make_chan<goro::unit>();
      goro::wait_group started;
      for (int i = 0; i < 25; ++i) {
        started.add(1);
        goro::go([&started, block] {
          started.done();
          block.recv();
        });
      }
      started.wait();
      GO_CHECK_MESSAGE(goro::num_goroutine() == 26, "threads=" << n);
      block.close();
      GO_CHECK_MESSAGE(eventually([] { return goro::num_goroutine() == 1; }), "threads=" << n);

      // A goroutine counts from the moment go() returns, as in Go, and a leaked one (blocked
      // forever) stays counted.
      goro::go([] { goro::chan<int>().recv(); });
      GO_CHECK_MESSAGE(goro::num_goroutine() == 2, "threads=" << n);
      goro::sleep(20ms);
      GO_CHECK_MESSAGE(goro::num_goroutine() == 2, "threads=" << n);

      // Finished goroutines stop counting.
      goro::wait_group wg;
      for (int i = 0; i < 100; ++i) wg.go([] {});
      wg.wait();
      GO_CHECK_MESSAGE(eventually([] { return goro::num_goroutine() == 2; }), "threads=" << n);
    });
  }
}

TEST_CASE("gomaxprocs reports options::threads") {
  for (unsigned n : {1u, 2u, 3u, 4u, 7u}) {
    unsigned seen = 0;
    run_on(n, [&] { seen = goro::gomaxprocs(); });
    CHECK(seen == n);
  }
}

TEST_CASE("options::threads starts exactly that many worker threads") {
  for (unsigned n : {1u, 2u, 4u}) {
    CAPTURE(n);
    run_on(n, [n] {
      // n goroutines can all run at once...
      const auto all = probe_parallelism(static_cast<int>(n), 20s * kSlow);
      GO_CHECK_MESSAGE(all.all_arrived, "threads=" << n);
      GO_CHECK_MESSAGE(all.distinct_threads == n, "threads=" << n);
      // ...but not n+1: the last one can only start once a worker is free.
      const auto more = probe_parallelism(static_cast<int>(n) + 1, 300ms);
      GO_CHECK_MESSAGE(!more.all_arrived, "threads=" << n);
      GO_CHECK_MESSAGE(more.distinct_threads <= n, "threads=" << n);
    });
  }
}

TEST_CASE("GOMAXPROCS environment variable and the default thread count") {
  const char* saved = std::getenv("GOMAXPROCS");
  const std::string saved_value = saved ? saved : "";

  ::setenv("GOMAXPROCS", "3", 1);
  CHECK(goro::gomaxprocs() == 3);  // outside run: what run would start
  unsigned seen = 0;
  goro::run([&] {
    seen = goro::gomaxprocs();
    const auto p = probe_parallelism(3, 20s * kSlow);
    CHECK(p.all_arrived);
    CHECK(p.distinct_threads == 3);
  });
  CHECK(seen == 3);
  // An explicit thread count wins over the variable.
  run_on(2, [&] { seen = goro::gomaxprocs(); });
  CHECK(seen == 2);

  ::unsetenv("GOMAXPROCS");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  CHECK(goro::gomaxprocs() == cores);
  goro::run([&] { seen = goro::gomaxprocs(); });
  CHECK(seen == cores);

  if (saved) ::setenv("GOMAXPROCS", saved_value.c_str(), 1);
}

TEST_CASE("goroutine_id: 1 for main, unique per goroutine, stable across switches") {
  CHECK(goro::goroutine_id() == 0);  // a plain thread (runtime.hpp)
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      CHECK(goro::goroutine_id() == 1);
      const int kG = iterations(1000);
      auto ids = goro::make_chan<std::uint64_t>(static_cast<std::size_t>(kG));
      std::atomic<int> unstable{0};
      goro::wait_group wg;
      for (int i = 0; i < kG; ++i) {
        wg.go([ids, &unstable] {
          const auto id = goro::goroutine_id();
          goro::yield();
          goro::sleep(1ms);  // may resume on another worker
          if (goro::goroutine_id() != id) ++unstable;
          ids.send(id);
        });
      }
      wg.wait();
      ids.close();
      std::set<std::uint64_t> seen;
      for (std::uint64_t id : ids) {
        GO_CHECK_MESSAGE(id != 0, "threads=" << n);
        GO_CHECK_MESSAGE(id != 1, "threads=" << n);
        seen.insert(id);
      }
      GO_CHECK_MESSAGE(seen.size() == static_cast<std::size_t>(kG), "threads=" << n);
      GO_CHECK_MESSAGE(unstable.load() == 0, "threads=" << n);
      CHECK(goro::goroutine_id() == 1);
    });
  }
}

TEST_CASE("yield lets other goroutines run") {
  run_on(1, [] {
    // One worker: the other goroutine can only run if yield gives the thread up.
    std::atomic<bool> ran{false};
    goro::go([&] { ran = true; });
    for (int i = 0; i < 1000 && !ran.load(); ++i) goro::yield();
    CHECK(ran.load());
  });
  goro::yield();  // on a plain thread: std::this_thread::yield, and nothing breaks
}

namespace {
// Uses about `depth` KiB of stack.
int deep(int depth) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(depth);
  if (depth == 0) return pad[0];
  return deep(depth - 1) + pad[0];
}
}  // namespace

TEST_CASE("options::stack_size sets the stack of every goroutine") {
  const int expected = deep(2048);  // the test thread has a big enough stack
  // 2 MiB of recursion would overflow the default 256 KiB stack; with 16 MiB it fits, in
  // main and in other goroutines alike.
  const int r = goro::run(goro::options{.threads = 2, .stack_size = 16 << 20}, [] {
    const int in_main = deep(2048);
    auto c = goro::make_chan<int>();
    goro::go([c] { c.send(deep(2048)); });
    const int in_other = *c.recv();
    return in_main == in_other ? in_main : -1;
  });
  CHECK(r == expected);
  // go_with_stack gives one goroutine a bigger stack.
  const int r2 = run_on(2, [] {
    auto c = goro::make_chan<int>();
    goro::go_with_stack(16 << 20, [c] { c.send(deep(2048)); });
    return *c.recv();
  });
  CHECK(r2 == expected);
}
