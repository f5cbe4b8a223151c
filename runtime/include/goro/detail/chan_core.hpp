// Internals of goro::chan: the type-erased channel that runtime/src/chan.cpp implements.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

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

// The reference count sits in the public part so that copying a handle is inline.
struct chan_header {
  std::atomic<std::size_t> refs{1};
};
struct chan_core;  // chan_header + lock, ring buffer and waiter queues (runtime/src/chan.hpp)

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
inline void chan_retain(chan_core* c) noexcept {
  if (c) header(c)->refs.fetch_add(1, std::memory_order_relaxed);
}
inline void chan_release(chan_core* c) noexcept {
  if (c && header(c)->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) chan_destroy(c);
}

// Uninitialised room for one T, for receiving into.
template <class T>
union slot {
  slot() {}
  ~slot() {}
  T value;
};

}  // namespace goro::detail
