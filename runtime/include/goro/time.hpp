// Time: sleep, after, timer, ticker and after_func, with Go 1.23's semantics, and Go's
// time helpers (now, format_duration, wall).
//
//   const auto start = goro::now();          // start := time.Now()
//   goro::sleep(10ms);                       // blocks the goroutine, not the thread
//   goro::select(goro::on_recv(work), goro::on_recv(goro::after(1s)));   // a timeout
//
//   goro::ticker tick(100ms);                // stops when destroyed
//   for (auto now : tick.c()) { ... }
//   for (auto now : goro::tick(100ms)) { ... }   // time.Tick: the channel owns its ticker
//
//   goro::after_func(5s, [] { ... });        // may be discarded: it still fires
//
//   std::cout << goro::duration_fmt{goro::now() - start};   // fmt.Print(time.Since(start))
//
// After stop() or reset() returns, no value prepared before the call is received. As in
// Go 1.23, a timer's or ticker's channel is unbuffered: its len() and cap() are 0, even when
// a value waits for its receiver.
//
// Thread safety: every function here may be called from any goroutine or plain thread. One
// timer or ticker object must not be used from two threads at once without
// synchronization (like any C++ object); its channel may be received from anywhere.
// Reference: docs/reference.md §4.
#pragma once

#include <iosfwd>
#include <string>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/chrono.hpp>
#include <goro/detail/fake_clock.hpp>
#include <goro/detail/timer_core.hpp>

namespace goro {

using clock = std::chrono::steady_clock;

// time.Now(): the current time of goro's clock, which is monotonic (a steady_clock, for
// measuring and for deadlines; wall() turns a time into a date for printing). Never blocks,
// never throws. In a synctest bubble, the bubble's fake clock (synctest.hpp).
inline clock::time_point now() noexcept {
  if (detail::synctest_bubbles.load(detail::mo::relaxed) != 0) [[unlikely]] {
    return detail::synctest_now();
  }
  return clock::now();
}

// time.Duration's String(), exactly: "0s", "1ns", "1.5µs" (with U+00B5, the micro sign, as
// Go writes it), "250ms", "1.5s", "1m30s", "2h0m0s", "-1.5s". Units below a second for
// durations under one second; otherwise hours, minutes and seconds, with at most nine
// fractional digits and no trailing zeros. Never blocks; throws only std::bad_alloc.
std::string format_duration(clock::duration d);
// Any other std::chrono duration (std::chrono::duration<double>, for one), cut toward zero to
// whole nanoseconds first, as Go's time.Duration(f) conversion does.
template <class Rep, class Period>
  requires(!std::is_convertible_v<std::chrono::duration<Rep, Period>, clock::duration>)
std::string format_duration(std::chrono::duration<Rep, Period> d) {
  return format_duration(std::chrono::duration_cast<clock::duration>(d));
}

// Prints a duration as format_duration does, for fmt.Print(d) and %v:
//   std::cout << "took " << goro::duration_fmt{elapsed} << "\n";
// Takes any std::chrono duration, as format_duration does.
struct duration_fmt {
  template <class Rep, class Period>
  duration_fmt(std::chrono::duration<Rep, Period> x)
      : d(std::chrono::duration_cast<clock::duration>(x)) {}
  clock::duration d;
};
std::ostream& operator<<(std::ostream& os, duration_fmt f);

// The wall-clock (system_clock) time of a time of goro's clock, for printing a time from
// now(), a timer or a ticker as a date: the system's time now, plus how far t is from now.
// Never blocks, never throws.
std::chrono::system_clock::time_point wall(clock::time_point t) noexcept;

// time.Sleep: blocks the calling goroutine (or thread) for at least d; returns at once for
// d <= 0. The goroutine parks: it takes no thread while it sleeps. Throws nothing of its own.
void sleep(clock::duration d);

// time.Timer: delivers the time on c() once, after d. Move-only. Constructing it never
// blocks and throws only std::bad_alloc; no member blocks.
class timer {
 public:
  explicit timer(clock::duration d);
  timer(timer&& o) noexcept : t_(std::exchange(o.t_, nullptr)), c_(std::move(o.c_)) {}
  timer& operator=(timer&& o) noexcept {
    std::swap(t_, o.t_);
    std::swap(c_, o.c_);
    return *this;
  }
  ~timer() { detail::timer_release(t_); }  // does not stop it, as in Go

  // The channel the time arrives on (nil for after_func timers).
  recv_chan<clock::time_point> c() const { return c_; }
  // true if the call stops the timer, false if it had already fired or been stopped.
  bool stop() noexcept { return t_ && detail::timer_stop(t_); }
  // Restarts the timer to fire after d; true if it had been active. After stop() or
  // reset() returns, no value prepared before the call is received. Both return false on a
  // moved-from timer.
  bool reset(clock::duration d) noexcept { return t_ && detail::timer_reset(t_, d, {}); }

 private:
  timer(detail::timer_state* t, chan<clock::time_point> c) : t_(t), c_(std::move(c)) {}
  detail::timer_state* t_ = nullptr;
  chan<clock::time_point> c_;
  template <class F>
  friend timer after_func(clock::duration d, F f);
};

// time.After: a channel that receives the time once, after d. Never blocks; throws only
// std::bad_alloc.
recv_chan<clock::time_point> after(clock::duration d);

// time.AfterFunc: runs f() in its own goroutine after d. The timer may be discarded; its
// stop() keeps f from running if it has not started. Never blocks; throws only
// std::bad_alloc. An exception escaping f is a panic, as in any goroutine.
template <class F>
timer after_func(clock::duration d, F f) {
  return timer(detail::timer_new_func(d, detail::task(std::move(f))), {});
}

// time.Tick: a channel that receives the time every d, dropping ticks for a slow reader;
// a nil channel (never ready) if d <= 0, as in Go. The channel owns the ticker that feeds
// it: the ticker runs while any handle to the channel (a copy, a range-for over it, a
// select case holding it) is alive, and stops with the last one, so unlike Go before 1.23
// nothing leaks. Never blocks; throws std::bad_alloc if memory runs out.
//   for (auto now : goro::tick(1s)) report(goro::wall(now));
recv_chan<clock::time_point> tick(clock::duration d);

// time.Ticker: delivers the time on c() every d, dropping ticks for a slow reader.
// Destroying it stops it. d must be positive: otherwise the constructor throws
// panic_error("non-positive interval for NewTicker"), as Go panics. Move-only; no member
// blocks.
class ticker {
 public:
  explicit ticker(clock::duration d);
  ticker(ticker&& o) noexcept : t_(std::exchange(o.t_, nullptr)), c_(std::move(o.c_)) {}
  ticker& operator=(ticker&& o) noexcept {
    std::swap(t_, o.t_);
    std::swap(c_, o.c_);
    return *this;
  }
  ~ticker() {
    if (t_) detail::timer_stop(t_);
    detail::timer_release(t_);
  }

  recv_chan<clock::time_point> c() const& { return c_; }
  // Not on a temporary: `for (auto t : goro::ticker(d).c())` would range over the channel
  // of a ticker stopped at the end of that statement, before its first tick, and hang.
  // Use goro::tick(d), or a named ticker.
  recv_chan<clock::time_point> c() && = delete;
  void stop() noexcept {
    if (t_) detail::timer_stop(t_);
  }
  // Stops the ticker and restarts it with period d. Throws panic_error("non-positive
  // interval for Ticker.Reset") for d <= 0.
  void reset(clock::duration d);

 private:
  detail::timer_state* t_ = nullptr;
  chan<clock::time_point> c_;
};

}  // namespace goro
