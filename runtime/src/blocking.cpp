// goro::blocking: a bounded pool of helper threads runs blocking calls while their
// goroutines park (tokio's spawn_blocking; DESIGN.md §8).
//
// Why not Go's way (a worker stuck in a system call hands its run queue to another thread):
// a goro worker's state (run queue, timers, caches) is its thread's, and splitting the two
// would touch every path of the scheduler. A pool touches none of them and costs one
// hand-over per call (a helper's futex wake, and the goroutine's ready).
//
// Invariants:
// - A job lives on its goroutine's stack. The goroutine leaves run_blocking only once the
//   helper has set `released`, its last touch of the job; or never, when shutdown abandons
//   it (then its stack stays mapped for good, and the helper may still use it).
// - job::state goes running -> done (the helper, once the call returned) or running ->
//   abandoned (the goroutine, resumed by shutdown while the call runs, or shutdown itself
//   when it releases the goroutine: release_blocking_call). One CAS wins, and only the
//   helper that won readies the goroutine.
// - At most kMaxThreads helpers (tokio's max_blocking_threads): a job that finds them all
//   busy waits in the FIFO queue. A helper idle for kKeepAlive (tokio's 10 s) exits.
// - blocking_calls() counts the jobs whose goroutine has not been readied yet: while there
//   are any the program is not deadlocked.
#include <goro/blocking.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include <goro/detail/spinlock.hpp>

#include "sched.hpp"

namespace goro::detail {

namespace {

constexpr unsigned kMaxThreads = 512;
constexpr auto kKeepAlive = std::chrono::seconds(10);

enum job_state : int { kRunning, kDone, kAbandoned };

struct job {
  void (*call)(void*);
  void* arg;
  g* gp;
  runtime* rt;
  std::exception_ptr error;
  std::atomic<int> state{kRunning};
  std::atomic<bool> released{false};
  job* next = nullptr;
};

class helper_pool {
 public:
  // Queues j and makes sure a helper will take it. Called by park once j's goroutine is off
  // its stack, so that the helper's ready cannot come before the park.
  void submit(job* j) noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    if (tail_) {
      tail_->next = j;
    } else {
      head_ = j;
    }
    tail_ = j;
    ++queued_;
    if (queued_ <= idle_) {
      cv_.notify_one();
      return;
    }
    if (threads_ >= kMaxThreads) return;               // the next helper to finish takes it
    threads_.fetch_add(1, std::memory_order_relaxed);  // before it can time out and leave
    try {
      std::thread([this] { loop(); }).detach();
    } catch (const std::system_error&) {
      if (threads_.fetch_sub(1, std::memory_order_relaxed) > 1) return;  // one will take it
      pop();
      lock.unlock();
      j->error = std::make_exception_ptr(std::system_error(
          EAGAIN, std::system_category(), "goro::blocking: cannot start a helper thread"));
      finish(j);
    }
  }

  std::size_t threads() const noexcept { return threads_.load(std::memory_order_relaxed); }
  std::size_t calls() const noexcept { return calls_.load(std::memory_order_acquire); }
  void call_started() noexcept { calls_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  job* pop() noexcept {
    job* j = head_;
    head_ = j->next;
    if (!head_) tail_ = nullptr;
    --queued_;
    return j;
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!head_) {
        ++idle_;
        const bool got = cv_.wait_for(lock, kKeepAlive, [this] { return head_ != nullptr; });
        --idle_;
        if (!got) {
          threads_.fetch_sub(1, std::memory_order_relaxed);
          return;
        }
      }
      job* j = pop();
      lock.unlock();
      // A job whose goroutine shutdown released or unwound before its call started is not
      // called: no code of the program runs after main_fn has returned.
      if (j->state.load(std::memory_order_acquire) == kRunning) {
        try {
          j->call(j->arg);
        } catch (...) {
          j->error = std::current_exception();
        }
      }
      finish(j);
      lock.lock();
    }
  }

  // The call is over: hands the result back to the goroutine, unless shutdown abandoned it.
  void finish(job* j) noexcept {
    int running = kRunning;
    if (!j->state.compare_exchange_strong(running, kDone, std::memory_order_acq_rel)) {
      calls_.fetch_sub(1, std::memory_order_acq_rel);  // abandoned: j is not ours to touch
      return;
    }
    g* gp = j->gp;
    runtime* rt = j->rt;
    // Once stopping, shutdown resumes every goroutine itself.
    if (!rt->stopping.load(std::memory_order_acquire)) ready(gp);
    calls_.fetch_sub(1, std::memory_order_acq_rel);
    j->released.store(true, std::memory_order_release);  // j may be gone after this
  }

  std::mutex mu_;
  std::condition_variable cv_;
  job* head_ = nullptr;  // FIFO through job::next
  job* tail_ = nullptr;
  unsigned queued_ = 0;
  unsigned idle_ = 0;
  std::atomic<unsigned> threads_{0};
  std::atomic<std::size_t> calls_{0};
};

// Never destroyed: helpers outlive goro::run, and may outlive main().
helper_pool& pool() {
  static helper_pool* p = new helper_pool;
  return *p;
}

void submit_parked(void* j) noexcept {
  pool().submit(static_cast<job*>(j));
}

// Waits for the helper's last touch of j (it readied us just before).
void wait_released(const job& j) noexcept {
  for (int spins = 0; !j.released.load(std::memory_order_acquire); ++spins) {
    if (spins < 100) {
      spin_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace

void run_blocking(void (*call)(void*), void* arg) {
  worker* w = current_worker();
  g* gp = w ? w->running() : nullptr;
  runtime* rt = current_runtime();
  if (!gp || !rt) {
    call(arg);  // a plain thread may block itself
    return;
  }
  unwind_if_exiting(gp);
  job j{call, arg, gp, rt, nullptr};
  pool().call_started();
  gp->on_stack().blocking_job = &j;  // for release_blocking_call
  park(gp, &submit_parked, &j, wait_reason::syscall);
  if (j.state.load(std::memory_order_acquire) == kRunning) {
    // Resumed by shutdown while the call runs, and may still use this stack: stay parked.
    int running = kRunning;
    if (j.state.compare_exchange_strong(running, kAbandoned, std::memory_order_acq_rel)) {
      park_abandoned(gp);
    }
  }
  wait_released(j);
  gp->on_stack().blocking_job = nullptr;
  unwind_if_exiting(gp);
  if (j.error) std::rethrow_exception(j.error);
}

void release_blocking_call(g* gp) noexcept {
  if (!gp->started) return;
  auto* j = static_cast<job*>(gp->on_stack().blocking_job);
  if (!j) return;
  int running = kRunning;
  if (j->state.compare_exchange_strong(running, kAbandoned, std::memory_order_acq_rel)) {
    return;  // the helper will not touch gp or the runtime again (finish)
  }
  // The call is done and the helper is in finish: it sees `stopping` and readies nothing,
  // but it reads the runtime, which must outlive that.
  wait_released(*j);
}

std::size_t blocking_threads() noexcept {
  return pool().threads();
}

std::size_t blocking_calls() noexcept {
  return pool().calls();
}

}  // namespace goro::detail
