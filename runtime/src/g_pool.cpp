#include "g_pool.hpp"

#include <new>

#include "goroutine.hpp"
#include "sanitizers.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t kChunkSlots = 64;
constexpr std::size_t kSlotAlign = 64;  // a g starts on a cache line of its own
constexpr std::size_t kSlotSize = (sizeof(g) + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
constexpr std::size_t kChunkBytes = kChunkSlots * kSlotSize;

}  // namespace

g_pool::~g_pool() {
  if (leaked_) return;
  for (void* c : chunks_) {
#if GORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(c, kChunkBytes);
#endif
    ::operator delete (c, std::align_val_t{kSlotAlign});
  }
}

void g_pool::take(std::vector<void*>& out, std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  while (n > 0) {
    if (free_.empty()) {
      // Room first, so that a chunk is never lost to a throwing push_back; doubling, since
      // reserving one more each time copied the whole list per chunk (15,000 at 1 M).
      if (chunks_.size() == chunks_.capacity()) chunks_.reserve(2 * chunks_.size() + 16);
      auto* c = static_cast<std::byte*>(::operator new (kChunkBytes, std::align_val_t{kSlotAlign}));
      chunks_.push_back(c);
      // Backwards, so that the chunk's first slots are handed out first.
      for (std::size_t i = kChunkSlots; i-- > 0;) free_.push_back(c + i * kSlotSize);
    }
    out.push_back(free_.back());
    free_.pop_back();
    --n;
  }
}

void g_pool::give(void* const* slots, std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.insert(free_.end(), slots, slots + n);
}

void g_pool::leak() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  leaked_ = true;
}

}  // namespace goro::detail
