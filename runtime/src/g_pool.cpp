#include "g_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

#include "goroutine.hpp"
#include "sanitizers.hpp"

namespace goro::detail {

namespace {

// Slots back to back (a g is 160 bytes: goroutine.hpp); 32-byte alignment keeps the fields
// that a switch reads first (ctx, on_stack_ptr) in one cache line.
constexpr std::size_t kSlotAlign = 32;
constexpr std::size_t kSlotSize = (sizeof(g) + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
// One region is one transparent huge page where the kernel allows them (MADV_HUGEPAGE):
// a burst of a million spawns then faults in ~220 huge pages instead of ~110,000 small
// ones, and a first touch costs ~15 us on the development VM (the host backs the page).
constexpr std::size_t kRegionBytes = std::size_t{2} << 20;

}  // namespace

g_pool::~g_pool() {
  for (void* r : regions_) {
    if (std::find(leaked_.begin(), leaked_.end(), r) != leaked_.end()) continue;
#if GORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(r, kRegionBytes);
#endif
    munmap(r, kRegionBytes);
  }
}

// Maps a region aligned to its size, so that it can be one huge page.
void g_pool::map_region() {
  // Room first, so that a region is never lost to a throwing push_back.
  if (regions_.size() == regions_.capacity()) regions_.reserve(2 * regions_.size() + 16);
  void* p =
      mmap(nullptr, 2 * kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* lo = static_cast<std::byte*>(p);
  const auto addr = reinterpret_cast<std::uintptr_t>(lo);
  auto* r = lo + ((kRegionBytes - addr % kRegionBytes) % kRegionBytes);
  if (r > lo) munmap(lo, static_cast<std::size_t>(r - lo));
  if (r + kRegionBytes < lo + 2 * kRegionBytes) {
    munmap(r + kRegionBytes, static_cast<std::size_t>(lo + 2 * kRegionBytes - (r + kRegionBytes)));
  }
  madvise(r, kRegionBytes, MADV_HUGEPAGE);  // a hint: without THP, small pages as before
  regions_.push_back(r);
  next_ = r;
  end_ = r + kRegionBytes / kSlotSize * kSlotSize;
}

void g_pool::take(std::vector<void*>& out, std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  // Freed slots first (still warm), then never-used ones in address order.
  for (; n > 0 && free_; --n) {
    free_slot* s = free_;
#if GORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(s, sizeof(free_slot));
#endif
    free_ = s->next;
    out.push_back(s);
  }
  for (; n > 0; --n) {
    if (next_ == end_) map_region();
    out.push_back(next_);
    next_ += kSlotSize;
  }
}

void g_pool::give(void* const* slots, std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < n; ++i) {
    auto* s = static_cast<free_slot*>(slots[i]);
#if GORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(s, sizeof(free_slot));  // free_g poisoned the whole g
#endif
    s->next = free_;
    free_ = s;
#if GORO_ASAN
    ASAN_POISON_MEMORY_REGION(s, sizeof(free_slot));
#endif
  }
}

void g_pool::leak(const void* slot) {
  // Regions are aligned to their size (map_region), so a slot's address gives its region.
  void* r = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(slot) & ~(kRegionBytes - 1));
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(leaked_.begin(), leaked_.end(), r) != leaked_.end()) return;
  leaked_.push_back(r);
  lsan_add_root(r, kRegionBytes);
}

}  // namespace goro::detail
