// The buffer of a buffered channel: a bounded multi-producer, multi-consumer ring that
// senders and receivers use without the channel's lock (Vyukov's bounded MPMC queue, with
// per-slot sequence numbers).
//
// Positions. `tail` (the next slot to send into) and `head` (the next to receive from) count
// up forever, as a lap and an index: bits 0-31 the index (< cap), bits 32-62 the lap, bit 63
// of `tail` the channel's closed bit. After the last index comes index 0 of the next lap, so
// no division is needed; laps wrap around (after 2^31 laps: half a minute for a busy
// channel of capacity 1), and positions compare by their difference in 63 bits (pos_diff).
//
// Invariants:
// - head <= tail <= head + cap (one lap ahead at most).
// - Slot i's sequence number says who may use it next: `pos` (lap L, index i) means it is
//   free for the send at pos; `pos + 1` means the send at pos has put its element in, for
//   the receive at pos; the receive then frees it for the next lap (pos + one lap).
// - A send claims its position by moving `tail` on (a CAS), then writes the element and
//   publishes it; a receive claims by moving `head` on, moves the element out, then frees
//   the slot. Once `tail` has the closed bit, no send can claim a position.
//
// Linearisable: push reports "full" and pop "empty" only after seeing `tail` and `head` a
// lap apart or equal. An operation that finds a slot claimed but not yet published (or not
// yet freed) by a peer in the middle of its own operation waits the few nanoseconds it takes,
// as it would for a lock.
//
// Parked senders and receivers still queue under the channel's lock (chan.cpp): after a
// push or pop, a look at the other side's queue; a goroutine that parks enqueues itself and
// looks at the ring once more. Of the two, at least one sees the other: a Dekker pair of
// seq_cst operations, the position CAS and the load of the queue's `first` on one side,
// the store of `first` and the loads of the positions on the other (a parker that sees a
// position claimed waits for the slot, above). Not fences: ThreadSanitizer does not model
// them. On x86 nothing in a push or pop costs more for it (a locked cmpxchg is a full
// barrier anyway; publishing a slot with a seq_cst store, an xchg, cost ChanCreation 6%).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include <goro/detail/chan_core.hpp>
#include <goro/detail/spinlock.hpp>

#include "chan.hpp"

namespace goro::detail::ring {

inline constexpr std::uint64_t kIndexMask = ring_pos::kLap - 1;
inline constexpr std::uint64_t kLap = ring_pos::kLap;
inline constexpr std::uint64_t kPosMask = ring_pos::kPosMask;
inline constexpr std::uint64_t kClosed = ring_pos::kClosed;
inline constexpr std::size_t kMaxCap = kIndexMask;  // index + 1 must fit the index bits
// Positions start four laps before the lap count wraps around, so that every test that
// sends more than 4 * cap values through a channel runs across the wrap.
inline constexpr std::uint64_t kFirstPos = ((kPosMask >> 32) - 3) << 32;

// a - b, for positions in 63 bits that wrap around.
inline std::int64_t pos_diff(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::int64_t>((a - b) << 1) >> 1;
}

inline std::uint64_t next_pos(const chan_core* c, std::uint64_t pos) noexcept {
  return (pos & kIndexMask) + 1 < c->cap ? pos + 1 : ((pos | kIndexMask) + 1) & kPosMask;
}

inline std::atomic<std::uint64_t>& seq_of(chan_core* c, std::uint64_t pos) noexcept {
  return *static_cast<std::atomic<std::uint64_t>*>(c->ring_slot(pos & kIndexMask));
}
inline void* value_of(chan_core* c, std::uint64_t pos) noexcept {
  return static_cast<std::byte*>(c->ring_slot(pos & kIndexMask)) + c->value_offset;
}

// A failed CAS on a position means another thread just did an operation on this channel and
// is likely to do the next one too (a producer filling the buffer, two threads passing
// tokens). Backing off ~5 us leaves it the cache lines for a burst, as the runtime lock's
// slow polls do (spinlock.cpp): P=2, ChanSem 94 ns/op without a backoff, 13-14 with 100
// pauses, 12 with 200; ChanProdCons100 41 -> 24 -> 21. The ChanProdConsWork rows, whose
// operations rarely collide, do not care.
inline constexpr int kBackoffPauses = 200;
inline void contended() noexcept {
  for (int i = 0; i < kBackoffPauses; ++i) spin_pause();
}

// Asks for the line in the exclusive state: the load that comes first would fetch it shared,
// and the CAS after it would then need a second round trip to the other core.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));  // a NOP where unknown
#else
  __builtin_prefetch(p, 1);
#endif
}

