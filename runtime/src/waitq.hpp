// FIFO queues of parked waiters (Go's waitq), shared by channels and the sync types.
//
// dequeue() skips (and unlinks) the waiters of a select that another waker has already
// claimed: a select is completed by exactly one waiter, the one whose waker wins the CAS
// on its goroutine's select_done. Callers hold the lock that guards the queue.
#pragma once

#include <atomic>

#include <goro/detail/wait_queue.hpp>

#include "goroutine.hpp"

namespace goro::detail {

// `first` is also read without the lock, by non-blocking selects (see has_waiter).
inline void set_first(waitq& q, waiter* w) noexcept {
  std::atomic_ref<waiter*>(q.first).store(w, std::memory_order_relaxed);
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
  w->queued = true;
}

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
  w->queued = false;
}

inline waiter* dequeue(waitq& q) noexcept {
  while (waiter* w = q.first) {
    unlink(q, w);
    if (w->is_select) {
      std::uint32_t open = 0;
      if (!w->gp->select_done.compare_exchange_strong(open, 1, std::memory_order_acq_rel)) {
        continue;  // its select already completed through another case
      }
    }
    return w;
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
