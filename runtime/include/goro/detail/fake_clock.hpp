// What goro::now() needs to know about synctest bubbles (runtime/src/synctest.cpp), without
// the rest of synctest: while no bubble exists, now() is the steady clock and pays one
// relaxed load of a counter for the check.
#pragma once

#include <goro/detail/atomic.hpp>
#include <goro/detail/chrono.hpp>

namespace goro::detail {

// Bubbles alive (synctest::run calls in progress).
extern atomic<unsigned> synctest_bubbles;

// The calling goroutine's bubble's clock, or the steady clock outside bubbles.
std::chrono::steady_clock::time_point synctest_now() noexcept;

}  // namespace goro::detail
