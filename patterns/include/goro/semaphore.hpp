// goro::semaphore — golang.org/x/sync/semaphore's Weighted: a semaphore of `size` units
// that callers acquire and release in weights, waiting in FIFO order.
//
//   goro::semaphore sem(goro::gomaxprocs());
//   for (auto& job : jobs) {
//     if (std::error_code err = sem.acquire(ctx, 1)) break;   // ctx done: give up
//     goro::go([&sem, job] { work(job); sem.release(1); });
//   }
//   sem.acquire(ctx, goro::gomaxprocs());   // wait for all workers to finish
//
// A waiter blocks the goroutine (or thread), not the worker. Waiters are served in order:
// a large request at the head keeps smaller ones behind it waiting, so it cannot starve.
// Every member may be called at once from any goroutine or thread. Only acquire blocks.
#pragma once

#include <cstdint>
#include <system_error>

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/detail/mutex.hpp>
#include <goro/unit.hpp>

namespace goro {

class semaphore {
 public:
  // NewWeighted(size): `size` units, all available.
  explicit semaphore(std::int64_t size) : size_(size) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  // Blocks until n units are available or ctx is done. On success returns an empty
  // error_code; otherwise ctx.err(), leaving the semaphore unchanged. If ctx is already done,
  // fails even if the units were available. n > size waits for ctx forever.
  std::error_code acquire(const context& ctx, std::int64_t n = 1);
  // Takes n units without blocking; false (and no change) if they are not available now.
  bool try_acquire(std::int64_t n = 1);
  // Returns n units. Releasing more than held throws panic_error
  // ("semaphore: released more than held").
  void release(std::int64_t n = 1);

 private:
  // A goroutine waiting in acquire: a node on its stack, linked in the FIFO queue of
  // waiters (not a std::list, whose header cost every file that includes goro.hpp 0.02 s of
  // the compiler's time; docs/header_cost.md).
  struct waiter {
    std::int64_t n;
    chan<unit> ready;  // closed when the units are granted, once it is unlinked
    waiter* prev = nullptr;
    waiter* next = nullptr;
  };
  void notify_waiters();   // with mu_ held
  void unlink(waiter& w);  // with mu_ held

  std::mutex mu_;  // never held across a blocking operation
  std::int64_t size_;
  std::int64_t cur_ = 0;
  waiter* head_ = nullptr;  // the queue of waiters, oldest first
  waiter* tail_ = nullptr;
};

}  // namespace goro
