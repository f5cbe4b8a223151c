// Goroutine stacks: mmap'ed, reused through caches, guarded while the kernel allows.
//
// Every guard page costs the process two memory mappings, and Linux caps mappings at
// vm.max_map_count (65530 by default), so only the first stacks (about a third of the
// budget) get a PROT_NONE guard page below them. For the rest, each park checks that the
// goroutine's stack pointer is still above the stack's lowest page: cheaper than a canary,
// which would cost every goroutine a resident page of its own.
// Freed stacks go to the freeing worker's cache, then to a shared pool. Like Go's
// scavenger, the pool gives memory back slowly: when a worker goes idle it may trim the
// pool, but only of the stacks that nobody took during a whole trim period (the pool's
// low-water mark), and only once per period. Those give their memory back with madvise
// (keeping the address range), one call per run of adjacent stacks. Trimming at every idle
// moment instead cost a burst of spawns a page fault per stack, and every other worker a
// TLB-shootdown interrupt. A stack that comes from a new mapping or from the trimmed (cold)
// list has its top page faulted in by take (MADV_POPULATE_WRITE, one call per stack,
// outside the pool's lock): cheaper than the fault of the goroutine's first write, on
// virtual machines most of all.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "batch_cache.hpp"

namespace goro::detail {

struct stack_mem {
  std::byte* base = nullptr;  // lowest usable byte (above the guard page, if any)
  std::size_t size = 0;       // usable bytes
  bool guarded = false;

  std::byte* top() const noexcept { return base + size; }
  // Whether a stack pointer at `sp` is still clear of the stack's lowest page.
  bool has_room(const void* sp) const noexcept;
};

class stack_pool {
 public:
  explicit stack_pool(std::size_t stack_size);
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  std::size_t stack_size() const noexcept { return size_; }

  // Moves up to n stacks into `out`, mapping new ones as needed.
  void take(std::vector<stack_mem>& out, std::size_t n);
  // Returns stacks of this pool's size.
  void give(const stack_mem* s, std::size_t n);
  // Once per trim period (at `now`, nanotime), returns the memory of the stacks that stayed
  // unused beyond the warm reserve for the whole period. Returns when to call again (a
  // nanotime), or INT64_MAX if nothing is left to trim.
  std::int64_t trim(std::int64_t now);
  // Keeps the slabs that hold these stacks mapped when the pool ends: goroutines released at
  // exit (or that could not be unwound) still own them, and may still be queued on channels
  // that outlive the runtime. Under LeakSanitizer each stack becomes a root (see g_pool).
  void leak(std::span<const stack_mem> stacks);

  // Stacks of another size (go_with_stack): mapped and unmapped one by one.
  static stack_mem map(std::size_t size, bool guard);
  static void unmap(const stack_mem& s) noexcept;

 private:
  std::size_t size_;
  std::mutex mu_;
  std::vector<stack_mem> warm_;  // recently used, pages still resident
  std::atomic<std::size_t> warm_count_{0};
  std::size_t warm_low_ = 0;                // fewest warm stacks since the last trim
  std::atomic<std::int64_t> next_trim_{0};  // nanotime of the next trim
  std::vector<stack_mem> cold_;             // memory returned to the kernel
  struct slab {
    std::byte* base;
    std::size_t bytes;
    int guarded;  // how many of its stacks have a guard page
    bool leaked;  // holds a stack still in use at shutdown: never unmapped
  };
  void map_slab(std::vector<stack_mem>& out, std::size_t n);
  std::vector<slab> slabs_;  // every mapping this pool made, to unmap at the end
};

// A worker's private stack cache in front of the pool; the pool maps what it lacks in
// batches, one mmap each. A stack from the cache may still have ASan redzones poisoned by
// the goroutine that used it last (see take_stack in spawn.cpp).
using stack_cache = batch_cache<stack_mem, stack_pool>;

}  // namespace goro::detail
