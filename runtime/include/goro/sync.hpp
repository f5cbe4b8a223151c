// Go's sync package: wait_group, mutex, rw_mutex, once. They park the goroutine, not the
// worker thread, and also work from plain threads (which they block).
//
//   goro::wait_group wg;
//   for (int i = 0; i < 10; ++i) wg.go([i] { work(i); });   // wg.Add(1); go func(){...; wg.Done()}
//   wg.wait();
//
//   goro::mutex mu;
//   { std::lock_guard lock(mu); counter++; }
#pragma once

#include <cstdint>
#include <source_location>
#include <utility>

#include <goro/detail/atomic.hpp>
#include <goro/detail/mutex.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_queue.hpp>

namespace goro {

// sync.WaitGroup. It may be destroyed as soon as wait() returns. Every member may be called
// at once from any goroutine or thread.
class wait_group {
 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  // Adds delta (may be negative) to the counter; at zero, releases every waiter. A
  // negative counter throws panic_error("sync: negative WaitGroup counter").
  void add(std::int64_t delta);
  // Never blocks (add wakes the waiters, it does not wait for them).
  void done() { add(-1); }
  // Blocks until the counter is zero (returns at once if it is). Throws nothing of its own.
  void wait();
  // add(1), then runs f() in a new goroutine that calls done() when f returns (or throws:
  // an exception escaping f is then a panic). Never blocks. Throws as goro::go does
  // (panic_error outside goro::run, std::bad_alloc).
  template <class F>
  void go(F f, const std::source_location& where = std::source_location::current()) {
    add(1);
    detail::spawn(0, where, [this, f = std::move(f)]() mutable {
      struct finish {
        wait_group* wg;
        ~finish() { wg->done(); }
      } guard{this};
      f();
    });
  }

 private:
  // Go's layout: the counter in the high 32 bits, the number of waiters in the low 32
  // (changed only under lock_), so done() is one atomic add while nobody waits.
  detail::atomic<std::uint64_t> state_{0};
  detail::spinlock lock_;
  detail::waitq waiters_;
  // The synctest bubble of the first add() made in one (Go 1.25), whose goroutines are then
  // durably blocked in wait(); null outside bubbles.
  detail::atomic<void*> bubble_{nullptr};
  void join_bubble() noexcept;
};

// sync.Mutex: Lockable, so std::lock_guard and std::unique_lock work. It may be unlocked by
// another goroutine or thread. Waiters are served in FIFO order. Not recursive. Every member
// may be called at once from any goroutine or thread.
class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  // Blocks (parks) until the mutex is free. Throws nothing of its own.
  void lock() {
    std::uint32_t unlocked = 0;
    if (!state_.compare_exchange_strong(unlocked, kLocked, detail::mo::acquire)) lock_slow();
  }
  // Takes the mutex if it is free now; never blocks.
  bool try_lock() noexcept {
    std::uint32_t unlocked = 0;
    return state_.compare_exchange_strong(unlocked, kLocked, detail::mo::acquire);
  }
  // Unlocking an unlocked mutex is a fatal error, as in Go: "fatal error: sync: unlock of
  // unlocked mutex", exit status 2 (not an exception). Never blocks.
  void unlock() {
    std::uint32_t locked = kLocked;
    if (!state_.compare_exchange_strong(locked, 0, detail::mo::release)) unlock_slow();
  }

 private:
  static constexpr std::uint32_t kLocked = 1, kWaiters = 2;
  void lock_slow();
  void unlock_slow();

  detail::atomic<std::uint32_t> state_{0};
  detail::spinlock lock_;  // guards waiters_ and the kWaiters bit
  detail::waitq waiters_;
};

// sync.RWMutex: also lock_shared / unlock_shared, so std::shared_lock works. A writer that
// waits blocks new readers; when it unlocks, the readers that waited go first.
// lock and lock_shared block (park); the try_ forms and the unlocks never do. unlock
// without a writer is fatal ("sync: Unlock of unlocked RWMutex"), unlock_shared without a
// reader too ("sync: RUnlock of unlocked RWMutex"), as in Go. Every member may be called at
// once from any goroutine or thread.
class rw_mutex {
 public:
  rw_mutex() = default;
  rw_mutex(const rw_mutex&) = delete;
  rw_mutex& operator=(const rw_mutex&) = delete;

  void lock();
  bool try_lock() noexcept;
  void unlock();
  void lock_shared();
  bool try_lock_shared() noexcept;
  void unlock_shared();

 private:
  detail::spinlock lock_;
  std::uint32_t readers_ = 0;          // active readers
  std::uint32_t waiting_writers_ = 0;  // writers queued in writers_
  bool writer_ = false;                // a writer holds the lock
  detail::waitq readers_q_, writers_q_;
};

// sync.Once: call(f) runs f the first time only; later calls wait for it to finish. As in
// Go, f counts as done even if it throws; the exception reaches the first caller only.
// Blocks while another goroutine's first call runs f. Any goroutine or thread.
class once {
 public:
  template <class F>
  void call(F&& f) {
    if (done_.load(detail::mo::acquire)) return;
    std::lock_guard<mutex> hold(m_);
    if (done_.load(detail::mo::relaxed)) return;
    struct mark {
      detail::atomic<bool>& done;
      ~mark() { done.store(true, detail::mo::release); }
    } guard{done_};
    std::forward<F>(f)();
  }

 private:
  detail::atomic<bool> done_{false};
  mutex m_;
};

}  // namespace goro
