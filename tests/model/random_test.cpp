// Randomised channel tests checked against a sequential model of Go's semantics: what is
// checked, and why it is sound, is described in model.hpp.
//
// Each round draws a configuration (2-8 actor goroutines, 1-3 channel slots, capacities) and
// one script per actor from a seed. The round's seed is also the run's options::seed, so it
// fixes the scheduler's random choices as well (and randomises which ready goroutine runs
// next, as Go's race mode does, so that rounds try more interleavings). The interleaving
// still depends on timing (the scripts' sleeps and select timeouts are real time, and with
// more than one worker so is the threads' race), so a seed fixes the scripts and the
// scheduler's choices, not the outcome; a failing seed usually fails again, and at one
// worker thread most often the same way.
//
// Environment:
//   GORO_MODEL_SEED=n     base seed (default: random; printed at the start and on failure);
//                         round r uses seed n + r
//   GORO_MODEL_THREADS=n  run only the test case with n worker threads (1, 2 or 4)
//   GORO_MODEL_ROUNDS=n   rounds per thread count (default 32)
//   GORO_MODEL_STEPS=n    operations per actor and round (default 500)
//   GORO_MODEL_SECONDS=s  soak: run rounds for s seconds per thread count (overrides ROUNDS)
//   GORO_MODEL_VERBOSE=1  print every round's seed and statistics
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model.hpp"

namespace {

using namespace goro_model;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlow = 3;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kSlow = 3;
#else
constexpr int kSlow = 1;
#endif
#else
constexpr int kSlow = 1;
#endif

std::uint64_t env_u64(const char* name, std::uint64_t dflt) {
  const char* e = std::getenv(name);
  if (!e || !*e) return dflt;
  return std::strtoull(e, nullptr, 0);
}

struct settings {
  std::uint64_t seed;
  unsigned only_threads;
  std::uint64_t rounds;
  std::uint64_t steps;
  std::uint64_t seconds;
  bool verbose;
};

const settings& get_settings() {
  static const settings s = [] {
    settings r{};
    // Random by default so that every run explores new scripts; printed so that a failure
    // (even a crash, which doctest cannot report) can be replayed.
    r.seed = env_u64("GORO_MODEL_SEED",
                     (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}());
    r.only_threads = static_cast<unsigned>(env_u64("GORO_MODEL_THREADS", 0));
    r.rounds = env_u64("GORO_MODEL_ROUNDS", 32);
    r.steps = env_u64("GORO_MODEL_STEPS", 500);
    r.seconds = env_u64("GORO_MODEL_SECONDS", 0);
    r.verbose = env_u64("GORO_MODEL_VERBOSE", 0) != 0;
    std::fprintf(stderr, "goro model: GORO_MODEL_SEED=%llu (rounds use seed + round)\n",
                 static_cast<unsigned long long>(r.seed));
    return r;
  }();
  return s;
}

config make_config(std::uint64_t seed, unsigned threads) {
  std::uint64_t s = seed ^ 0x6d6f64656cULL;
  auto pick = [&](std::uint64_t n) { return static_cast<unsigned>(splitmix64(s) % n); };
  config c;
  c.threads = threads;
  c.actors = 2 + pick(7);
  const unsigned slots = 1 + pick(3);
  c.initial_caps.clear();
  for (unsigned i = 0; i < slots; ++i) c.initial_caps.push_back(c.caps[pick(c.caps.size())]);
  c.deadline = 20s * kSlow;
  c.sched_seed = seed;
  return c;
}

void run_rounds(unsigned threads) {
  const settings& st = get_settings();
  if (st.only_threads != 0 && st.only_threads != threads) return;
  const auto start = std::chrono::steady_clock::now();
  stats total;
  std::uint64_t rounds = 0;
  for (std::uint64_t r = 0;; ++r) {
    if (st.seconds > 0) {
      if (std::chrono::steady_clock::now() - start >= std::chrono::seconds(st.seconds)) break;
    } else if (r >= st.rounds) {
      break;
    }
    const std::uint64_t seed = st.seed + r;
    world w(make_config(seed, threads));
    std::vector<std::unique_ptr<source>> owned;
    std::vector<source*> srcs;
    for (unsigned i = 0; i <= w.cfg.actors; ++i) {
      std::uint64_t s = seed * 1000003 + i;
      // Main (the last) only makes choices while helping; it has no script of its own.
      owned.push_back(std::make_unique<rng_source>(splitmix64(s), i < w.cfg.actors ? st.steps : 0));
      srcs.push_back(owned.back().get());
    }
    const std::vector<std::string> errs = run_model(w, srcs);
    const stats rs = total_stats(w);
    total += rs;
    ++rounds;
    const std::string where = "threads " + std::to_string(threads) + ", " +
                              std::to_string(w.cfg.actors) + " actors, " +
                              std::to_string(w.cfg.initial_caps.size()) +
                              " slots; rerun: GORO_MODEL_SEED=" + std::to_string(seed) +
                              " GORO_MODEL_THREADS=" + std::to_string(threads) +
                              " GORO_MODEL_ROUNDS=1 GORO_MODEL_STEPS=" + std::to_string(st.steps);
    if (st.verbose) MESSAGE(where << "\n  " << rs.str());
    if (!errs.empty()) {
      std::string msg = "model violated (" + where + "):";
      for (const std::string& e : errs) msg += "\n  " + e;
      FAIL_CHECK(msg);
      break;
    }
  }
  // A runtime on which every operation timed out would satisfy the model trivially: make
  // sure the scripts really exercised each kind of outcome.
  if (rounds >= 3 && st.steps >= 100) {
    CHECK(total.sends > 0);
    CHECK(total.recvs > 0);
    CHECK(total.recv_closed > 0);
    CHECK(total.send_panics > 0);
    CHECK(total.closes > 0);
    CHECK(total.close_panics > 0);
    CHECK(total.timeouts > 0);
    CHECK(total.defaults > 0);
  }
}

}  // namespace

