// Internals of goro::chan: the type-erased channel that runtime/src/chan.cpp implements.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

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

// The part of a channel that inline code reads: the reference count (copying a handle) and
// what a non-blocking select peeks at without the lock (Go's empty(c) and full(c)). The
// first cache line holds everything that a send or receive writes, so that two threads
// trading values through a channel pass one line back and forth, plus the slot. The
// rules for writing these fields are in runtime/src/chan.hpp.
struct chan_header {
  spinlock lock;
  std::atomic<bool> closed_{false};    // written under the lock
  std::atomic<std::size_t> count_{0};  // elements in the buffer; written under the lock
  std::size_t recvx = 0;               // next slot to receive from (under the lock)
  std::size_t sendx = 0;               // next slot to send into (under the lock)
  waitq recvq;                         // `first` is read without the lock (atomic_ref)
  waitq sendq;
  // Read-mostly, on the next line.
  std::size_t cap = 0;  // never changes
  std::atomic<std::size_t> refs{1};
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
  if (c) header(c)->refs.fetch_add(1, std::memory_order_relaxed);
}
inline void chan_release(chan_core* c) noexcept {
  if (c && header(c)->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) chan_destroy(c);
}

// Lock-free peeks for non-blocking operations (Go's chansend/chanrecv fast paths): a receive
// or a send that certainly cannot proceed now. Racy by design: an answer of "would block"
// may be stale by the time it is used, which is fine, because the operation then
// linearises at the moment of the peek. The capacity never changes; for an unbuffered
// channel the queue of the other side tells. Go's chanrecv explains why "open" must be
// read after "empty".
inline bool has_waiter(const waitq& q) noexcept {
  return std::atomic_ref<waiter*>(const_cast<waiter*&>(q.first)).load(std::memory_order_relaxed) !=
         nullptr;
}
inline bool recv_would_block(const chan_core* c) noexcept {
  const chan_header* h = header(c);
  const bool empty =
      h->cap == 0 ? !has_waiter(h->sendq) : h->count_.load(std::memory_order_acquire) == 0;
  return empty && !h->closed_.load(std::memory_order_acquire);
}
// A receive that would find the channel closed and drained (which is permanent).
inline bool recv_finds_closed(const chan_core* c) noexcept {
  const chan_header* h = header(c);
  return h->closed_.load(std::memory_order_acquire) &&
         h->count_.load(std::memory_order_acquire) == 0;
}
inline bool send_would_block(const chan_core* c) noexcept {
  const chan_header* h = header(c);
  if (h->closed_.load(std::memory_order_acquire)) return false;  // proceeds: it panics
  return h->cap == 0 ? !has_waiter(h->recvq) : h->count_.load(std::memory_order_acquire) == h->cap;
}

// Uninitialised room for one T, for receiving into.
template <class T>
union slot {
  slot() {}
  ~slot() {}
  T value;
};

}  // namespace goro::detail
