// time.hpp's helpers that are not timers: Go's Duration text and the wall clock.
#include <cstdint>
#include <ostream>
#include <string>

#include <goro/time.hpp>

#include "synctest.hpp"

namespace goro {

namespace {

// Go's fmtFrac: writes the low `prec` digits of v before `end` as a fraction, omitting
// trailing zeros (and the point if all are zero). Returns the new start and v / 10^prec.
char* put_frac(char* end, std::uint64_t& v, int prec) noexcept {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>(v % 10);
    print = print || digit != 0;
    if (print) *--end = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) *--end = '.';
  return end;
}

// Go's fmtInt: writes v before `end`.
char* put_int(char* end, std::uint64_t v) noexcept {
  if (v == 0) {
    *--end = '0';
    return end;
  }
  for (; v > 0; v /= 10) *--end = static_cast<char>('0' + v % 10);
  return end;
}

}  // namespace

// A transcription of Go's time.Duration.String, written backwards into a buffer. The
// magnitude is taken as unsigned, so the most negative duration prints whole.
std::string format_duration(clock::duration d) {
  const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  // The longest is "-2562047h47m16.854775808s".
  char buf[32];
  char* const end = buf + sizeof buf;
  char* w = end;
  std::uint64_t u = static_cast<std::uint64_t>(ns);
  const bool neg = ns < 0;
  if (neg) u = -u;
  constexpr std::uint64_t kMicro = 1000, kMilli = 1000 * kMicro, kSecond = 1000 * kMilli;
  if (u < kSecond) {
    // Smaller units, like 1.2ms.
    int prec = 0;
    *--w = 's';
    if (u == 0) {
      return "0s";
    } else if (u < kMicro) {
      *--w = 'n';
    } else if (u < kMilli) {
      prec = 3;
      *--w = '\xB5';  // U+00B5 MICRO SIGN in UTF-8: C2 B5
      *--w = '\xC2';
    } else {
      prec = 6;
      *--w = 'm';
    }
    w = put_frac(w, u, prec);
    w = put_int(w, u);
  } else {
    *--w = 's';
    w = put_frac(w, u, 9);
    w = put_int(w, u % 60);  // u is whole seconds
    u /= 60;
    if (u > 0) {  // minutes
      *--w = 'm';
      w = put_int(w, u % 60);
      u /= 60;
      // Stop at hours, because days can be different lengths.
      if (u > 0) {
        *--w = 'h';
        w = put_int(w, u);
      }
    }
  }
  if (neg) *--w = '-';
  return std::string(w, end);
}

std::ostream& operator<<(std::ostream& os, duration_fmt f) {
  return os << format_duration(f.d);
}

std::chrono::system_clock::time_point wall(clock::time_point t) noexcept {
  // A bubble's clock counts from the Unix epoch (it starts at 2000-01-01, as Go's does):
  // its times are dates already.
  if (detail::synctest_in_bubble()) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(t.time_since_epoch()));
  }
  const auto sys_now = std::chrono::system_clock::now();
  const auto steady_now = clock::now();
  return sys_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_now);
}

}  // namespace goro
