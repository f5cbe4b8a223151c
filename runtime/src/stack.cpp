#include "stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>

#include "sanitizers.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t kWarmReserve = 4096;
// How long a stack must stay unused in the pool before its memory goes back.
constexpr std::int64_t kTrimPeriodNs = 1'000'000'000;

const std::size_t the_page_size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
std::size_t page_size() noexcept {
  return the_page_size;
}

// How many guarded stacks may exist: a third of the mapping budget (two mappings each),
// leaving the rest to the program and to unguarded stacks.
long guard_budget() {
  static const long budget = [] {
    long max_maps = 65530;
    std::ifstream f("/proc/sys/vm/max_map_count");
    if (f) f >> max_maps;
    return max_maps / 6;
  }();
  return budget;
}
std::atomic<long> guarded_live{0};

// Makes the page at `at` a guard page. Linux 6.13's guard markers (MADV_GUARD_INSTALL) cost
// a third of an mprotect and leave the mapping whole, which makes faulting the stack in and
// unmapping it cheaper too; older kernels answer EINVAL and get mprotect.
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
bool install_guard(std::byte* at, std::size_t page) noexcept {
  static std::atomic<bool> markers{true};
  if (markers.load(std::memory_order_relaxed)) {
    if (madvise(at, page, MADV_GUARD_INSTALL) == 0) return true;
    markers.store(false, std::memory_order_relaxed);
  }
  return mprotect(at, page, PROT_NONE) == 0;
}

// Faults in the top page of each stack (where a goroutine's first frames go) with one
// madvise each. On the development VM (a PVM guest, whose page faults go through the
// hypervisor) a first touch costs ~24 us and MADV_POPULATE_WRITE plus the touch ~15 us: the
// daisy chain's 100,000 stacks fault in ~0.8 s sooner. Kernels before 5.14 answer EINVAL:
// then the stacks fault in on first use, as before.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
void populate_tops(const stack_mem* s, std::size_t n) noexcept {
  static std::atomic<bool> works{true};
  const std::size_t page = page_size();
  for (std::size_t i = 0; i < n && works.load(std::memory_order_relaxed); ++i) {
    if (madvise(s[i].top() - page, page, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
      works.store(false, std::memory_order_relaxed);
    }
  }
}

// Returns the memory of `stacks` to the kernel, keeping their address ranges: one madvise
// per run of adjacent stacks (sorted by address first), not per stack. Every call flushes
// the TLB of each core that runs the process, by interrupt (on a virtual machine, through
// the hypervisor): one call per stack, once a million goroutines had ended, was a quarter
// of the stress test's CPU time on the development VM. Unguarded stacks from one slab are
// adjacent; a guarded one has its guard page between it and the next, and forms a run of
// its own.
void give_back_memory(std::vector<stack_mem>& stacks) noexcept {
  std::sort(stacks.begin(), stacks.end(),
            [](const stack_mem& a, const stack_mem& b) { return a.base < b.base; });
  for (std::size_t i = 0; i < stacks.size();) {
    std::byte* const begin = stacks[i].base;
    std::byte* end = stacks[i].top();
    for (++i; i < stacks.size() && stacks[i].base == end; ++i) end = stacks[i].top();
    madvise(begin, static_cast<std::size_t>(end - begin), MADV_DONTNEED);
  }
}

}  // namespace

bool stack_mem::has_room(const void* sp) const noexcept {
  return static_cast<const std::byte*>(sp) >= base + page_size();
}

stack_mem stack_pool::map(std::size_t size, bool guard) {
  const std::size_t page = page_size();
  size = (size + page - 1) / page * page;
  if (guard && guarded_live.fetch_add(1, std::memory_order_relaxed) >= guard_budget()) {
    guarded_live.fetch_sub(1, std::memory_order_relaxed);
    guard = false;
  }
  const std::size_t total = size + (guard ? page : 0);
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* lo = static_cast<std::byte*>(p);
  if (guard && !install_guard(lo, page)) {
    guarded_live.fetch_sub(1, std::memory_order_relaxed);
    guard = false;
    munmap(lo + size, page);  // keep `size` bytes: drop the page we meant as a guard
  }
  return stack_mem{guard ? lo + page : lo, size, guard};
}

void stack_pool::unmap(const stack_mem& s) noexcept {
  const std::size_t page = page_size();
#if GORO_ASAN
  // Frames a goroutine never returned from leave redzones poisoned; the next mapping at
  // this address (a thread's stack, another pool's stacks) must not inherit them.
  ASAN_UNPOISON_MEMORY_REGION(s.base, s.size);
#endif
  if (s.guarded) {
    munmap(s.base - page, s.size + page);
    guarded_live.fetch_sub(1, std::memory_order_relaxed);
  } else {
    munmap(s.base, s.size);
  }
}

stack_pool::stack_pool(std::size_t stack_size) : size_(stack_size) {}

