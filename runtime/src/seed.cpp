// options::seed and GORO_SEED (seed.hpp).
#include "seed.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <goro/panic.hpp>

namespace goro::detail {

void write_all(int fd, const char* text) noexcept;  // debug.cpp

namespace {

// The seed given to the current (or last) run, for write_seed_line: written by run before
// its workers start, read by fatal ends on any thread.
std::atomic<bool> seed_given{false};
std::atomic<std::uint64_t> seed_value{0};

}  // namespace

run_seed choose_seed(const options& opts) {
  run_seed s;
  if (const char* env = std::getenv("GORO_SEED"); env && *env) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(env, &end, 0);
    if (errno != 0 || *end != '\0' || *env == '-') {
      throw panic_error(std::string("goro::run: GORO_SEED is not a number: ") + env);
    }
    s = {v, true};
  } else if (opts.seed) {
    s = {*opts.seed, true};
  }
  seed_value.store(s.value, std::memory_order_relaxed);
  seed_given.store(s.given, std::memory_order_release);
  return s;
}

std::uint64_t worker_rng_seed(std::uint64_t seed, unsigned index) noexcept {
  // splitmix64 of seed + index: neighbouring seeds and workers start far apart.
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void write_seed_line(int fd) noexcept {
  if (!seed_given.load(std::memory_order_acquire)) return;
  // By hand: snprintf is not async-signal-safe (SIGQUIT's dump ends with this line).
  char digits[24];
  char* p = digits + sizeof digits;
  *--p = '\0';
  *--p = '\n';
  std::uint64_t v = seed_value.load(std::memory_order_relaxed);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write_all(fd, "goro: seed ");
  write_all(fd, p);
}

}  // namespace goro::detail
