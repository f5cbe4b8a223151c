// FIFO queues of parked waiters (Go's waitq), shared by channels and the sync types.
//
// dequeue() skips (and unlinks) the waiters of a select that another waker has already
// claimed, or that is over: a select is completed by exactly one waiter, the one whose
// waker wins the CAS on its goroutine's select_done (see g_on_stack::select_done). Callers
// hold the lock that guards the queue.
#pragma once

#include <atomic>

#include <goro/detail/wait_queue.hpp>

#include "goroutine.hpp"

namespace goro::detail {

// `first` is also read without the lock, by non-blocking selects (see has_waiter).
inline void set_first(waitq& q, waiter* w) noexcept {
  std::atomic_ref<waiter*>(q.first).store(w, std::memory_order_relaxed);
}

// The Dekker pair of a buffered channel (the top of chan.cpp): a goroutine about to park
// shows itself with a seq_cst store of `first`, a lock-free push or pop looks with a seq_cst
// load.
inline void publish_first(waitq& q) noexcept {
  std::atomic_ref<waiter*>(q.first).store(q.first, std::memory_order_seq_cst);
}
inline bool has_waiter_sc(const waitq* q) noexcept {  // by address, as has_waiter
  return std::atomic_ref<waiter*>(const_cast<waiter*&>(q->first)).load(std::memory_order_seq_cst) !=
         nullptr;
}

// `queued` is also read without the lock, by the waiter's own select: see waiter::queued.
inline void set_queued(waiter* w, bool queued) noexcept {
  std::atomic_ref<bool>(w->queued).store(queued, std::memory_order_release);
}
inline bool is_queued(waiter* w) noexcept {
  return std::atomic_ref<bool>(w->queued).load(std::memory_order_acquire);
}

inline void enqueue(waitq& q, waiter* w) noexcept {
  w->next = nullptr;
  w->prev = q.last;
  if (q.last) {
    q.last->next = w;
  } else {
    set_first(q, w);
  }
  q.last = w;
  set_queued(w, true);
}

// The last write to w is queued = false: once its select reads that, nobody touches w.
inline void unlink(waitq& q, waiter* w) noexcept {
  if (w->prev) {
    w->prev->next = w->next;
  } else {
    set_first(q, w->next);
  }
  if (w->next) {
    w->next->prev = w->prev;
  } else {
    q.last = w->prev;
  }
  w->prev = w->next = nullptr;
  set_queued(w, false);
}

// Puts `w` in `old`'s place in q (w takes over old's links; old leaves the queue).
inline void replace(waitq& q, waiter* old, waiter* w) noexcept {
  w->prev = old->prev;
  w->next = old->next;
  if (w->prev) {
    w->prev->next = w;
  } else {
    set_first(q, w);
  }
  if (w->next) {
    w->next->prev = w;
  } else {
    q.last = w;
  }
  set_queued(w, true);
  old->prev = old->next = nullptr;
  set_queued(old, false);
}

inline waiter* dequeue(waitq& q) noexcept {
  while (waiter* w = q.first) {
    // Claim w before unlinking it: once unlinked, a waiter that loses may be gone.
    bool claimed = true;
    if (w->is_select) {
      std::uint64_t open = w->gen;
      claimed =
          w->gp->on_stack().select_done.compare_exchange_strong(open, 0, std::memory_order_acq_rel);
    }
    unlink(q, w);
    if (claimed) return w;
    // Its select completed through another case, or is over (a kept waiter, see select.cpp).
  }
  return nullptr;
}

inline bool empty(const waitq& q) noexcept {
  return q.first == nullptr;
}

// Completes `w` (success: it got or gave a value, or was granted what it waited for; false:
// its channel closed) and readies its goroutine. `w` may be gone once this returns.
void wake(waiter* w, bool success) noexcept;

}  // namespace goro::detail
