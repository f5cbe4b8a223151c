// A bounded multi-producer, multi-consumer FIFO of type-erased elements that any number of
// threads push and pop without a lock (Vyukov's bounded MPMC queue, with per-slot sequence
// numbers): a buffered channel's buffer. It knows nothing of channels or of parked
// goroutines; chan.cpp drives it together with the channel's wait queues.
//
// Memory. The caller owns it: a ring_pos (the two positions, chan_core.hpp) and `cap` slots
// of `stride` bytes, each a sequence number and then the element at `value_offset`
// (ring::layout_of); ring::create lays a new ring out in it. A ring::queue<Mem> is a view
// of that memory: Mem says where the pointers and sizes are read from (ring::plain_mem:
// its own copies; a channel: its chan_core, chan.hpp). Read from their owner at each use,
// they cost what the owner's own fields cost: a view that copied them all first kept them
// in registers across the element's move, and spilled them (4 more instructions per send,
// 15 per select).
//
// Positions. `tail` (the next slot to push into) and `head` (the next to pop from) count up
// forever, as a lap and an index: bits 0-31 the index (< cap), bits 32-62 the lap, bit 63 of
// `tail` the closed bit. After the last index comes index 0 of the next lap, so no division
// is needed; laps wrap around (after 2^31 laps: half a minute for a busy ring of capacity
// 1), and positions compare by their difference in 63 bits (pos_diff).
//
// Invariants:
// - head <= tail <= head + cap (one lap ahead at most).
// - Slot i's sequence number says who may use it next: `pos` (lap L, index i) means it is
//   free for the push at pos; `pos + 1` means the push at pos has put its element in, for
//   the pop at pos; the pop then frees it for the next lap (pos + one lap).
// - A push claims its position by moving `tail` on (a CAS), then writes the element and
//   publishes it; a pop claims by moving `head` on, moves the element out, then frees the
//   slot. Once `tail` has the closed bit (close()), no push can claim a position; pops go on
//   until the ring is drained.
// - Between claiming and publishing, a slot counts as taken: empty() and full() read only
//   the positions.
//
// Linearisable: push reports "full" and pop "empty" only after seeing `tail` and `head` a
// lap apart or equal. An operation that finds a slot claimed but not yet published (or not
// yet freed) by a peer in the middle of its own operation waits the few nanoseconds it takes,
// as it would for a lock.
//
// Memory order. The position CASes and the loads of the other side's position are seq_cst:
// the channel pairs them with a seq_cst store and load of a wait queue's `first` (a Dekker
// pair, see chan.cpp), and a parker that sees a position claimed waits for the slot (above).
// Not fences: ThreadSanitizer does not model them. On x86 nothing in a push or pop costs
// more for it (a locked cmpxchg is a full barrier anyway; publishing a slot with a seq_cst
// store, an xchg, cost ChanCreation 6%).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include <goro/detail/chan_core.hpp>
#include <goro/detail/spinlock.hpp>

#include "assert.hpp"

namespace goro::detail::ring {

inline constexpr std::uint64_t kIndexMask = ring_pos::kLap - 1;
inline constexpr std::uint64_t kLap = ring_pos::kLap;
inline constexpr std::uint64_t kPosMask = ring_pos::kPosMask;
inline constexpr std::uint64_t kClosed = ring_pos::kClosed;
inline constexpr std::size_t kMaxCap = kIndexMask;  // index + 1 must fit the index bits
// Positions start four laps before the lap count wraps around, so that every test that
// pushes more than 4 * cap values through a ring runs across the wrap.
inline constexpr std::uint64_t kFirstPos = ((kPosMask >> 32) - 3) << 32;

enum class push_result { pushed, full, closed };

// a - b, for positions in 63 bits that wrap around.
inline std::int64_t pos_diff(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::int64_t>((a - b) << 1) >> 1;
}

// A slot: the sequence number, then the element.
struct layout {
  std::size_t value_offset;  // of the element in its slot
  std::size_t stride;        // bytes from one slot to the next
};
inline layout layout_of(const elem_ops* ops) noexcept {
  // Alignments are powers of two: a mask, not a division (a division was a fifth of the
  // cost of making a small channel).
  const auto round_up = [](std::size_t n, std::size_t align) {
    return (n + align - 1) & ~(align - 1);
  };
  const std::size_t value_offset = round_up(sizeof(std::uint64_t), ops->align);
  return {value_offset,
          round_up(value_offset + ops->size, std::max(ops->align, alignof(std::uint64_t)))};
}

// A failed CAS on a position means another thread just did an operation on this ring and is
// likely to do the next one too (a producer filling the buffer, two threads passing tokens).
// Backing off ~5 us leaves it the cache lines for a burst, as the runtime lock's slow polls
// do (spinlock.cpp): P=2, ChanSem 94 ns/op without a backoff, 13-14 with 100 pauses, 12 with
// 200; ChanProdCons100 41 -> 24 -> 21. The ChanProdConsWork rows, whose operations rarely
// collide, do not care.
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

// Lays out an empty ring of capacity cap (1..kMaxCap) in the caller's memory: a ring_pos at
// `pos` and cap * layout_of(ops).stride bytes at `slots`, aligned for the element and for a
// uint64_t. Returns the positions.
inline ring_pos* create(void* pos, std::byte* slots, std::size_t cap,
                        const elem_ops* ops) noexcept {
  GORO_ASSERT(cap > 0 && cap <= kMaxCap, "a ring's capacity out of range");
  auto* p = ::new (pos) ring_pos(kFirstPos);
  const std::size_t stride = layout_of(ops).stride;
  for (std::size_t i = 0; i < cap; ++i)
    ::new (slots + i * stride) std::atomic<std::uint64_t>(kFirstPos + i);
  return p;
}

// A ring's memory and shape, held by value.
struct plain_mem {
  ring_pos* p;
  std::byte* s;
  std::size_t c;
  layout l;
  const elem_ops* o;
  ring_pos* pos() const noexcept { return p; }
  std::byte* slots() const noexcept { return s; }
  std::size_t cap() const noexcept { return c; }
  layout slot_layout() const noexcept { return l; }
  const elem_ops* ops() const noexcept { return o; }
};

template <class Mem>
class queue {
 public:
  explicit queue(Mem m) noexcept : m_(m) {}

