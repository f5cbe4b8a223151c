// The registry of live goroutines (registry.hpp).
#include "registry.hpp"

namespace goro::detail {

void registry::add(g* gp, std::uint64_t hint) noexcept {
  gp->registry_shard = static_cast<std::uint8_t>(hint % kShards);
  shard& s = shard_of(gp);
  spin_guard hold(s.lock);
  if (s.free != kNoFree) {
    const std::size_t i = (s.free - 3) / 2;
    s.free = s.slots[i];
    s.slots[i] = reinterpret_cast<std::uintptr_t>(gp);
    gp->registry_slot = static_cast<std::uint32_t>(i);
  } else {
    gp->registry_slot = static_cast<std::uint32_t>(s.slots.size());
    s.slots.push_back(reinterpret_cast<std::uintptr_t>(gp));  // bad_alloc here is fatal
  }
}

void registry::remove(g* gp) noexcept {
  shard& s = shard_of(gp);
  spin_guard hold(s.lock);
  s.slots[gp->registry_slot] = s.free;
  s.free = std::uintptr_t{gp->registry_slot} * 2 + 3;
}

}  // namespace goro::detail
