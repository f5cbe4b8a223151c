// Scale: 100,000 goroutines parked at once, spawn storms, long chains. These check that
// nothing is lost or leaked at scale, never how fast it goes.
#include "test_util.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

using namespace goro_test;

namespace {
constexpr int kParked = goro_test::live(100000);
}

TEST_CASE("100,000 goroutines parked on one channel, all released by close") {
  for (unsigned n : {1u, 4u}) {
    run_on(n, [n] {
      auto gate = goro::make_chan<goro::unit>();
      std::atomic<int> started{0}, woke{0};
      goro::wait_group wg;
      for (int i = 0; i < kParked; ++i) {
        wg.go([gate, &started, &woke] {
          ++started;
          if (!gate.recv()) ++woke;  // closed: nullopt
        });
      }
      GO_CHECK_MESSAGE(goro::num_goroutine() == kParked + 1, "threads=" << n);
      CHECK(eventually([&] { return started.load() == kParked; }, 60s));
      settle();
      CHECK(goro::num_goroutine() == kParked + 1);
      gate.close();
      wg.wait();
      GO_CHECK_MESSAGE(woke.load() == kParked, "threads=" << n);
      GO_CHECK_MESSAGE(eventually([] { return goro::num_goroutine() == 1; }, 60s), "threads=" << n);
    });
  }
}

TEST_CASE("1,000,000 goroutines parked at once with the default settings, then released") {
  // The sanitizers' shadow memory makes a million stacks too big for the machine (and
  // ThreadSanitizer counts goroutines as threads), so their builds park fewer.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  static constexpr int kMillion = live(100000);
#else
  static constexpr int kMillion = 1000000;
#endif
  run_on(2, [] {
    auto gate = goro::make_chan<goro::unit>();
    std::atomic<int> parked{0}, released{0};
    for (int i = 0; i < kMillion; ++i) {
      goro::go([gate, &parked, &released] {
        ++parked;
        gate.recv();
        ++released;
      });
    }
    CHECK(eventually([&] { return parked.load() == kMillion; }, 120s));
    CHECK(goro::num_goroutine() == static_cast<std::size_t>(kMillion) + 1);
    gate.close();
    CHECK(eventually([] { return goro::num_goroutine() == 1; }, 120s));
    CHECK(released.load() == kMillion);
  });
}

TEST_CASE("100,000 goroutines parked receiving, each released by its own value") {
  run_on(4, [] {
    auto c = goro::make_chan<int>();
    auto results = goro::make_chan<long>(1024);
    std::atomic<int> started{0};
    for (int i = 0; i < kParked; ++i) {
      goro::go([c, results, &started] {
        ++started;
        results.send(*c.recv());
      });
    }
    CHECK(eventually([&] { return started.load() == kParked; }, 60s));
    goro::go([c] {
      for (int i = 0; i < kParked; ++i) c.send(i);
    });
    long sum = 0;
    for (int i = 0; i < kParked; ++i) sum += *results.recv();
    CHECK(sum == static_cast<long>(kParked) * (kParked - 1) / 2);
    CHECK(eventually([] { return goro::num_goroutine() == 1; }, 60s));
  });
}

TEST_CASE("100,000 goroutines parked on a wait_group") {
  run_on(2, [] {
    goro::wait_group gate;
    gate.add(1);
    goro::wait_group finished;
    std::atomic<int> started{0};
    for (int i = 0; i < kParked; ++i) {
      finished.go([&] {
        ++started;
        gate.wait();
      });
    }
    CHECK(eventually([&] { return started.load() == kParked; }, 60s));
    CHECK(goro::num_goroutine() == kParked + 1);
    gate.done();
    finished.wait();
    CHECK(eventually([] { return goro::num_goroutine() == 1; }, 60s));
  });
}

TEST_CASE("100,000 goroutines sleeping at once") {
  run_on(2, [] {
    goro::wait_group wg;
    for (int i = 0; i < kParked; ++i)
      wg.go([i] { goro::sleep(std::chrono::milliseconds(i % 50)); });
    wg.wait();
    CHECK(eventually([] { return goro::num_goroutine() == 1; }, 60s));
  });
}

TEST_CASE("a daisy chain of 10,000 goroutines passes a value along") {
  // Go's "whispers": each goroutine receives from its right neighbour and sends left+1.
  for (unsigned n : kThreadCounts) {
    const int r = run_on(n, [] {
      constexpr int kLen = live(10000);
      auto leftmost = goro::make_chan<int>();
      auto left = leftmost;
      for (int i = 0; i < kLen; ++i) {
        auto right = goro::make_chan<int>();
        goro::go([left, right] { left.send(1 + *right.recv()); });
        left = right;
      }
      goro::go([left] { left.send(1); });
      return *leftmost.recv();
    });
    GO_CHECK_MESSAGE(r == live(10000) + 1, "threads=" << n);
  }
}

