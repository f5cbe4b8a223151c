// goro::rand: math/rand's top-level functions, safe to call from any goroutine or thread.
//
//   int dice = goro::rand::intn(6) + 1;                  // rand.Intn(6) + 1
//   goro::sleep(goro::rand::intn(100) * 1ms);            // jitter
//   goro::rand::shuffle(v.size(), [&](std::size_t i, std::size_t j) { std::swap(v[i], v[j]); });
//
// Each thread has its own generator, seeded from the operating system's random source when
// it is first used, as Go 1.20's top-level functions are seeded at start: every run differs,
// and no lock is shared between workers. None of them blocks (a goroutine cannot move to
// another thread during a call). The sequence is not Go's (Go's is not specified either),
// nor reproducible: for a reproducible one, keep a seeded <random> engine of your own.
// (After `using namespace goro;`, a bare rand() is ambiguous with this namespace: spell C's
// as std::rand().)
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <goro/panic.hpp>

namespace goro::detail {
// A uniform number in [0, n), n > 0, without bias.
std::uint64_t rand_below(std::uint64_t n) noexcept;
}  // namespace goro::detail

namespace goro::rand {

// rand.Uint64, rand.Uint32: uniform over every value.
std::uint64_t uint64() noexcept;
std::uint32_t uint32() noexcept;
// rand.Int63, rand.Int31: non-negative, uniform over [0, 2^63) and [0, 2^31). Go's rand.Int()
// is int63() on a 64-bit machine.
std::int64_t int63() noexcept;
std::int32_t int31() noexcept;

// rand.Intn, rand.Int63n, rand.Int31n: uniform over [0, n). n <= 0 throws goro::panic_error
// with Go's message ("invalid argument to Intn", "... to Int63n", "... to Int31n").
int intn(int n);
std::int64_t int63n(std::int64_t n);
std::int32_t int31n(std::int32_t n);

// rand.Float64, rand.Float32: uniform over [0, 1).
double float64() noexcept;
float float32() noexcept;

// rand.Perm: a random permutation of 0, 1, ..., n-1. n < 0 throws goro::panic_error.
std::vector<int> perm(int n);

// rand.Shuffle: shuffles n elements (Fisher-Yates) by calling swap(i, j) with indices of
// n's type, all permutations equally likely. n < 0 throws goro::panic_error("invalid
// argument to Shuffle"). Blocks only if swap does.
template <std::integral N, class F>
  requires std::invocable<F&, N, N>
void shuffle(N n, F&& swap) {
  if constexpr (std::is_signed_v<N>) {
    if (n < 0) throw panic_error("invalid argument to Shuffle");
  }
  for (N i = n > 0 ? static_cast<N>(n - 1) : N{0}; i > 0; --i) {
    swap(i, static_cast<N>(goro::detail::rand_below(static_cast<std::uint64_t>(i) + 1)));
  }
}

}  // namespace goro::rand
