// The global run queue (Go's sched.runq), and a local run queue's overflow into it. Inline:
// ready and spawn put a goroutine on a queue on every call.
//
// Invariants:
// - runtime::global and global_size change under sched_lock only (the functions named
//   _locked are called with it held); global_size may be read without the lock, as a hint:
//   whoever queues a goroutine wakes a worker afterwards if none is looking (wakep).
// - local_put(w) and global_get*(w) fill w's local queue: only w's own thread calls them.
#pragma once

#include <algorithm>
#include <atomic>

#include "sched_impl.hpp"

namespace goro::detail {

inline void global_put_locked(runtime* rt, g* const* gs, std::size_t n) noexcept
    GORO_REQUIRES(rt->sched_lock) {
  for (std::size_t i = 0; i < n; ++i) rt->global.push_back(gs[i]);  // bad_alloc is fatal
  rt->global_size.fetch_add(n, std::memory_order_release);
}

inline void global_put(runtime* rt, g* gp) noexcept {
  spin_guard lock(rt->sched_lock);
  global_put_locked(rt, &gp, 1);
}

// Takes a fair share of the global queue: one to run now, the rest into w's local queue.
inline g* global_get_locked(runtime* rt, worker* w, std::size_t max) noexcept
    GORO_REQUIRES(rt->sched_lock) {
  assert_owns_runq(w);
  std::size_t size = rt->global_size.load(std::memory_order_relaxed);
  if (size == 0) return nullptr;
  std::size_t n = std::min({size, size / rt->nworkers + 1, max, std::size_t{runq::kSize / 2}});
  g* first = rt->global.pop_front();
  for (std::size_t i = 1; i < n; ++i) {
    // Cannot fail: at most half the queue's size, into a queue we just found empty.
    w->q.push(rt->global.pop_front());
  }
  rt->global_size.fetch_sub(n, std::memory_order_release);
  return first;
}

inline g* global_get(runtime* rt, worker* w, std::size_t max) noexcept {
  if (rt->global_size.load(std::memory_order_acquire) == 0) return nullptr;
  spin_guard lock(rt->sched_lock);
  return global_get_locked(rt, w, max);
}

// Puts gp on w's local queue; when it is full, moves half of it to the global queue.
inline void local_put(runtime* rt, worker* w, g* gp, bool next) noexcept {
  if (next && rt->randomize) [[unlikely]]
    next = next_rand(w->rng_state) & 1;  // seed.hpp
  assert_owns_runq(w);
  if (next) {
    gp = w->q.push_next(gp);
    if (!gp) return;
  }
  while (!w->q.push(gp)) {
    g* batch[runq::kSize / 2 + 1];
    std::uint32_t n = w->q.take_half_for_overflow(batch);
    if (n == 0) continue;
    batch[n++] = gp;
    spin_guard lock(rt->sched_lock);
    global_put_locked(rt, batch, n);
    return;
  }
}

}  // namespace goro::detail
