// golang.org/x/sync/semaphore's algorithm. The mutex is held only for bookkeeping and
// non-blocking channel operations (a close, a select with a default), never while waiting.
#include <goro/semaphore.hpp>

#include <exception>
#include <mutex>

#include <goro/panic.hpp>
#include <goro/select.hpp>

namespace goro {

std::error_code semaphore::acquire(const context& ctx, std::int64_t n) {
  recv_chan<unit> done = ctx.done();
  std::unique_lock<std::mutex> lock(mu_);
  if (goro::select(on_recv(done), on_default()) == 0) {
    // As x/sync does: a done context fails even if the units are there.
    return ctx.err();
  }
  if (size_ - cur_ >= n && head_ == nullptr) {
    cur_ += n;
    return {};
  }
  if (n > size_) {
    // Can never be satisfied: do not block the waiters behind it; wait for ctx.
    lock.unlock();
    done.recv();
    return ctx.err();
  }
  chan<unit> ready = make_chan<unit>();
  waiter w{n, ready, tail_, nullptr};
  (tail_ ? tail_->next : head_) = &w;
  tail_ = &w;
  lock.unlock();
  // The node lives on this stack: if the select below unwinds (the runtime exits under a
  // parked goroutine), it must leave the queue first, or a release() from another
  // goroutine's unwinding would walk into a dead frame.
  struct unlink_on_unwind {
    semaphore& s;
    waiter& w;
    int unwinding = std::uncaught_exceptions();
    ~unlink_on_unwind() {
      if (std::uncaught_exceptions() <= unwinding) return;  // returned: w is unlinked
      std::lock_guard<std::mutex> guard(s.mu_);
      if (w.prev != nullptr || s.head_ == &w) s.unlink(w);
    }
  } guard{*this, w};

  if (goro::select(on_recv(done), on_recv(ready)) == 1) {
    // Granted. If ctx is done by now, x/sync gives the units back and reports ctx's error,
    // so that a canceled caller never goes on with the units.
    if (goro::select(on_recv(done), on_default()) == 0) {
      release(n);
      return ctx.err();
    }
    return {};
  }
  lock.lock();
  if (goro::select(on_recv(ready), on_default()) == 0) {
    // Granted just after the cancellation: give the units back.
    cur_ -= n;
    notify_waiters();
  } else {
    bool front = head_ == &w;
    unlink(w);
    // If we were first in line and there is room, the ones behind us may go now.
    if (front && size_ > cur_) notify_waiters();
  }
  return ctx.err();
}

bool semaphore::try_acquire(std::int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  bool ok = size_ - cur_ >= n && head_ == nullptr;
  if (ok) cur_ += n;
  return ok;
}

void semaphore::release(std::int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  cur_ -= n;
  if (cur_ < 0) {
    cur_ += n;
    throw panic_error("semaphore: released more than held");
  }
  notify_waiters();
}

void semaphore::notify_waiters() {
  while (head_ != nullptr) {
    waiter& w = *head_;
    // Not enough for the next waiter: stop, so that it is not starved by smaller ones.
    if (size_ - cur_ < w.n) break;
    cur_ += w.n;
    // Unlinked before the close, which lets the waiter return and its node go away.
    chan<unit> ready = w.ready;
    unlink(w);
    ready.close();
  }
}

void semaphore::unlink(waiter& w) {
  (w.prev ? w.prev->next : head_) = w.next;
  (w.next ? w.next->prev : tail_) = w.prev;
  w.prev = w.next = nullptr;
}

}  // namespace goro