stack_pool::~stack_pool() {
  for (const slab& sl : slabs_) {
    if (sl.leaked) continue;
#if GORO_ASAN
    // As in unmap: no stale redzones for whatever is mapped here next. The guard pages are
    // left alone (their shadow was never written).
    const std::size_t stride = size_ + (sl.guarded ? page_size() : 0);
    for (std::byte* at = sl.base; at < sl.base + sl.bytes; at += stride) {
      ASAN_UNPOISON_MEMORY_REGION(at + (sl.guarded ? page_size() : 0), size_);
    }
#endif
    munmap(sl.base, sl.bytes);
    guarded_live.fetch_sub(sl.guarded, std::memory_order_relaxed);
  }
}

// Maps n stacks with one mmap: [guard|stack][guard|stack]... while the guard budget lasts,
// else [stack][stack]... (one mapping for all of them).
void stack_pool::map_slab(std::vector<stack_mem>& out, std::size_t n) {
  const std::size_t page = page_size();
  const long want = static_cast<long>(n);
  long guarded = 0;
  if (guarded_live.fetch_add(want, std::memory_order_relaxed) + want <= guard_budget()) {
    guarded = want;
  } else {
    guarded_live.fetch_sub(want, std::memory_order_relaxed);
  }
  const std::size_t stride = size_ + (guarded ? page : 0);
  void* p = mmap(nullptr, n * stride, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    guarded_live.fetch_sub(guarded, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  // Never huge pages: with transparent huge pages "always" (and kernels before 6.7, where
  // MAP_STACK does not imply it), one touched stack page would fault in 2 MiB, the top
  // pages of eight stacks' worth, instead of 4 KiB.
  madvise(p, n * stride, MADV_NOHUGEPAGE);
  auto* lo = static_cast<std::byte*>(p);
  slabs_.push_back({lo, n * stride, static_cast<int>(guarded), false});
  for (std::size_t i = 0; i < n; ++i) {
    std::byte* at = lo + i * stride;
    if (guarded) {
      install_guard(at, page);
      out.push_back({at + page, size_, true});
    } else {
      out.push_back({at, size_, false});
    }
  }
}

void stack_pool::take(std::vector<stack_mem>& out, std::size_t n) {
  std::size_t fresh = out.size();  // out[fresh...] have no resident page: populate them
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (; n > 0 && !warm_.empty(); --n) {
      out.push_back(warm_.back());
      warm_.pop_back();
    }
    warm_count_.store(warm_.size(), std::memory_order_relaxed);
    warm_low_ = std::min(warm_low_, warm_.size());
    fresh = out.size();
    for (; n > 0 && !cold_.empty(); --n) {
      out.push_back(cold_.back());
      cold_.pop_back();
    }
    if (n > 0) map_slab(out, n);
  }
  // Outside the lock: other workers' takes need not wait for the page faults.
  populate_tops(out.data() + fresh, out.size() - fresh);
}

void stack_pool::give(const stack_mem* s, std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  warm_.insert(warm_.end(), s, s + n);
  warm_count_.store(warm_.size(), std::memory_order_relaxed);
}

std::int64_t stack_pool::trim(std::int64_t now) {
  if (warm_count_.load(std::memory_order_relaxed) <= kWarmReserve) return INT64_MAX;
  const std::int64_t due = next_trim_.load(std::memory_order_relaxed);
  if (now < due) return due;
  std::vector<stack_mem> excess;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // warm_ is a stack (take and give work at its back), so the first warm_low_ entries
    // are the ones nobody touched since the last trim.
    const std::size_t idle = std::min(warm_low_, warm_.size());
    if (idle > kWarmReserve) {
      const auto end = warm_.begin() + static_cast<std::ptrdiff_t>(idle - kWarmReserve);
      excess.assign(warm_.begin(), end);
      warm_.erase(warm_.begin(), end);
      warm_count_.store(warm_.size(), std::memory_order_relaxed);
    }
    warm_low_ = warm_.size();
    next_trim_.store(now + kTrimPeriodNs, std::memory_order_relaxed);
  }
  give_back_memory(excess);
  std::lock_guard<std::mutex> lock(mu_);
  cold_.insert(cold_.end(), excess.begin(), excess.end());
  return warm_.size() > kWarmReserve ? now + kTrimPeriodNs : INT64_MAX;
}

void stack_pool::leak(std::span<const stack_mem> stacks) {
  std::lock_guard<std::mutex> lock(mu_);
  // Slabs by address, to find each stack's slab in log time: an exit may release a
  // million goroutines.
  std::vector<slab*> by_base;
  by_base.reserve(slabs_.size());
  for (slab& sl : slabs_) by_base.push_back(&sl);
  std::sort(by_base.begin(), by_base.end(), [](slab* a, slab* b) { return a->base < b->base; });
  for (const stack_mem& s : stacks) {
    auto after = std::upper_bound(by_base.begin(), by_base.end(), s.base,
                                  [](const std::byte* p, slab* sl) { return p < sl->base; });
    if (after != by_base.begin() && s.base < (*(after - 1))->base + (*(after - 1))->bytes) {
      (*(after - 1))->leaked = true;
    }
    lsan_add_root(s.base, s.size);  // the usable range only: not the guard page below it
  }
}

}  // namespace goro::detail
