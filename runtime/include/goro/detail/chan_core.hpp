// Internals of goro::chan: the type-erased channel that runtime/src/chan.cpp implements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <goro/detail/atomic.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_queue.hpp>

namespace goro::detail {

// How the runtime moves and destroys elements it only knows by address.
struct elem_ops {
  std::size_t size;
  std::size_t align;
  void (*move_construct)(void* dst, void* src) noexcept;  // placement-new T(std::move(*src))
  void (*destroy)(void* p) noexcept;
};

template <class T>
inline constexpr elem_ops elem_ops_for{
    sizeof(T), alignof(T),
    [](void* dst, void* src) noexcept { ::new (dst) T(std::move(*static_cast<T*>(src))); },
    [](void* p) noexcept { static_cast<T*>(p)->~T(); }};

// A buffered channel's two positions (runtime/src/chan_ring.hpp), each on a cache line of
// its own: senders move `tail`, receivers `head`. A position is a lap (bits 32-62) and an
// index (bits 0-31); bit 63 of tail is the channel's closed bit.
struct ring_pos {
  static constexpr std::uint64_t kClosed = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kLap = std::uint64_t{1} << 32;
  static constexpr std::uint64_t kPosMask = ~kClosed;

  explicit ring_pos(std::uint64_t first) noexcept : tail(first), head(first) {}

  // The ring's state from a head and a tail (closed bit included or not).
  static bool empty(std::uint64_t h, std::uint64_t t) noexcept { return (t & kPosMask) == h; }
  static bool full(std::uint64_t h, std::uint64_t t) noexcept {
    return ((h + kLap) & kPosMask) == (t & kPosMask);
  }
  // Peeks, true at the moment of their second load: empty reads head first, full tail
  // first (positions only grow). A slot claimed by an operation in flight counts as taken.
  bool empty() const noexcept {
    const std::uint64_t h = head.load(mo::seq_cst);
    return empty(h, tail.load(mo::seq_cst));
  }
  bool full() const noexcept {
    const std::uint64_t t = tail.load(mo::seq_cst);
    return full(head.load(mo::seq_cst), t);
  }

  alignas(64) atomic<std::uint64_t> tail;
  alignas(64) atomic<std::uint64_t> head;
};

// The part of a channel that inline code reads: the reference count (copying a handle) and
// what a non-blocking select peeks at without the lock (Go's empty(c) and full(c)). A
// buffered channel's sends and receives write only its ring (ring_pos and the slots) and
// read this header; the lock and the queues are for goroutines that park. The rules for
// writing these fields are at the top of runtime/src/chan.cpp.
struct chan_header {
  spinlock lock;
  atomic<bool> closed_{false};  // written under the lock
  // Parked receivers and senders. Their `first` is also peeked without the lock (has_waiter,
  // through load_relaxed), by address, which the thread-safety analysis lets through.
  waitq recvq GORO_GUARDED_BY(lock);
  waitq sendq GORO_GUARDED_BY(lock);
  std::size_t cap = 0;       // never changes
  ring_pos* ring = nullptr;  // buffered only; never changes
  atomic<std::size_t> refs{1};
};
struct chan_core;  // chan_header + the ring buffer (runtime/src/chan.hpp)

chan_core* chan_make(const elem_ops* ops, std::size_t cap);
void chan_destroy(chan_core* c) noexcept;
void chan_send(chan_core* c, void* value);  // moves from *value; nil: blocks forever
bool chan_recv(chan_core* c, void* out);    // constructs *out; false: closed and drained
void chan_close(chan_core* c);
std::size_t chan_len(const chan_core* c) noexcept;
std::size_t chan_cap(const chan_core* c) noexcept;

inline chan_header* header(chan_core* c) noexcept {
  return reinterpret_cast<chan_header*>(c);
}
inline const chan_header* header(const chan_core* c) noexcept {
  return reinterpret_cast<const chan_header*>(c);
}
inline void chan_retain(chan_core* c) noexcept {
  if (c) header(c)->refs.fetch_add(1, mo::relaxed);
}
inline void chan_release(chan_core* c) noexcept {
  if (c && header(c)->refs.fetch_sub(1, mo::acq_rel) == 1) chan_destroy(c);
}

// Lock-free peeks for non-blocking operations (Go's chansend/chanrecv fast paths): a receive
// or a send that certainly cannot proceed now. Racy by design: an answer of "would block"
// may be stale by the time it is used, which is fine, because the operation then
// linearises at the moment of the peek. The capacity never changes; for an unbuffered
// channel the queue of the other side tells. Go's chanrecv explains why "open" must be
// read after "empty".
// A queue is passed by address: a peek without the lock (the analysis checks references to a
// guarded queue, not its address).
inline bool has_waiter(const waitq* q) noexcept {
  return load_relaxed(q->first) != nullptr;
}
inline bool recv_would_block(const chan_core* c) noexcept {
  const chan_header* h = header(c);
  const bool empty = h->cap == 0 ? !has_waiter(&h->sendq) : h->ring->empty();
  return empty && !h->closed_.load(mo::acquire);
}
// A receive that would find the channel closed and drained (which is permanent). For a
// buffered channel, the closed bit in tail, not closed_: a send may still claim a slot
// between close's two stores.
inline bool recv_finds_closed(const chan_core* c) noexcept {
  const chan_header* h = header(c);
  if (h->cap == 0) return h->closed_.load(mo::acquire);
  const std::uint64_t tail = h->ring->tail.load(mo::seq_cst);
  return (tail & ring_pos::kClosed) && ring_pos::empty(h->ring->head.load(mo::seq_cst), tail);
}
inline bool send_would_block(const chan_core* c) noexcept {
  const chan_header* h = header(c);
  if (h->closed_.load(mo::acquire)) return false;  // proceeds: it panics
  return h->cap == 0 ? !has_waiter(&h->recvq) : h->ring->full();
}

// Warms what closing c (or sending on it) touches first, for a caller about to do that to
// many channels in a row (a context canceling its subtree): stage 2, the header; stage 1,
// the first parked receiver, whose stack is cold. Stage 1 reads the header, so issue stage 2
// an operation earlier. Only a hint: the waiter may be gone by then (a prefetch does not
// fault, and nothing here reads through the pointer).
inline void chan_prefetch(const chan_core* c, int stage) noexcept {
  if (!c) return;
  const chan_header* h = header(c);
  if (stage >= 2) {
    __builtin_prefetch(h);
  } else {
    const waitq* q = &h->recvq;                  // a peek without the lock
    __builtin_prefetch(load_relaxed(q->first));  // null: a harmless no-op
  }
}

// Uninitialised room for one T, for receiving into.
template <class T>
union slot {
  slot() {}
  ~slot() {}
  T value;
};

}  // namespace goro::detail
