// A worker's private cache in front of a shared pool (stacks, g structures).
//
// The cache takes from the pool in batches of half its size and, when full, gives half of
// itself back, so the pool's lock is taken once per kMax / 2 operations at most, and what
// a goroutine just freed is what the next spawn on this worker gets (still in cache).
//
//   batch_cache<stack_mem, stack_pool> stacks;
//   stack_mem s = stacks.get(pool);  // pool.take(items, n) refills an empty cache
//   stacks.put(pool, s);             // pool.give(items, n) takes the excess
#pragma once

#include <cstddef>
#include <vector>

namespace goro::detail {

template <class T, class Pool>
class batch_cache {
 public:
  static constexpr std::size_t kMax = 64;

  T get(Pool& pool) {
    if (items_.empty()) pool.take(items_, kMax / 2);
    T item = items_.back();
    items_.pop_back();
    return item;
  }

  void put(Pool& pool, const T& item) {
    if (items_.size() >= kMax) {
      const std::size_t keep = kMax / 2;
      pool.give(items_.data() + keep, items_.size() - keep);
      items_.resize(keep);
    }
    items_.push_back(item);
  }

  // Whether the next get() must go to the pool.
  bool empty() const noexcept { return items_.empty(); }

  void flush(Pool& pool) {
    pool.give(items_.data(), items_.size());
    items_.clear();
  }

 private:
  std::vector<T> items_;
};

}  // namespace goro::detail
