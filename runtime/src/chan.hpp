// A channel (Go's hchan): two FIFO queues of parked waiters under a lock, and for a buffered
// channel a ring of elements (chan_ring.hpp, a plain lock-free queue) that sends and
// receives use without the lock. chan.cpp ties the ring and the queues together; its top
// comment has the invariants and the order of each operation.
#pragma once

#include <atomic>
#include <cstddef>

#include <goro/detail/chan_core.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/timer_core.hpp>
#include <goro/detail/wait_queue.hpp>

#include "chan_ring.hpp"
#include "waitq.hpp"

namespace goro::detail {

struct bubble;

struct chan_core : chan_header {
  void* allocation = nullptr;  // what operator new returned (chan_core may sit above it)
  const elem_ops* ops = nullptr;
  ring::layout slots{};      // buffered: the ring's slot layout
  std::byte* buf = nullptr;  // buffered: the ring's slots (c->ring holds its positions)
  // A timer's or ticker's channel: buffered (capacity 1) inside, so that a timer fires
  // without waiting for a receiver, but unbuffered to the user as in Go 1.23: len() and
  // cap() report 0. Only chan_len and chan_cap read it, so channels pay nothing for it.
  bool timer = false;
  // tick()'s channel owns the ticker that feeds it (which only points back, uncounted):
  // chan_destroy stops and releases it, so the ticker lives exactly as long as a handle to
  // its channel, and nothing else has to own it.
  timer_state* ticker = nullptr;
  // The synctest bubble it was made in (synctest.hpp), or null. Only that bubble's
  // goroutines may use it, and they are durably blocked on it.
  bubble* bub = nullptr;

  bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }
};

// A buffered channel's ring: a view that reads the ring's pointers and sizes from c at each
// use (see chan_ring.hpp, "Memory").
struct chan_ring_mem {
  chan_core* c;
  ring_pos* pos() const noexcept { return c->ring; }
  std::byte* slots() const noexcept { return c->buf; }
  std::size_t cap() const noexcept { return c->cap; }
  ring::layout slot_layout() const noexcept { return c->slots; }
  const elem_ops* ops() const noexcept { return c->ops; }
};
inline ring::queue<chan_ring_mem> ring_of(chan_core* c) noexcept {
  return ring::queue<chan_ring_mem>(chan_ring_mem{c});
}

// Sends without blocking; false if the channel is closed or has no room. (Timers.)
bool chan_try_send(chan_core* c, void* value) noexcept;
// Empties the buffer, destroying its elements; returns how many there were. (Timers.)
std::size_t chan_drain(chan_core* c) noexcept;

// Buffered channels. The order of each operation, the invariants and the Dekker pair that
// ties the lock-free ring to the parked waiters are at the top of chan.cpp; select.cpp
// uses these functions and moves no element itself.

// The rare steps of chan_send_now and chan_recv_now, out of line.
bool hand_to_parked_receiver(chan_core* c, void* value) noexcept;  // send step 1
void serve_parked(chan_core* c) noexcept;                          // send step 3, receive step 1

// A send or receive that does not park, without the lock (chan_send, chan_try_send and
// select's pass 0). send: pushed, full, or closed (the caller panics); recv: false if the
// ring is empty (closed or not). Inline: as calls of their own, from select.cpp, they cost
// SelectUncontended ~40 more instructions per select (callgrind: a prologue, an epilogue,
// reloads).
inline ring::push_result chan_send_now(chan_core* c, void* value) noexcept {
  // Step 1: a parked receiver (a relaxed peek; hand_to_parked_receiver checks under the lock).
  if (has_waiter(&c->recvq) && hand_to_parked_receiver(c, value)) return ring::push_result::pushed;
  // Step 2: room in the ring, which refuses once closed.
  const ring::push_result r = ring_of(c).push(value);
  // Step 3: a receiver that parked before the element was there (the Dekker pair's load).
  if (r == ring::push_result::pushed && has_waiter_sc(&c->recvq)) serve_parked(c);
  return r;
}
inline bool chan_recv_now(chan_core* c, void* out) noexcept {
  if (!ring_of(c).pop(out)) return false;
  // Room for a sender that parked on the full ring (the Dekker pair's load).
  if (has_waiter_sc(&c->sendq)) serve_parked(c);
  return true;
}

// Waiters completed under a lock, linked through waiter::next, to wake (wake_all) once the
// lock is released.
struct wake_list {
  waiter* first = nullptr;
  waiter** tail = &first;
  void add(waiter* w) noexcept {
    w->next = nullptr;
    *tail = w;
    tail = &w->next;
  }
};
// Wakes each waiter of the list with its `success`.
void wake_all(const wake_list& list) noexcept;

// With c's lock held (select's pass 1): as chan_send_now and chan_recv_now, except that the
// waiters to wake are added to `woken`. send on a closed channel: push_result::closed,
// nothing done. recv: true also when the channel is closed and drained (*out untouched,
// *ok false).
ring::push_result chan_send_locked(chan_core* c, void* value, wake_list& woken) noexcept
    GORO_REQUIRES(c->lock);
bool chan_recv_locked(chan_core* c, void* out, bool* ok, wake_list& woken) noexcept
    GORO_REQUIRES(c->lock);

}  // namespace goro::detail
