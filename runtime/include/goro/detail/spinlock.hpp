// A small lock for the runtime's short critical sections (a channel's queues, a timer heap).
//
// It spins briefly and then yields the thread, so a holder that was preempted by the OS gets
// the core back. Nothing that can block or switch goroutines runs while it is held.
#pragma once

#include "atomic.hpp"
#include "thread_safety.hpp"

namespace goro::detail {

// Waits until `flag` reads false. Polls seldom, so that a holder running a burst keeps its
// cache line; `eager`: polls often, for a waiter whose wait others wait on (see spinlock.cpp).
void spin_wait_slow(const atomic<bool>& flag, bool eager = false) noexcept;

// One short busy-wait step (the CPU's pause instruction).
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class GORO_CAPABILITY("spinlock") spinlock {
 public:
  void lock() noexcept GORO_ACQUIRE() {
    while (locked_.exchange(true, mo::acquire)) spin_wait_slow(locked_);
  }
  // lock() for a caller whose wait holds up others: a select locking its channels (it holds
  // some of them, and in a pipeline every value waits for it).
  void lock_eager() noexcept GORO_ACQUIRE() {
    while (locked_.exchange(true, mo::acquire)) spin_wait_slow(locked_, true);
  }
  bool try_lock() noexcept GORO_TRY_ACQUIRE(true) { return !locked_.exchange(true, mo::acquire); }
  void unlock() noexcept GORO_RELEASE() { locked_.store(false, mo::release); }
  // Whether some thread holds the lock, for GORO_ASSERT where the analysis cannot look.
  bool is_locked() const noexcept { return locked_.load(mo::relaxed); }

 private:
  atomic<bool> locked_{false};
};

// std::lock_guard for a spinlock, annotated for the thread-safety analysis (the standard
// library's guards are not): the analysis knows the lock is held in its scope.
class GORO_SCOPED_CAPABILITY spin_guard {
 public:
  explicit spin_guard(spinlock& l) noexcept GORO_ACQUIRE(l) : l_(l) { l_.lock(); }
  ~spin_guard() GORO_RELEASE() { l_.unlock(); }
  spin_guard(const spin_guard&) = delete;
  spin_guard& operator=(const spin_guard&) = delete;

 private:
  spinlock& l_;
};

}  // namespace goro::detail
