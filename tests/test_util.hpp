// Helpers shared by the runtime-core tests.
//
// Rules the tests follow, because goroutines are fibers that move between worker threads:
// - Inside goroutines (main_fn included) use CHECK, never REQUIRE: REQUIRE throws, and an
//   exception escaping a goroutine is a panic that ends the whole test process.
// - No INFO/CAPTURE/CHECK_MESSAGE inside goroutines: doctest keeps their context on a
//   thread_local stack, pushed before the condition is evaluated and popped after; a
//   condition that blocks (a recv, a sleep, eventually()) may resume on another thread and
//   corrupt both threads' stacks. Use GO_CHECK_MESSAGE, which evaluates first.
// - Never wait without a bound for something that a bug could stop from happening: use
//   recv_for() or eventually(), so that a broken runtime fails a check instead of hanging.
#pragma once

#include <doctest/doctest.h>

#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

// CHECK_MESSAGE that is safe in goroutines. doctest keeps the message context in a
// thread_local, and a compiler may compute a thread_local's address once per function and
// reuse it after a blocking call that resumed on another thread. So the condition is
// evaluated first (it may block), and doctest's macro runs in a function of its own,
// which computes the address afresh.
namespace goro_test {
__attribute__((noinline)) inline void check_message(bool ok, const char* file, int line,
                                                    const std::string& msg) {
  if (ok) {
    CHECK(ok);
  } else {
    ADD_FAIL_CHECK_AT(file, line, msg);
  }
}
}  // namespace goro_test
#define GO_CHECK_MESSAGE(cond, ...)                                                   \
  do {                                                                                \
    const bool goro_test_ok_ = static_cast<bool>(cond);                               \
    std::ostringstream goro_test_os_;                                                 \
    if (!goro_test_ok_) goro_test_os_ << #cond << " -- " << __VA_ARGS__;              \
    goro_test::check_message(goro_test_ok_, __FILE__, __LINE__, goro_test_os_.str()); \
  } while (0)

