#include <goro/detail/spinlock.hpp>

#include <sched.h>

#include <atomic>

namespace goro::detail {

// Contended path. lock() waits as Go's runtime lock does: polls 30 pause instructions apart
// (about 0.75 us here), four of them, then gives the core away between polls, since on an
// oversubscribed machine the holder may be waiting for it. Polling that seldom leaves the
// holder its cache line: a thread doing a burst of operations on one channel (a producer
// filling a buffer, two threads passing tokens through two channels) runs them at the speed
// of its own cache instead of losing the line to every poll. (Backing off exponentially
// from one pause polled early, in the middle of the holder's critical section: P=2,
// SelectAsyncContended 72 ns/op instead of 40, ChanSem 23 instead of 15, ChanContended
// 2100 instead of 1330.)
// lock_eager() polls at every pause (about 25 ns), for about 10 us, then yields: a select
// locking its channels holds, or is about to hold, other locks, and in a pipeline its wait
// is on the path of every value (0.75 us steps cost PipelineDone1M 10%).
void spin_wait_slow(const atomic<bool>& flag, bool eager) noexcept {
  const int polls_before_yield = eager ? 400 : 4;
  const int pauses = eager ? 1 : 30;
  for (int round = 0; flag.load(std::memory_order_relaxed); ++round) {
    if (round < polls_before_yield) {
      for (int i = 0; i < pauses; ++i) spin_pause();
    } else {
      sched_yield();
    }
  }
}

}  // namespace goro::detail