TEST_CASE("spawn storm: goroutines that spawn goroutines") {
  constexpr int kDepth = live(1 << 16) == 1 << 16 ? 15 : 9;
  for (unsigned n : kThreadCounts) {
    std::atomic<int> leaves{0};
    run_on(n, [&] {
      // A binary tree of depth 15: 65,535 goroutines, 32,768 leaves.
      goro::wait_group wg;
      struct node {
        static void grow(int depth, goro::wait_group* wg, std::atomic<int>* leaves) {
          if (depth == 0) {
            ++*leaves;
            return;
          }
          wg->go([=] { grow(depth - 1, wg, leaves); });
          wg->go([=] { grow(depth - 1, wg, leaves); });
        }
      };
      wg.go([&] { node::grow(kDepth, &wg, &leaves); });
      wg.wait();
      CHECK(eventually([] { return goro::num_goroutine() == 1; }));
    });
    GO_CHECK_MESSAGE(leaves.load() == 1 << kDepth, "threads=" << n);
  }
}

TEST_CASE("many producers and consumers over buffered and unbuffered channels") {
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {0u, 1u, 64u}) {
      long sum = 0;
      int count = 0;
      run_on(n, [&, cap] {
        constexpr int kP = 16, kPer = 2000;
        auto c = goro::make_chan<int>(cap);
        // Each consumer reports (sum, count) as one value: two sends could interleave with
        // another consumer's.
        auto out = goro::make_chan<std::pair<long, long>>(16);
        goro::wait_group producers;
        for (int p = 0; p < kP; ++p) {
          producers.go([c, p] {
            for (int i = 0; i < kPer; ++i) c.send(p * kPer + i);
          });
        }
        goro::wait_group consumers;
        for (int k = 0; k < 16; ++k) {
          consumers.go([c, out] {
            long s = 0;
            long m = 0;
            for (int v : c) {
              s += v;
              ++m;
            }
            out.send({s, m});
          });
        }
        producers.wait();
        c.close();
        consumers.wait();
        out.close();
        for (auto [s, m] : out) {
          sum += s;
          count += static_cast<int>(m);
        }
      });
      constexpr long total = 16L * 2000;
      GO_CHECK_MESSAGE(count == total, "threads=" << n << " cap=" << cap);
      GO_CHECK_MESSAGE(sum == total * (total - 1) / 2, "threads=" << n << " cap=" << cap);
    }
  }
}

// A buffered channel's ring is used without its lock, and parked goroutines meet it through
// a handoff under the lock (runtime/src/chan_ring.hpp): senders and receivers mix plain
// operations with selects (which park on two channels and may be woken to try again), on
// small capacities so that the ring is full or empty most of the time, for many laps (the
// positions' lap count wraps around early on purpose).
namespace contention {
constexpr int kSenders = 4, kReceivers = 4, kPer = 20000;
struct tally {
  long count[kSenders] = {};
  long sum[kSenders] = {};
  bool in_order = true;
};
}  // namespace contention

TEST_CASE("buffered channels under contention: per-sender FIFO, nothing lost or duplicated") {
  using namespace contention;
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {1u, 2u, 7u}) {
      tally total;
      run_on(n, [&, cap] {
        using item = std::pair<int, int>;  // (sender, i)
        auto c = goro::make_chan<item>(cap);
        auto never = goro::make_chan<item>(cap);  // nothing is ever sent here
        auto results = goro::make_chan<tally>(kReceivers);
        goro::wait_group senders;
        for (int s = 0; s < kSenders; ++s) {
          senders.go([c, never, s] {
            for (int i = 0; i < kPer; ++i) {
              if (i % 3 == 0) {
                goro::select(goro::on_send(c, item{s, i}), goro::on_recv(never));
              } else {
                c.send({s, i});
              }
            }
          });
        }
        goro::wait_group receivers;
        for (int r = 0; r < kReceivers; ++r) {
          receivers.go([c, never, results, r] {
            tally t;
            std::array<int, kSenders> last;
            last.fill(-1);
            for (int k = r;; ++k) {
              std::optional<item> v;
              if (k % 2 == 0) {
                v = c.recv();
              } else {
                goro::select(goro::on_recv(c, [&v](std::optional<item> x) { v = x; }),
                             goro::on_recv(never));
              }
              if (!v) break;
              const auto [s, i] = *v;
              t.in_order = t.in_order && i > last[s];
              last[s] = i;
              ++t.count[s];
              t.sum[s] += i;
            }
            results.send(t);
          });
        }
        senders.wait();
        c.close();
        receivers.wait();
        results.close();
        for (const tally& t : results) {
          for (int s = 0; s < kSenders; ++s) {
            total.count[s] += t.count[s];
            total.sum[s] += t.sum[s];
          }
          total.in_order = total.in_order && t.in_order;
        }
      });
      GO_CHECK_MESSAGE(total.in_order, "threads=" << n << " cap=" << cap);
      for (int s = 0; s < kSenders; ++s) {
        GO_CHECK_MESSAGE(total.count[s] == kPer, "threads=" << n << " cap=" << cap);
        GO_CHECK_MESSAGE(total.sum[s] == long{kPer} * (kPer - 1) / 2,
                         "threads=" << n << " cap=" << cap);
      }
    }
  }
}
