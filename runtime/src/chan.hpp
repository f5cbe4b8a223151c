// A channel (Go's hchan): two FIFO queues of parked waiters under a lock, and for a buffered
// channel a ring of elements that sends and receives use without the lock (chan_ring.hpp).
//
// Invariants (Go's chan.go, with the ring):
// - Unbuffered: at least one of sendq and recvq is empty, except for one goroutine blocked
//   in select on both sending and receiving.
// - Buffered: a receiver is parked only while the ring is empty, a sender only while it is
//   full, once every operation in flight has finished its look at the queues (the sender
//   or receiver that filled or emptied the ring hands over under the lock: handoff_locked).
// - A closed channel has no waiters: close wakes them all.
#pragma once

#include <atomic>
#include <cstddef>

#include <goro/detail/chan_core.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/timer_core.hpp>
#include <goro/detail/wait_queue.hpp>

#include "waitq.hpp"

namespace goro::detail {

struct bubble;

struct chan_core : chan_header {
  void* allocation = nullptr;  // what operator new returned (chan_core may sit above it)
  const elem_ops* ops = nullptr;
  std::size_t stride = 0;        // bytes from one slot to the next
  std::size_t value_offset = 0;  // of the element in its slot (after the sequence number)
  std::byte* buf = nullptr;
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

  void* ring_slot(std::size_t i) noexcept { return buf + i * stride; }
  bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }
};

// Sends without blocking; false if the channel is closed or has no room. (Timers.)
bool chan_try_send(chan_core* c, void* value) noexcept;
// Empties the buffer, destroying its elements; returns how many there were. (Timers.)
std::size_t chan_drain(chan_core* c) noexcept;

namespace ring {
enum class push_result { pushed, full, closed };  // see chan_ring.hpp
}  // namespace ring

// The steps that chan_send, chan_recv and select share.
struct waiter;
// Buffered channel, with c's lock held: gives elements of the ring to parked receivers and
// room to parked senders, as long as both are there. Returns the waiters it completed,
// linked through `next`, for wake_all once the lock is released.
waiter* handoff_locked(chan_core* c) noexcept;
void wake_all(waiter* list) noexcept;
// Buffered: a parked receiver means an empty ring, so hand it the value directly (Go's
// chansend) instead of a push, a lock and a pop. False: go through the ring.
bool hand_to_parked_receiver(chan_core* c, void* value) noexcept;
// handoff_locked with the lock taken here, and the wake-ups.
void handoff(chan_core* c) noexcept;
// After a lock-free push (other_side: recvq) or pop (sendq): a receiver (sender) may have
// parked before the element (room) was there, having looked at the ring too early. The
// seq_cst load pairs with the parking side's publish_first (see chan_ring.hpp).
inline void after_ring_op(chan_core* c, const waitq& other_side) noexcept {
  if (has_waiter_sc(other_side)) handoff(c);
}

}  // namespace goro::detail
