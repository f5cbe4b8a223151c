// Internals of goro::timer and goro::ticker: runtime/src/timer.cpp.
#pragma once

#include <goro/detail/chan_core.hpp>
#include <goro/detail/chrono.hpp>
#include <goro/detail/task.hpp>

namespace goro::detail {

struct timer_state;  // counted; lives in a worker's timer heap while pending

// A timer that sends the time on `c` (a channel of capacity 1) after `d`, then every
// `period` if that is positive. The timer holds its own reference to `c`.
timer_state* timer_new_chan(std::chrono::steady_clock::duration d,
                            std::chrono::steady_clock::duration period, chan_core* c);
// A timer that runs `f` in a new goroutine after `d`.
timer_state* timer_new_func(std::chrono::steady_clock::duration d, task f);
// true if the call stopped the timer before it fired (Go 1.23: also when a value was
// waiting in its channel, which is drained).
bool timer_stop(timer_state* t) noexcept;
// Stops and restarts the timer; returns whether it had been active.
bool timer_reset(timer_state* t, std::chrono::steady_clock::duration d,
                 std::chrono::steady_clock::duration period) noexcept;
void timer_release(timer_state* t) noexcept;

}  // namespace goro::detail
