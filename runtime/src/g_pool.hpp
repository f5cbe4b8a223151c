// Memory for g structures, apart from the stacks.
//
// A goroutine takes its stack when it first runs, not when it is spawned (see spawn_alloc
// in spawn.cpp), so a goroutine that waits in a run queue costs one g slot (about half a
// KiB), not a stack page: a burst of spawns (skynet's first levels, a server's accept loop
// outrunning its handlers) faults in a slot per goroutine, not a page. Slots are cut, in
// address order, from 2 MiB regions that ask for transparent huge pages, and, as in Go
// (whose g's are never freed), stay with the pool for reuse until the runtime ends. Workers
// get them through a batch_cache.
//
// Invariants (under mu_): every slot ever handed out lies in some region of regions_; a slot
// is on the free list or held by a cache or a g, never two of these; [next_, end_) of the
// last region has never been handed out. The free list is threaded through the free slots
// themselves (a vector of them grew to 8 MB, 2,000 page faults, after a million exits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "batch_cache.hpp"

namespace goro::detail {

class g_pool {
 public:
  g_pool() = default;
  ~g_pool();
  g_pool(const g_pool&) = delete;
  g_pool& operator=(const g_pool&) = delete;

  // Moves n slots (uninitialised memory for a g) into `out`, mapping a region as needed.
  void take(std::vector<void*>& out, std::size_t n);
  void give(void* const* slots, std::size_t n);
  // Keeps the region holding `slot` mapped when the pool ends: the g of a goroutine that
  // was released at exit (not unwound) may still be queued on a channel or sync object that
  // outlives the runtime. Under LeakSanitizer the region becomes a root, so that what the
  // released goroutines still point to is not reported as leaked.
  void leak(const void* slot);

 private:
  void map_region();

  struct free_slot {
    free_slot* next;
  };
  std::mutex mu_;
  free_slot* free_ = nullptr;   // freed slots, the most recently freed first
  std::vector<void*> regions_;  // every region mapped, to unmap at the end
  std::vector<void*> leaked_;   // regions that stay mapped (see leak)
  std::byte* next_ = nullptr;   // the next never-used slot of the last region
  std::byte* end_ = nullptr;
};

using g_cache = batch_cache<void*, g_pool>;

}  // namespace goro::detail
