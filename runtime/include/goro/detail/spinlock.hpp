// A small lock for the runtime's short critical sections (a channel's queues, a timer heap).
//
// It spins briefly and then yields the thread, so a holder that was preempted by the OS gets
// the core back. Nothing that can block or switch goroutines runs while it is held.
#pragma once

#include <atomic>

namespace goro::detail {

// Waits until `flag` reads false. `nested`: the caller holds other locks, so it polls often
// rather than backing off (whoever waits for those must not wait for this wait too).
void spin_wait_slow(const std::atomic<bool>& flag, bool nested = false) noexcept;

// One short busy-wait step (the CPU's pause instruction).
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class spinlock {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) spin_wait_slow(locked_);
  }
  // lock() for a caller that already holds other spinlocks (a select locking its channels).
  void lock_nested() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) spin_wait_slow(locked_, true);
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace goro::detail