namespace goro_test {

using namespace std::chrono_literals;
using goro::clock;

// Sanitizers make everything 2-3x slower; the few bounds that are about time (a sleep, a
// timeout while waiting for something that must happen) stretch by this factor.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSlow = 3;
#else
inline constexpr int kSlow = 1;
#endif

// ThreadSanitizer tracks every goroutine as a thread of its own: it gives up beyond 8128 of
// them, and creating and destroying each costs ~2 ms (5,000 goroutines took 51 s on a busy
// two-core machine). Tests that keep many goroutines alive at once hold at most kMaxLive
// under it.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kTsan = true;
inline constexpr int kMaxLive = 1000;
#else
inline constexpr bool kTsan = false;
inline constexpr int kMaxLive = 1 << 30;
#endif
inline constexpr int live(int n) {
  return n < kMaxLive ? n : kMaxLive;
}

// GORO_TEST_SOAK=N multiplies the iteration counts of the loops that hunt races, for long
// soak runs; the default keeps the whole suite within its time budget (see iterations()).
inline int soak() {
  static const int factor = [] {
    const char* e = std::getenv("GORO_TEST_SOAK");
    int v = e ? std::atoi(e) : 1;
    return v > 0 ? v : 1;
  }();
  return factor;
}

// kSanitizerDivisor is the one factor by which the sanitizer builds cut the iteration counts
// of the loops that repeat a check to hunt races. Every check still runs, on fewer rounds:
// ThreadSanitizer makes each goroutine spawn and switch 50-100x dearer (a fiber of its own
// per goroutine), AddressSanitizer about 3x, and every test binary must finish in under a
// third of its meson timeout in its slowest job on a busy two-core machine. The normal build
// runs the full counts; GORO_TEST_SOAK=N runs N times the full counts in every build.
#if defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerDivisor = 10;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerDivisor = 3;
#else
inline constexpr int kSanitizerDivisor = 1;
#endif
inline int iterations(int full) {
  if (soak() > 1) return full * soak();
  const int n = full / kSanitizerDivisor;
  return n > 0 ? n : 1;
}

// The worker-thread counts that the concurrency tests are repeated with.
inline constexpr unsigned kThreadCounts[] = {1, 2, 4};

template <class F>
int run_on(unsigned threads, F f) {
  return goro::run(goro::options{.threads = threads}, std::move(f));
}

// run_on, with the goroutines still blocked when f returns unwound (their destructors run)
// instead of released (options::unwind_at_exit).
template <class F>
int run_unwinding(unsigned threads, F f) {
  return goro::run(goro::options{.threads = threads, .unwind_at_exit = true}, std::move(f));
}

// Receives from c, giving up after d. The outer optional is empty on timeout; the inner one
// is empty when the channel was closed.
template <class C>
std::optional<std::optional<typename C::value_type>> recv_for(const C& c, clock::duration d) {
  using T = typename C::value_type;
  std::optional<std::optional<T>> out;
  goro::select(goro::on_recv(c, [&](std::optional<T> v) { out.emplace(std::move(v)); }),
               goro::on_recv(goro::after(d)));
  return out;
}

// Sends v on c unless that blocks longer than d; true if sent.
template <class C>
bool send_for(const C& c, typename C::value_type v, clock::duration d) {
  return goro::select(goro::on_send(c, std::move(v)), goro::on_recv(goro::after(d))) == 0;
}

// Polls pred (sleeping between polls, so it works from goroutines and plain threads) until
// it holds or `limit` (stretched under sanitizers) has passed. Returns the last pred().
template <class P>
bool eventually(P&& pred, clock::duration limit = 10s) {
  const auto deadline = clock::now() + limit * kSlow;
  while (!pred()) {
    if (clock::now() > deadline) return pred();
    goro::sleep(1ms);
  }
  return true;
}

// Waits (bounded) until at least `k` goroutines are parked (blocked in a channel operation,
// select, sleep or sync type), as goro::goroutines() reports them. For tests whose subject
// is the order in which goroutines blocked: sleeping instead would make them flaky on a
// loaded machine.
inline bool wait_parked(std::size_t k, clock::duration limit = 10s) {
  return eventually(
      [k] {
        std::size_t parked = 0;
        for (const auto& g : goro::goroutines()) {
          if (g.state != "running" && g.state != "runnable") ++parked;
        }
        return parked >= k;
      },
      limit);
}

// Gives goroutines that were just started time to reach the operation they block in. Only
// used where Go's own tests sleep for the same purpose; a test never depends on it for
// correctness, only for exercising the blocked (rather than the fast) path.
inline void settle() {
  goro::sleep(20ms * kSlow);
}

// Seed search (docs/reference.md §10): runs program(seed) for `count` seeds from `first`
// on and returns the first seed for which it returns false, after printing it as
// "seed search: seed N fails (replay: GORO_SEED=N)"; nullopt if every seed passed. The
// program runs goro::run with options::seed = seed (one worker thread, its goroutines in a
// synctest bubble, for a replayable schedule); a failure it finds replays with that seed.
template <class P>
std::optional<std::uint64_t> seed_search(P&& program, std::uint64_t first, int count) {
  for (std::uint64_t seed = first; seed < first + static_cast<std::uint64_t>(count); ++seed) {
    if (!program(seed)) {
      std::printf("seed search: seed %llu fails (replay: GORO_SEED=%llu)\n",
                  static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
      return seed;
    }
  }
  return std::nullopt;
}

// A value that counts its copies and moves, to check that channels move and never copy.
struct tracked {
  static inline std::atomic<int> copies{0};
  static inline std::atomic<int> moves{0};
  int v = 0;
  tracked() = default;
  explicit tracked(int x) : v(x) {}
  tracked(const tracked& o) : v(o.v) { ++copies; }
  tracked(tracked&& o) noexcept : v(o.v) { ++moves; }
  tracked& operator=(const tracked& o) {
    v = o.v;
    ++copies;
    return *this;
  }
  tracked& operator=(tracked&& o) noexcept {
    v = o.v;
    ++moves;
    return *this;
  }
  static void reset() {
    copies = 0;
    moves = 0;
  }
};

}  // namespace goro_test
