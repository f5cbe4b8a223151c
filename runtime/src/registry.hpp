// The registry of live goroutines (Go's allgs): what goroutine dumps, the deadlock check and
// shutdown walk.
//
// Invariants:
// - A goroutine is in the registry from `start` (spawn.cpp) until free_goroutine, or until
//   shutdown releases it; its registry_shard and registry_slot say where.
// - A shard's slots and free list change under the shard's lock only; for_each and
//   locked() visit a goroutine under the lock that `remove` takes, so the g they are given
//   is not freed while they look at it.
#pragma once

#include <cstdint>
#include <vector>

#include <goro/detail/spinlock.hpp>
#include <goro/detail/thread_safety.hpp>

#include "goroutine.hpp"

namespace goro::detail {

// The live goroutines, sharded so that spawn and exit rarely contend (runtime.allgs). Each
// shard is an array of slots with a free list threaded through the free ones, so adding and
// removing a goroutine touches the array only: a linked list through the goroutines
// themselves cost two cache misses per exit on the neighbours' g's.
class registry {
 public:
  static constexpr unsigned kShards = 64;
  // Adds gp to shard `hint` % kShards: the spawning worker's own, so that workers spawning
  // and ending goroutines side by side do not share the shards' cache lines.
  void add(g* gp, std::uint64_t hint) noexcept;
  void remove(g* gp) noexcept;
  // Runs f() holding the lock of gp's shard, which for_each holds while it visits gp.
  template <class F>
  void locked(g* gp, F&& f) {
    spin_guard hold(shard_of(gp).lock);
    f();
  }
  template <class F>
  void for_each(F&& f) {
    for (shard& s : shards_) {
      spin_guard hold(s.lock);
      s.visit(f);
    }
  }
  // The same for a signal handler: a shard whose lock stays taken is skipped.
  template <class F>
  void for_each_try(F&& f) noexcept GORO_NO_THREAD_SAFETY_ANALYSIS {  // try_lock in a loop
    for (shard& s : shards_) {
      bool locked = false;
      for (int i = 0; i < 100000 && !(locked = s.lock.try_lock()); ++i) {
      }
      if (!locked) continue;
      s.visit(f);
      s.lock.unlock();
    }
  }

 private:
  // A slot holds a goroutine, or (odd values) a link in the list of free slots: index i is
  // stored as 2i + 3, the end of the list as 1.
  static bool is_free(std::uintptr_t slot) noexcept { return slot & 1; }
  static constexpr std::uintptr_t kNoFree = 1;
  struct alignas(64) shard {
    spinlock lock;
    std::vector<std::uintptr_t> slots GORO_GUARDED_BY(lock);
    std::uintptr_t free GORO_GUARDED_BY(lock) = kNoFree;  // the first free slot
    template <class F>
    void visit(F& f) GORO_REQUIRES(lock) {
      for (std::uintptr_t v : slots) {
        if (!is_free(v)) f(reinterpret_cast<g*>(v));
      }
    }
  };
  shard& shard_of(const g* gp) noexcept { return shards_[gp->registry_shard]; }
  shard shards_[kShards];
};

}  // namespace goro::detail
