// wait_group, mutex, rw_mutex: each a small spinlock-guarded state plus FIFO queues of
// parked waiters, woken with the lock released. Ownership passes directly to the woken
// waiter (a mutex unlock with waiters keeps the lock held for the one it wakes), so a waiter
// never has to compete again after it was woken.
#include <goro/sync.hpp>

#include <atomic>
#include <mutex>

#include "sched.hpp"
#include "synctest.hpp"
#include "waitq.hpp"

namespace goro {

namespace {

// park's unlock callback (the analysis cannot see which lock it releases).
void unlock_spinlock(void* l) GORO_NO_THREAD_SAFETY_ANALYSIS {
  static_cast<detail::spinlock*>(l)->unlock();
}

// Parks the caller on q (lock held on entry, released by the park). Throws goroutine_exit if
// shutdown woke it without the wait having been granted. Returns whether the caller must
// unwind although its wait was granted (main_fn has returned: see unwind_if_exiting); the
// caller then gives back what it was granted and throws.
// (Annotated as releasing `lock`, for its callers' analysis; its own body hands the lock
// to park, which the analysis cannot follow.)
[[nodiscard]] bool wait_on(detail::waitq& q, detail::spinlock& lock, detail::wait_reason why)
    GORO_RELEASE(lock) GORO_NO_THREAD_SAFETY_ANALYSIS {
  detail::g* gp = detail::current_g();
  detail::waiter me;
  me.gp = gp;
  gp->on_stack().param = nullptr;
  detail::enqueue(q, &me);
  detail::park(gp, &unlock_spinlock, &lock, why);
  {
    std::lock_guard<detail::spinlock> hold(lock);
    if (me.queued) {
      detail::unlink(q, &me);
      throw detail::goroutine_exit{};
    }
  }
  return detail::must_unwind_now(gp);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// wait_group

namespace {
constexpr int kCounterShift = 32;
std::int64_t wg_counter(std::uint64_t state) noexcept {
  return static_cast<std::int32_t>(state >> kCounterShift);
}
std::uint32_t wg_waiters(std::uint64_t state) noexcept {
  return static_cast<std::uint32_t>(state);
}
}  // namespace

// The counter changes without the lock. A waiter registers (waiters + 1) and queues itself
// in one critical section, so an add() that finds the counter at zero with waiters
// registered finds them all queued once it holds the lock. wait() returns at once only when
// both halves are zero: with waiters still registered it takes the lock, so that it cannot
// return (and its caller destroy the group) while an add() is still waking the others.
void wait_group::join_bubble() noexcept {
  if (bubble_.load(std::memory_order_relaxed)) return;
  void* none = nullptr;
  if (void* b = detail::current_bubble()) {
    bubble_.compare_exchange_strong(none, b, std::memory_order_relaxed);
  }
}

void wait_group::add(std::int64_t delta) {
  if (detail::synctest_bubbles.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    join_bubble();
  }
  const std::uint64_t d = static_cast<std::uint64_t>(delta) << kCounterShift;
  const std::uint64_t state = state_.fetch_add(d, std::memory_order_acq_rel) + d;
  const std::int64_t counter = wg_counter(state);
  if (counter < 0) {
    state_.fetch_sub(d, std::memory_order_relaxed);
    throw panic_error("sync: negative WaitGroup counter");
  }
  if (counter > 0 || wg_waiters(state) == 0) return;
  lock_.lock();
  if (wg_counter(state_.load(std::memory_order_relaxed)) != 0) {  // added to again meanwhile
    lock_.unlock();
    return;
  }
  detail::waiter* all = waiters_.first;
  for (detail::waiter* w = all; w; w = w->next) w->queued = false;
  waiters_ = {};
  state_.store(0, std::memory_order_relaxed);
  lock_.unlock();
  // Nothing touches *this from here on: a waiter may destroy it as soon as it wakes.
  while (all) {
    detail::waiter* next = all->next;
    detail::wake(all, true);
    all = next;
  }
}

void wait_group::wait() {
  if (state_.load(std::memory_order_acquire) == 0) return;
  lock_.lock();
  std::uint64_t state = state_.load(std::memory_order_acquire);
  do {
    if (wg_counter(state) == 0) {
      lock_.unlock();
      return;
    }
  } while (!state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel));
  // Durable only for a group of the caller's own bubble: another may be released from
  // outside it.
  void* b = bubble_.load(std::memory_order_relaxed);
  const auto why = b && b == detail::bubble_of(detail::current_g())
                       ? detail::wait_reason::wait_group_durable
                       : detail::wait_reason::wait_group;
  if (wait_on(waiters_, lock_, why)) throw detail::goroutine_exit{};
}

// ---------------------------------------------------------------------------------------
// mutex
//
// state_: kLocked while held; kWaiters while waiters_ is non-empty (changed only under
// lock_). unlock() with kWaiters set hands the lock to the first waiter without clearing
// kLocked, so fast-path lockers cannot overtake the queue.

void mutex::lock_slow() {
  lock_.lock();
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (!(s & kLocked)) {
      if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire)) {
        lock_.unlock();
        return;
      }
      continue;
    }
    if (s & kWaiters || state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed)) {
      break;
    }
  }
  const bool exiting = wait_on(waiters_, lock_, detail::wait_reason::mutex);
  // Handed over by unlock_slow: its release store of state_ carries the previous holder's
  // writes. (An acquire load rather than a fence, which ThreadSanitizer does not model.)
  (void)state_.load(std::memory_order_acquire);
  if (exiting) {
    unlock();  // never seen by the caller, so that the goroutines unwinding after it may lock
    throw detail::goroutine_exit{};
  }
}

