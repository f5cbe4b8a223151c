// goro::rand (rand.hpp): a wyrand generator per thread, seeded from getrandom(2).
//
// wyrand (Wang Yi's, which Go's runtime uses for its own fastrand on 64-bit machines): a
// 64-bit counter that steps by an odd constant, mixed by one 64x64->128-bit multiply. Small
// (8 bytes of state) and fast (a few cycles); good for simulations, jitter and load
// balancing, not for cryptography.
#include <goro/rand.hpp>

#include <sys/random.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <vector>

namespace goro::detail {
// The calling thread's generator state (tls.cpp); 0 until seeded.
std::uint64_t* user_rand_state() noexcept;
}  // namespace goro::detail

namespace goro::rand {

namespace {

std::uint64_t seed(const void* salt) noexcept {
  std::uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof s)) {
    // No entropy yet (early boot) or no getrandom: the time and this thread's state address.
    s = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (reinterpret_cast<std::uintptr_t>(salt) * 0x9e3779b97f4a7c15u);
  }
  return s | 1;  // never 0, which means "not seeded yet"
}

std::uint64_t next() noexcept {
  // Through the out-of-line accessor each time: the calling goroutine may run on another
  // thread than at its previous call.
  std::uint64_t* s = goro::detail::user_rand_state();
  if (*s == 0) *s = seed(s);
  *s += 0xa0761d6478bd642fu;
  const unsigned __int128 m = static_cast<unsigned __int128>(*s) * (*s ^ 0xe7037ed1a0b428dbu);
  return static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m);
}

}  // namespace

}  // namespace goro::rand

namespace goro::detail {

// Lemire's multiply-and-shift, with rejection of the few low products that would bias it.
std::uint64_t rand_below(std::uint64_t n) noexcept {
  unsigned __int128 m = static_cast<unsigned __int128>(goro::rand::uint64()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = -n % n;  // 2^64 mod n
    while (low < threshold) {
      m = static_cast<unsigned __int128>(goro::rand::uint64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

}  // namespace goro::detail

namespace goro::rand {

std::uint64_t uint64() noexcept {
  return next();
}

std::uint32_t uint32() noexcept {
  return static_cast<std::uint32_t>(next() >> 32);
}

std::int64_t int63() noexcept {
  return static_cast<std::int64_t>(next() >> 1);
}

std::int32_t int31() noexcept {
  return static_cast<std::int32_t>(next() >> 33);
}

int intn(int n) {
  if (n <= 0) throw panic_error("invalid argument to Intn");
  return static_cast<int>(goro::detail::rand_below(static_cast<std::uint64_t>(n)));
}

std::int64_t int63n(std::int64_t n) {
  if (n <= 0) throw panic_error("invalid argument to Int63n");
  return static_cast<std::int64_t>(goro::detail::rand_below(static_cast<std::uint64_t>(n)));
}

std::int32_t int31n(std::int32_t n) {
  if (n <= 0) throw panic_error("invalid argument to Int31n");
  return static_cast<std::int32_t>(goro::detail::rand_below(static_cast<std::uint64_t>(n)));
}

double float64() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;  // 53 random bits: [0, 1)
}

float float32() noexcept {
  return static_cast<float>(next() >> 40) * 0x1.0p-24f;  // 24 random bits: [0, 1)
}

std::vector<int> perm(int n) {
  if (n < 0) throw panic_error("makeslice: len out of range");  // Go's make([]int, n)
  std::vector<int> m(static_cast<std::size_t>(n));
  std::iota(m.begin(), m.end(), 0);
  shuffle(m.size(), [&m](std::size_t i, std::size_t j) { std::swap(m[i], m[j]); });
  return m;
}

}  // namespace goro::rand
