#include <goro/detail/spinlock.hpp>

#include <sched.h>

namespace goro::detail {

// Contended path: spin on a plain load (no cache-line ping-pong), then give the core away,
// since on an oversubscribed machine the holder may be waiting for it.
void spin_wait_slow(const std::atomic<bool>& flag) noexcept {
  for (int i = 0; flag.load(std::memory_order_relaxed); ++i) {
    if (i < 64) {
      spin_pause();
    } else {
      sched_yield();
    }
  }
}

}  // namespace goro::detail