  std::size_t capacity() const noexcept { return m_.cap(); }

  // Moves *value into the ring, unless it is full or closed (then *value is untouched).
  push_result push(void* value) noexcept {
    atomic<std::uint64_t>& tail = m_.pos()->tail;
    prefetch_for_write(&tail);
    std::uint64_t pos = tail.load(std::memory_order_relaxed);
    for (;;) {
      if (pos & kClosed) return push_result::closed;
      std::atomic<std::uint64_t>& seq = seq_of(pos);
      const std::int64_t d = pos_diff(seq.load(std::memory_order_acquire), pos);
      if (d == 0) {
        if (tail.compare_exchange_weak(pos, next_pos(pos), std::memory_order_seq_cst)) {
          m_.ops()->move_construct(value_of(pos), value);
          seq.store(pos + 1, std::memory_order_release);
          return push_result::pushed;
        }
        contended();
        continue;  // pos was reloaded
      }
      if (d < 0) {
        // The slot holds the element of the lap before. Full, if no pop has claimed it;
        // otherwise that pop is moving it out right now.
        if (m_.pos()->head.load(std::memory_order_seq_cst) == ((pos - kLap) & kPosMask))
          return push_result::full;
        spin_pause();
      }
      pos = tail.load(std::memory_order_relaxed);
    }
  }

  // Moves the oldest element into *out (or destroys it when out is null), unless the ring
  // is empty.
  bool pop(void* out) noexcept {
    atomic<std::uint64_t>& head = m_.pos()->head;
    prefetch_for_write(&head);
    std::uint64_t pos = head.load(std::memory_order_relaxed);
    for (;;) {
      std::atomic<std::uint64_t>& seq = seq_of(pos);
      const std::int64_t d = pos_diff(seq.load(std::memory_order_acquire), pos + 1);
      if (d == 0) {
        if (head.compare_exchange_weak(pos, next_pos(pos), std::memory_order_seq_cst)) {
          void* v = value_of(pos);
          if (out) m_.ops()->move_construct(out, v);
          m_.ops()->destroy(v);
          seq.store((pos + kLap) & kPosMask, std::memory_order_release);
          return true;
        }
        contended();
        continue;
      }
      if (d < 0) {
        // Not published yet: empty, if no push has claimed the slot; otherwise that push is
        // moving its element in right now.
        if ((m_.pos()->tail.load(std::memory_order_seq_cst) & kPosMask) == pos) return false;
        spin_pause();
      }
      pos = head.load(std::memory_order_relaxed);
    }
  }

  // Destroys every element; returns how many there were.
  std::size_t clear() noexcept {
    std::size_t n = 0;
    while (pop(nullptr)) ++n;
    return n;
  }

  // From now on every push fails with push_result::closed; pops drain what is there (and
  // what pushes that claimed a slot before this publish).
  void close() noexcept { m_.pos()->tail.fetch_or(kClosed, std::memory_order_acq_rel); }
  bool closed() const noexcept { return m_.pos()->tail.load(std::memory_order_acquire) & kClosed; }

  // Peeks (ring_pos), true at the moment of their second load.
  bool empty() const noexcept { return m_.pos()->empty(); }
  bool full() const noexcept { return m_.pos()->full(); }

  // Elements in the ring (claimed slots included), from two loads that need not agree.
  std::size_t size() const noexcept {
    const std::uint64_t h = m_.pos()->head.load(std::memory_order_seq_cst);
    const std::uint64_t t = m_.pos()->tail.load(std::memory_order_seq_cst) & kPosMask;
    const std::int64_t laps = pos_diff(t & ~kIndexMask, h & ~kIndexMask) / std::int64_t{kLap};
    const std::int64_t n = laps * static_cast<std::int64_t>(m_.cap()) +
                           static_cast<std::int64_t>(t & kIndexMask) -
                           static_cast<std::int64_t>(h & kIndexMask);
    return n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), m_.cap());
  }

  // The position after pos: the next index, or index 0 of the next lap.
  std::uint64_t next_pos(std::uint64_t pos) const noexcept {
    return (pos & kIndexMask) + 1 < m_.cap() ? pos + 1 : ((pos | kIndexMask) + 1) & kPosMask;
  }
  std::atomic<std::uint64_t>& seq_of(std::uint64_t pos) const noexcept {
    return *static_cast<std::atomic<std::uint64_t>*>(slot(pos & kIndexMask));
  }
  ring_pos* positions() const noexcept { return m_.pos(); }

 private:
  void* slot(std::size_t i) const noexcept { return m_.slots() + i * m_.slot_layout().stride; }
  void* value_of(std::uint64_t pos) const noexcept {
    return static_cast<std::byte*>(slot(pos & kIndexMask)) + m_.slot_layout().value_offset;
  }

  Mem m_;
};

}  // namespace goro::detail::ring