// Moves *value into the ring, unless it is full or closed.
inline push_result push(chan_core* c, void* value) noexcept {
  std::atomic<std::uint64_t>& tail = c->ring->tail;
  prefetch_for_write(&tail);
  std::uint64_t pos = tail.load(std::memory_order_relaxed);
  for (;;) {
    if (pos & kClosed) return push_result::closed;
    std::atomic<std::uint64_t>& seq = seq_of(c, pos);
    const std::int64_t d = pos_diff(seq.load(std::memory_order_acquire), pos);
    if (d == 0) {
      if (tail.compare_exchange_weak(pos, next_pos(c, pos), std::memory_order_seq_cst)) {
        c->ops->move_construct(value_of(c, pos), value);
        seq.store(pos + 1, std::memory_order_release);
        return push_result::pushed;
      }
      contended();
      continue;  // pos was reloaded
    }
    if (d < 0) {
      // The slot holds the element of the lap before. Full, if no receive has claimed it;
      // otherwise that receive is moving it out right now.
      if (c->ring->head.load(std::memory_order_seq_cst) == ((pos - kLap) & kPosMask))
        return push_result::full;
      spin_pause();
    }
    pos = tail.load(std::memory_order_relaxed);
  }
}

// Moves the oldest element into *out (or destroys it when out is null), unless the ring is
// empty.
inline bool pop(chan_core* c, void* out) noexcept {
  std::atomic<std::uint64_t>& head = c->ring->head;
  prefetch_for_write(&head);
  std::uint64_t pos = head.load(std::memory_order_relaxed);
  for (;;) {
    std::atomic<std::uint64_t>& seq = seq_of(c, pos);
    const std::int64_t d = pos_diff(seq.load(std::memory_order_acquire), pos + 1);
    if (d == 0) {
      if (head.compare_exchange_weak(pos, next_pos(c, pos), std::memory_order_seq_cst)) {
        void* v = value_of(c, pos);
        if (out) c->ops->move_construct(out, v);
        c->ops->destroy(v);
        seq.store((pos + kLap) & kPosMask, std::memory_order_release);
        return true;
      }
      contended();
      continue;
    }
    if (d < 0) {
      // Not published yet: empty, if no send has claimed the slot; otherwise that send is
      // moving its element in right now.
      if ((c->ring->tail.load(std::memory_order_seq_cst) & kPosMask) == pos) return false;
      spin_pause();
    }
    pos = head.load(std::memory_order_relaxed);
  }
}

// A send or receive that does not park (chan.cpp, select.cpp): to a parked receiver or into
// the ring; out of the ring. Each then hands over to a goroutine parked on the other side.
inline push_result send_now(chan_core* c, void* value) noexcept {
  if (has_waiter(c->recvq) && hand_to_parked_receiver(c, value)) return push_result::pushed;
  const push_result r = push(c, value);
  if (r == push_result::pushed) after_ring_op(c, c->recvq);
  return r;
}
inline bool recv_now(chan_core* c, void* out) noexcept {
  if (!pop(c, out)) return false;
  after_ring_op(c, c->sendq);
  return true;
}

// Elements in the ring (claimed slots included), from two loads that need not agree.
inline std::size_t size(const chan_core* c) noexcept {
  const std::uint64_t h = c->ring->head.load(std::memory_order_seq_cst);
  const std::uint64_t t = c->ring->tail.load(std::memory_order_seq_cst) & kPosMask;
  const std::int64_t laps = pos_diff(t & ~kIndexMask, h & ~kIndexMask) / std::int64_t{kLap};
  const std::int64_t n = laps * static_cast<std::int64_t>(c->cap) +
                         static_cast<std::int64_t>(t & kIndexMask) -
                         static_cast<std::int64_t>(h & kIndexMask);
  return n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), c->cap);
}

}  // namespace goro::detail::ring
