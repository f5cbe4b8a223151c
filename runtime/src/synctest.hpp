// synctest bubbles (Go 1.25's testing/synctest, runtime/synctest.go): a group of goroutines
// with a fake clock and a timer heap of its own.
//
// Invariants (all counters under bubble::mu):
// - total counts the bubble's live goroutines: +1 when one is started inside the bubble
//   (children inherit g::bubble_slot), -1 as it exits.
// - running counts those that are not durably blocked: runnable, running, or parked for a
//   reason that is_durable() says something outside the bubble may end (a mutex, I/O).
//   A durable park takes it down by one (bubble_parking), the ready() of a goroutine whose
//   reason is durable puts it back (bubble_readied); exactly one ready follows each park.
// - active counts durable parks whose unlock has not finished yet (Go's incActive around
//   park_m's waitunlockf): a sleep arms its timer and a channel waiter becomes findable
//   only in the unlock, so the bubble is idle only when running == 0 and active == 0.
// - When the bubble becomes idle, the goroutine that made it so readies the root (the
//   caller of synctest::run, parked outside the bubble), which is the only one that moves
//   the clock and fires the bubble's timers (with g::bubble_slot set to the bubble's, so that what
//   they start belongs to it), wakes synctest::wait's caller, or reports the deadlock.
// - A bubble lives until total == 0 and active == 0 (nothing touches it after that);
//   a deadlocked bubble is never freed: its goroutines stay parked and point to it.
#pragma once

#include <atomic>
#include <cstdint>

#include <goro/detail/fake_clock.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/thread_safety.hpp>

#include "goroutine.hpp"
#include "timer.hpp"

namespace goro::detail {

struct bubble {
  spinlock mu;
  std::uint64_t id = 0;
  std::uint32_t slot = 0;  // in bubble_table
  // The fake clock, in nanoseconds since the Unix epoch; written by the root only, while
  // every goroutine of the bubble is durably blocked. Atomic: dumps and the root read it.
  std::atomic<std::int64_t> now{0};
  timer_heap timers;  // the bubble's timers, fired by the root only (deadline == when)
  int total GORO_GUARDED_BY(mu) = 0;
  int running GORO_GUARDED_BY(mu) = 0;
  int active GORO_GUARDED_BY(mu) = 0;
  g* root = nullptr;
  bool root_parked GORO_GUARDED_BY(mu) = false;
  g* waiter GORO_GUARDED_BY(mu) = nullptr;  // synctest::wait's caller
  bool done GORO_GUARDED_BY(mu) = false;    // f has returned: the clock stops
};

// Bubbles by slot (g::bubble_slot); slot 0 is none. A slot is taken by synctest::run and
// given back when its bubble ends (a deadlocked bubble keeps its slot).
constexpr std::uint32_t kMaxBubbles = 4096;
extern std::atomic<bubble*> bubble_table[kMaxBubbles];
inline bubble* bubble_of(const g* gp) noexcept {
  return gp->bubble_slot ? bubble_table[gp->bubble_slot].load(std::memory_order_relaxed) : nullptr;
}

// Whether a goroutine parked for `why` can only be woken from inside its bubble.
constexpr bool is_durable(wait_reason why) noexcept {
  switch (why) {
    case wait_reason::chan_receive_nil:
    case wait_reason::chan_send_nil:
    case wait_reason::select_no_cases:
    case wait_reason::sleep:
    case wait_reason::chan_receive_durable:
    case wait_reason::chan_send_durable:
    case wait_reason::select_durable:
    case wait_reason::wait_group_durable:
    case wait_reason::synctest_wait:
      return true;
    default:
      return false;
  }
}

// The bubble of the goroutine running on this thread, or null (a plain thread, or no
// bubble alive: then this costs one relaxed load).
bubble* current_bubble() noexcept;
// Whether the calling goroutine is in a bubble.
inline bool synctest_in_bubble() noexcept {
  return synctest_bubbles.load(std::memory_order_relaxed) != 0 && current_bubble() != nullptr;
}

// The scheduler's hooks, each called only for a goroutine with g::bubble_slot set (or,
// for bubble_started, a parent with it set), behind one predictable branch.
// gp was spawned by `parent`, a goroutine of a bubble: gp joins it. Before gp is queued.
void bubble_started(g* parent, g* gp) noexcept;
// gp (of a bubble) has finished its body and is about to exit.
void bubble_exiting(g* gp) noexcept;
// gp (of a bubble) parks for `why`: if the park is durable, replaces unlock and arg by
// a wrapper that runs them and then counts gp durably blocked (see active above).
void bubble_parking(g* gp, wait_reason why, void (*&unlock)(void*), void*& arg) noexcept;
// gp (of a bubble) is being readied, its reason not yet reset.
void bubble_readied(g* gp) noexcept;

// The channel operations' check: a channel of bubble b (not null) is used; the caller
// must be in b. Throws panic_error(message) otherwise (Go's "send on synctest channel from
// outside bubble", and so on).
void bubble_check_chan(const bubble* b, const char* message);

// A timer's clock: the bubble's (b set) or the steady clock's, in nanoseconds.
std::int64_t bubble_nanotime(const bubble* b) noexcept;

}  // namespace goro::detail
