// A channel (Go's hchan): a lock, a ring buffer and two FIFO queues of parked waiters.
//
// Invariants (Go's chan.go, kept):
// - At least one of sendq and recvq is empty, except for an unbuffered channel with one
//   goroutine blocked in select on both sending and receiving.
// - Buffered: count > 0 implies recvq is empty; count < cap implies sendq is empty.
// - A closed channel has no waiters: close wakes them all.
// - The buffer's slots [recvx, recvx + count) (mod cap) hold live elements.
#pragma once

#include <atomic>
#include <cstddef>

#include <goro/detail/chan_core.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_queue.hpp>

namespace goro::detail {

struct chan_core : chan_header {
  void* allocation = nullptr;  // what operator new returned (chan_core may sit above it)
  const elem_ops* ops = nullptr;
  std::size_t stride = 0;
  std::byte* buf = nullptr;

  void* slot(std::size_t i) noexcept { return buf + i * stride; }
  std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  void set_count(std::size_t n) noexcept { count_.store(n, std::memory_order_relaxed); }
  bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }
};

// Sends without blocking; false if the channel is closed or has no room. (Timers.)
bool chan_try_send(chan_core* c, void* value) noexcept;
// Empties the buffer, destroying its elements; returns how many there were. (Timers.)
std::size_t chan_drain(chan_core* c) noexcept;

// The steps that chan_send, chan_recv and select share. The *_locked ones run with c->lock
// held; moving a value to or from a parked waiter happens after the lock is released (the
// waiter cannot run before it is woken), so user move constructors run unlocked there.
struct waiter;
void put_in_buffer_locked(chan_core* c, void* value) noexcept;
void take_from_buffer_locked(chan_core* c, void* out) noexcept;
// Buffered channel, full, with a parked sender: the receiver takes the oldest element and
// the sender's value takes its place.
void rotate_with_sender_locked(chan_core* c, void* out, waiter* sender) noexcept;

}  // namespace goro::detail
