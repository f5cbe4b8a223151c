// Memory for g structures, apart from the stacks.
//
// A goroutine takes its stack when it first runs, not when it is spawned (see spawn_alloc
// in sched.cpp), so a goroutine that waits in a run queue costs one g slot (about half a
// KiB), not a stack page: a burst of spawns (skynet's first levels, a server's accept loop
// outrunning its handlers) faults in a slot per goroutine, not a page. Slots come from
// chunks that, as in Go (whose g's are never freed), stay with the pool for reuse until the
// runtime ends. Workers get them through a batch_cache.
#pragma once

#include <cstddef>
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

  // Moves n slots (uninitialised memory for a g) into `out`, allocating a chunk as needed.
  void take(std::vector<void*>& out, std::size_t n);
  void give(void* const* slots, std::size_t n);
  // Keeps every chunk allocated at the end: a goroutine that could not be unwound may still
  // be queued on a channel that outlives the runtime.
  void leak() noexcept;

 private:
  std::mutex mu_;
  std::vector<void*> free_;
  std::vector<void*> chunks_;
  bool leaked_ = false;
};

using g_cache = batch_cache<void*, g_pool>;

}  // namespace goro::detail
