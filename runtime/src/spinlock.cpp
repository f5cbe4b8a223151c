#include <goro/detail/spinlock.hpp>

#include <sched.h>

namespace goro::detail {

// Contended path: poll with a plain load, backing off exponentially between polls (1, 2, 4
// ... 64 pause instructions, about Go's procyield(30) at the end), then give the core away,
// since on an oversubscribed machine the holder may be waiting for it. Polling less often
// leaves the holder's cache line alone, so a holder that takes the lock again at once (a
// thread sending a burst into a buffered channel) runs its burst at full speed. A waiter
// that holds other locks polls at every pause instead (about 25 ns here), for about 10 us:
// while it backs off, everyone waiting for its locks waits too.
void spin_wait_slow(const std::atomic<bool>& flag, bool nested) noexcept {
  const int polls_before_yield = nested ? 400 : 12;
  const int max_pauses = nested ? 1 : 64;
  int pauses = 1;
  for (int round = 0; flag.load(std::memory_order_relaxed); ++round) {
    if (round < polls_before_yield) {
      for (int i = 0; i < pauses; ++i) spin_pause();
      if (pauses < max_pauses) pauses *= 2;
    } else {
      sched_yield();
    }
  }
}

}  // namespace goro::detail
