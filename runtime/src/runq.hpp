// A worker's local run queue: Go's runq (proc.go: runqput, runqget, runqgrab).
//
// Invariants:
// - Only the owning worker pushes (advances `tail_`); the owner and thieves pop by CAS on
//   `head_`. tail_ - head_ is the number of queued goroutines, at most kSize.
// - `next_` holds the goroutine readied most recently by the running one; it runs before the
//   queue, so a goroutine that wakes its partner and blocks hands the worker over to it
//   (ping-pong, pipelines) without a trip through the queue.
// - Thieves take half of the queue at once; they take `next_` only if the queue is empty,
//   and only the goroutine they saw there before giving the owner time to run it.
#pragma once

#include <atomic>
#include <cstdint>

#include "goroutine.hpp"

namespace goro::detail {

class runq {
 public:
  static constexpr std::uint32_t kSize = 256;

  // Owner only. Returns false when the queue is full: the caller then moves half of it,
  // plus `gp`, to the global queue with take_half_for_overflow.
  bool push(g* gp) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    if (t - h >= kSize) return false;
    slots_[t % kSize].store(gp, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // Owner only: puts gp in the runnext slot; returns the goroutine it displaced, if any.
  g* push_next(g* gp) noexcept { return next_.exchange(gp, std::memory_order_acq_rel); }

  // Owner only: runnext first, then the queue.
  g* pop() noexcept {
    g* n = next_.load(std::memory_order_relaxed);
    if (n && next_.compare_exchange_strong(n, nullptr, std::memory_order_acquire)) return n;
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (t == h) return nullptr;
      g* gp = slots_[h % kSize].load(std::memory_order_relaxed);
      if (head_.compare_exchange_strong(h, h + 1, std::memory_order_release)) return gp;
    }
  }

  // Owner only: the i-th goroutine pop() would return after runnext, or null; racy, for
  // prefetching.
  g* peek(std::uint32_t i = 0) const noexcept {
    const std::uint32_t h = head_.load(std::memory_order_relaxed);
    if (tail_.load(std::memory_order_relaxed) - h <= i) return nullptr;
    return slots_[(h + i) % kSize].load(std::memory_order_relaxed);
  }

  // Owner only, when push failed: removes the older half of the queue into batch[0..n).
  std::uint32_t take_half_for_overflow(g** batch) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    std::uint32_t n = (t - h) / 2;
    for (std::uint32_t i = 0; i < n; ++i)
      batch[i] = slots_[(h + i) % kSize].load(std::memory_order_relaxed);
    if (!head_.compare_exchange_strong(h, h + n, std::memory_order_release)) return 0;
    return n;
  }

  // Thief: moves half of victim's goroutines into this (the thief's own, owner-side) queue
  // and returns one of them to run, or null. Given `next` and an empty queue, takes the
  // victim's runnext instead, but only if it is still `next` (the one the thief saw before
  // giving the owner time to run it; Go's CAS on the runnext it slept on).
  // The thief's queue must have room for half of a full one: grab writes into its slots
  // unchecked (the scheduler steals only once its own pop() came back empty).
  g* steal_from(runq& victim, g* next = nullptr) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    GORO_ASSERT(t - head_.load(std::memory_order_relaxed) <= kSize / 2,
                "a thief steals into a queue without room for half a victim's");
    std::uint32_t n = victim.grab(slots_, t, next);
    if (n == 0) return nullptr;
    --n;
    g* gp = slots_[(t + n) % kSize].load(std::memory_order_relaxed);
    if (n > 0) tail_.store(t + n, std::memory_order_release);
    return gp;
  }

  // The goroutine in runnext, or null; racy, for a thief deciding whether to wait.
  g* peek_next() const noexcept { return next_.load(std::memory_order_acquire); }

  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire) &&
           next_.load(std::memory_order_acquire) == nullptr;
  }

 private:
  // Copies half of this queue into batch starting at batch_head and claims it.
  std::uint32_t grab(std::atomic<g*>* batch, std::uint32_t batch_head, g* only_next) noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      n = n - n / 2;
      if (n == 0) {
        if (!only_next) return 0;
        g* nx = next_.load(std::memory_order_acquire);
        if (nx != only_next) return 0;
        if (!next_.compare_exchange_strong(nx, nullptr, std::memory_order_acq_rel)) continue;
        batch[batch_head % kSize].store(nx, std::memory_order_relaxed);
        return 1;
      }
      if (n > kSize / 2) continue;  // h and t read inconsistently: retry
      for (std::uint32_t i = 0; i < n; ++i) {
        batch[(batch_head + i) % kSize].store(
            slots_[(h + i) % kSize].load(std::memory_order_relaxed), std::memory_order_relaxed);
      }
      if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) return n;
    }
  }

  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::atomic<g*> next_{nullptr};
  std::atomic<g*> slots_[kSize] = {};
};

}  // namespace goro::detail
