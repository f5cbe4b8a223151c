// What the samples need from Go that is not a concurrency primitive: `defer`, printing a
// time.Duration the way Go's %v does, and running several Go programs as one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include <goro/goro.hpp>

namespace sample {

// Go's `defer f()`: runs f when the scope ends.
//
// One difference, on purpose: when goro::run returns, goroutines that are still blocked are
// unwound (their destructors run), while Go simply abandons them at exit without running
// their defers. So that a sample prints what its Go original prints, a deferred call is
// skipped while an exception is unwinding the scope.
template <class F>
class deferred {
 public:
  explicit deferred(F f) : f_(std::move(f)), uncaught_(std::uncaught_exceptions()) {}
  deferred(const deferred&) = delete;
  deferred& operator=(const deferred&) = delete;
  ~deferred() {
    if (std::uncaught_exceptions() == uncaught_) f_();
  }

 private:
  F f_;
  int uncaught_;
};

// time.Duration's String(): "1.000935s", "23.5ms", "1m30s", "2h0m0s".
inline std::string go_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  long long ns = d.count();
  std::string sign = ns < 0 ? "-" : "";
  if (ns < 0) ns = -ns;
  auto trimmed = [](double v, int prec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    std::string s = buf;
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s;
  };
  if (ns == 0) return "0s";
  if (ns < 1000) return sign + std::to_string(ns) + "ns";
  if (ns < 1000000) return sign + trimmed(ns / 1e3, 3) + "µs";
  if (ns < 1000000000) return sign + trimmed(ns / 1e6, 6) + "ms";
  long long h = ns / 3600000000000LL;
  ns -= h * 3600000000000LL;
  long long m = ns / 60000000000LL;
  ns -= m * 60000000000LL;
  std::string s = sign;
  if (h) s += std::to_string(h) + "h";
  if (h || m) s += std::to_string(m) + "m";
  return s + trimmed(ns / 1e9, 9) + "s";
}

template <class Rep, class Period>
std::string go_duration(std::chrono::duration<Rep, Period> d) {
  return go_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
}

// Some samples run, as sections of one program, what their Go original shows as separate
// programs. A section's goroutine may still be finishing when main moves on (its deferred
// print runs after the close that main waited for, in Go as here); this waits until no
// more than `n` goroutines are left, so that what it prints stays in its own section.
inline void await_goroutines(std::size_t n) {
  while (goro::num_goroutine() > n) goro::sleep(std::chrono::milliseconds(1));
}

}  // namespace sample
