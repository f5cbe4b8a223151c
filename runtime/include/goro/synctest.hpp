// Deterministic tests of concurrent code: Go 1.25's testing/synctest (API.md §10).
//
//   goro::synctest::run([] {
//     auto [ctx, cancel] = goro::with_timeout(goro::background(), 10min);
//     goro::sleep(10min - 1ns);
//     goro::synctest::wait();              // every other bubble goroutine durably blocked
//     assert(!ctx.err());
//     goro::sleep(1ns);                    // the clock jumps: the test takes microseconds
//     goro::synctest::wait();
//     assert(ctx.err());
//   });
//
// run(f) runs f in a new goroutine inside a *bubble*; every goroutine started inside the
// bubble belongs to it too. Inside, goro::now(), sleep, after, timer, ticker, tick,
// after_func and context deadlines use the bubble's fake clock, which starts at
// 2000-01-01 00:00:00 UTC (as Go's; goro::wall() prints it as that date) and moves only
// when every goroutine of the bubble is *durably blocked*, jumping to the bubble's next
// timer. Durably blocked means blocked on something only the bubble can end: a send,
// receive or select on channels created in the bubble (a nil channel included), sleep,
// wait_group::wait of a group first added to in the bubble, or synctest::wait. A goroutine
// blocked on a mutex, on I/O, in goro::blocking or on a channel from outside the bubble
// is not durably blocked, and the bubble's clock waits for it as long as it takes.
//
// A channel created in a bubble belongs to it: a send, receive or close from outside the
// bubble throws panic_error("send on synctest channel from outside bubble") (Go's
// messages; Go makes them fatal).
//
// Reference: docs/reference.md §10.
#pragma once

#include <source_location>

#include <goro/detail/fake_clock.hpp>
#include <goro/detail/spawn.hpp>

namespace goro::detail {
// Runs body(arg) in a new goroutine, started at `where`, in a new bubble (synctest.cpp).
void synctest_run(void (*body)(void*), void* arg, const std::source_location& where);
}  // namespace goro::detail

namespace goro::synctest {

// synctest.Test: runs f in a new goroutine in a new bubble and returns when f and every
// goroutine of the bubble have ended. Once f has returned the clock stops; if every
// goroutine left is durably blocked with no timer to fire (or the clock stopped), throws
// panic_error("deadlock: all goroutines in bubble are blocked", or "deadlock: main bubble
// goroutine has exited but blocked goroutines remain") followed by a line per blocked
// goroutine; they stay blocked. Timers of the bubble that have not fired when it ends
// never fire. Call it from a goroutine outside any bubble: otherwise throws panic_error.
// An exception escaping f is a panic, as in any goroutine.
template <class F>
void run(F f, const std::source_location& where = std::source_location::current()) {
  detail::synctest_run([](void* p) { (*static_cast<F*>(p))(); }, &f, where);
}

// synctest.Wait: blocks until every other goroutine of the caller's bubble is durably
// blocked (or has ended); timers due at the bubble's current time fire first, but the clock
// does not move. Throws panic_error("goroutine is not in a bubble") outside a bubble, and
// panic_error("wait already in progress") if another goroutine of the bubble is waiting.
void wait();

}  // namespace goro::synctest