void mutex::unlock_slow() {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  if (!(s & kLocked)) detail::fatal("sync: unlock of unlocked mutex");
  lock_.lock();
  detail::waiter* w = detail::dequeue(waiters_);
  if (!w) {
    state_.store(0, std::memory_order_release);
    lock_.unlock();
    return;
  }
  // Hand over: stays locked, now on behalf of w.
  state_.store(detail::empty(waiters_) ? kLocked : kLocked | kWaiters, std::memory_order_release);
  lock_.unlock();
  detail::wake(w, true);
}

// ---------------------------------------------------------------------------------------
// rw_mutex

void rw_mutex::lock() {
  lock_.lock();
  if (!writer_ && readers_ == 0) {
    writer_ = true;
    lock_.unlock();
    return;
  }
  ++waiting_writers_;
  bool exiting;
  try {
    exiting = wait_on(writers_q_, lock_, detail::wait_reason::rw_mutex_write);
  } catch (const detail::goroutine_exit&) {
    std::lock_guard<detail::spinlock> hold(lock_);
    --waiting_writers_;
    throw;
  }
  if (exiting) {
    unlock();  // granted, but main_fn has returned: give it back and unwind
    throw detail::goroutine_exit{};
  }
}

bool rw_mutex::try_lock() noexcept {
  std::lock_guard<detail::spinlock> hold(lock_);
  if (writer_ || readers_ > 0) return false;
  writer_ = true;
  return true;
}

void rw_mutex::unlock() {
  lock_.lock();
  if (!writer_) {
    lock_.unlock();
    detail::fatal("sync: Unlock of unlocked RWMutex");
  }
  writer_ = false;
  // Readers that waited behind this writer go first; then the next writer.
  detail::waiter* wake_list = nullptr;
  if (!detail::empty(readers_q_)) {
    wake_list = readers_q_.first;
    for (detail::waiter* w = wake_list; w; w = w->next) {
      w->queued = false;
      ++readers_;
    }
    readers_q_ = {};
  } else if (detail::waiter* w = detail::dequeue(writers_q_)) {
    --waiting_writers_;
    writer_ = true;
    w->next = nullptr;
    wake_list = w;
  }
  lock_.unlock();
  while (wake_list) {
    detail::waiter* next = wake_list->next;
    detail::wake(wake_list, true);
    wake_list = next;
  }
}

void rw_mutex::lock_shared() {
  lock_.lock();
  if (!writer_ && waiting_writers_ == 0) {
    ++readers_;
    lock_.unlock();
    return;
  }
  if (wait_on(readers_q_, lock_, detail::wait_reason::rw_mutex_read)) {
    unlock_shared();  // granted, but main_fn has returned: give it back and unwind
    throw detail::goroutine_exit{};
  }
}

bool rw_mutex::try_lock_shared() noexcept {
  std::lock_guard<detail::spinlock> hold(lock_);
  if (writer_ || waiting_writers_ > 0) return false;
  ++readers_;
  return true;
}

void rw_mutex::unlock_shared() {
  lock_.lock();
  if (readers_ == 0) {
    lock_.unlock();
    detail::fatal("sync: RUnlock of unlocked RWMutex");
  }
  detail::waiter* w = nullptr;
  if (--readers_ == 0) {
    w = detail::dequeue(writers_q_);
    if (w) {
      --waiting_writers_;
      writer_ = true;
    }
  }
  lock_.unlock();
  if (w) detail::wake(w, true);
}

}  // namespace goro