TEST_CASE("model: random channel operations, 1 thread") {
  run_rounds(1);
}
TEST_CASE("model: random channel operations, 2 threads") {
  run_rounds(2);
}
TEST_CASE("model: random channel operations, 4 threads") {
  run_rounds(4);
}

static bool mentions(const std::vector<std::string>& errs, const char* what) {
  for (const std::string& e : errs) {
    if (e.find(what) != std::string::npos) return true;
  }
  return false;
}

// The checker itself must not be vacuous: feed it logs with known violations.
TEST_CASE("model: verify() catches lost, duplicated, unsent and reordered values") {
  config c;
  c.actors = 2;
  c.initial_caps = {0};
  {
    world w(c);
    w.start_goroutines = w.end_goroutines = 1;
    w.logs[0].sent = {key_of(0, 0), key_of(0, 1), key_of(0, 2)};
    w.logs[1].got = {{0, 0, 1}, {0, 0, 0}};  // 1 before 0 at one receiver; 2 never received
    const std::vector<std::string> errs = verify(w);
    CHECK(mentions(errs, "FIFO"));
    CHECK(mentions(errs, "lost"));
    CHECK_FALSE(mentions(errs, "times"));
  }
  {
    world w(c);
    w.start_goroutines = 1;
    w.end_goroutines = 3;
    w.logs[0].sent = {key_of(0, 0)};
    w.logs[1].got = {{0, 0, 0}, {0, 0, 5}};  // seq 5's send never completed
    w.logs[2].got = {{0, 0, 0}};             // seq 0 received twice, by different receivers
    const std::vector<std::string> errs = verify(w);
    CHECK(mentions(errs, "received 2 times"));
    CHECK(mentions(errs, "whose send did not complete"));
    CHECK(mentions(errs, "num_goroutine() is 3"));
    CHECK_FALSE(mentions(errs, "FIFO"));
  }
  {
    world w(c);
    w.start_goroutines = w.end_goroutines = 1;
    w.logs[0].sent = {key_of(0, 0), key_of(0, 1), key_of(1, 0)};
    w.logs[1].got = {{0, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    CHECK(verify(w).empty());
  }
}
