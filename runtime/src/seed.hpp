// options::seed and GORO_SEED: where the scheduler's random choices come from.
//
// Every random choice of the runtime (the victim order of a steal, select's poll order,
// debug_migrate's target) draws from its worker's generator (worker::rng_state; plain
// threads have their own, which no seed makes reproducible). Unseeded, each worker's starts
// from the time, as before. Seeded, worker i's starts from splitmix64(seed + i), and the
// scheduler also randomises which ready goroutine runs next (Go's race-detector mode,
// randomizeScheduler: runnext is skipped half of the time, and a pop may rotate the head
// of the local queue to its tail), so that seeds differ in their interleavings. With one
// worker thread and nothing outside a synctest bubble to wait for (no real time, no I/O, no
// other threads), the run is then a function of the seed alone.
#pragma once

#include <cstdint>

#include <goro/runtime.hpp>

#include "runq.hpp"

namespace goro::detail {

// wyrand: fast and good enough for poll orders, victim choice and coin flips.
inline std::uint64_t next_rand(std::uint64_t& s) noexcept {
  s += 0xa0761d6478bd642full;
  __uint128_t m = static_cast<__uint128_t>(s) * (s ^ 0xe7037ed1a0b428dbull);
  return static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m);
}

struct run_seed {
  std::uint64_t value = 0;
  bool given = false;  // by options::seed or GORO_SEED: randomise the schedule, print it
};

// GORO_SEED (decimal or 0x hex) wins over opts.seed; neither: not given. Throws panic_error
// if GORO_SEED is not a number. Remembers the answer for write_seed_line.
run_seed choose_seed(const options& opts);
// Worker `index`'s generator's first state under a given seed.
std::uint64_t worker_rng_seed(std::uint64_t seed, unsigned index) noexcept;
// Writes "goro: seed N\n" to fd if the current (or last) run was given a seed, with write(2)
// only (signal handlers and fatal ends call it).
void write_seed_line(int fd) noexcept;

// The seeded scheduler's pop from a local queue: half of the time the head goes to the
// tail first (when there is room), so the order in which ready goroutines run varies.
template <class Q>
g* randomized_pop(Q& q, std::uint64_t& rng) noexcept {
  g* gp = q.pop();
  if (gp && (next_rand(rng) & 1) && q.push(gp)) gp = q.pop();
  return gp;
}

}  // namespace goro::detail
