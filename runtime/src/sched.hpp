// The scheduler's internals: workers (Go's P and M in one), the runtime they share, and the
// two verbs every blocking primitive is built from: park and ready.
//
// park(gp, unlock, arg) suspends the current goroutine and, only once its context is saved,
// calls unlock(arg) on the worker's own stack. A primitive enqueues its waiter under its lock
// and parks with "release that lock" as `unlock`, so a waker, which needs the same lock to
// find the waiter, can never ready a goroutine that is still running. ready(gp) makes a
// parked goroutine runnable again (or wakes the plain thread it stands for).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <goro/runtime.hpp>

#include "g_pool.hpp"
#include "goroutine.hpp"
#include "netpoll.hpp"
#include "parker.hpp"
#include "registry.hpp"
#include "runq.hpp"
#include "stack.hpp"
#include "timer.hpp"

namespace goro::detail {

struct runtime;

struct worker {
  unsigned index = 0;
  runtime* rt = nullptr;
  runq q;
  // The goroutine this worker runs now; null in its scheduler loop. Written only by this
  // worker; atomic because thieves peek at it (is the victim busy?).
  std::atomic<g*> curg{nullptr};
  g* running() const noexcept { return curg.load(std::memory_order_relaxed); }
  fiber_context sched_ctx = nullptr;  // the scheduler loop, suspended while a goroutine runs
  bool started_by_loop = false;       // the last switch came from the loop (goroutine_main)
  fiber_stack sched_stack;            // this thread's own stack, where the scheduler loop runs
  eh_state* eh = nullptr;             // this thread's C++ exception state (see eh_state)
  parker park;
  bool spinning = false;  // looking for work to steal; counted in runtime::nmspinning
  std::uint32_t schedtick = 0;
  // nanotime() as of this worker's last trip through the scheduler loop (at least every 61
  // switches): when parked goroutines started waiting, to the precision a goroutine dump
  // needs (minutes), without reading the clock on every park.
  std::int64_t coarse_now = 0;
  std::uint64_t rng_state = 0;
  timer_heap timers;
  stack_cache stacks;
  g_cache gslots;
  std::uint64_t id_next = 0, id_end = 0;    // a batch of goroutine ids
  std::atomic<std::int64_t> live_delta{0};  // goroutines started minus ended here
  // options::debug_migrate: goroutines that other workers readied, to run here.
  spinlock inbox_lock;
  g_list inbox GORO_GUARDED_BY(inbox_lock);
  std::atomic<bool> inbox_full{false};
  // Guarded by rt->sched_lock. Not annotated: runtime is incomplete here, and the analysis
  // could not tell a worker's rt->sched_lock from the one its callers lock; the functions
  // that touch them assert it (assert_idle_locked, sched_impl.hpp).
  bool idle = false;            // in runtime::idle
  bool woken_spinning = false;  // taken off the idle list by wakep, which counted it spinning
  std::thread thread;
};

// A FIFO of goroutines in a growable ring of pointers (the global run queue): moving a batch
// in or out reads and writes the ring only, not the goroutines' g structures (walking a
// list through them was a cache miss each).
class g_ring {
 public:
  bool empty() const noexcept { return size_ == 0; }
  void push_back(g* gp) {
    if (size_ == ring_.size()) grow();
    ring_[(head_ + size_) & (ring_.size() - 1)] = gp;
    ++size_;
  }
  g* pop_front() noexcept {
    if (size_ == 0) return nullptr;
    g* gp = ring_[head_];
    head_ = (head_ + 1) & (ring_.size() - 1);
    --size_;
    return gp;
  }
  void clear() noexcept { head_ = size_ = 0; }

 private:
  void grow() {
    std::vector<g*> bigger(ring_.empty() ? 1024 : 2 * ring_.size());
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_.swap(bigger);
    head_ = 0;
  }
  std::vector<g*> ring_;  // a power of two long
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

struct runtime {
  explicit runtime(unsigned nworkers, std::size_t stack_size);

  unsigned nworkers;
  std::vector<std::unique_ptr<worker>> workers;
  stack_pool stacks;
  g_pool gslots;
  registry all;

  // Global run queue and idle workers (Go's sched.runq and sched.pidle).
  spinlock sched_lock;
  g_ring global GORO_GUARDED_BY(sched_lock);
  std::atomic<std::size_t> global_size{0};
  std::vector<worker*> idle GORO_GUARDED_BY(sched_lock);
  std::atomic<unsigned> nidle{0};
  std::atomic<unsigned> nmspinning{0};

  // Each group below written by a different kind of event has a cache line of its own: a
  // worker's batch of goroutine ids sharing a line with nidle and nmspinning, which every
  // spawn reads (wakep), cost the other worker a miss on its next spawn.
  alignas(64) std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::int64_t> live_outside{0};  // goroutines started or ended off the workers
  // The one idle worker that sleeps until the earliest timer of all workers (the others
  // park without a deadline), and that deadline (see timer_added).
  alignas(64) std::atomic<worker*> timer_sleeper{nullptr};
  std::atomic<std::int64_t> sleeper_until{INT64_MAX};
  // The timer sleeper while it waits in the poller rather than on its parker (then it is
  // woken through the poller: see wake_worker).
  std::atomic<worker*> poll_sleeper{nullptr};
  alignas(64) netpoller poll;  // netpoll.hpp

  alignas(64) std::atomic<bool> stopping{false};
  bool detect_deadlock = true;
  bool migrate = false;    // options::debug_migrate
  bool randomize = false;  // a seed was given: randomise the run queues (seed.hpp)
  bool draining = false;   // shutdown unwinds the remaining goroutines, one thread only

  // The thread inside run() waits here for the main goroutine, then for the workers.
  parker main_parker;
  std::atomic<bool> main_done{false};
  std::atomic<unsigned> workers_running{0};  // worker threads that have not left their loop
};

// Writes every live goroutine in the form of Go's traceback headers to a file descriptor,
// with nothing but write(2) and try-locks, so that a signal handler may call it.
void dump_goroutines(runtime* rt, int fd) noexcept;
void write_all(int fd, const char* text) noexcept;

// Installs the SIGQUIT (dump and exit 2) and SIGSEGV (stack overflow) handlers for the
// duration of a run, and each worker thread's alternate signal stack.
void install_signal_handlers() noexcept;
void restore_signal_handlers() noexcept;
void* thread_signal_stack_enter() noexcept;
void thread_signal_stack_leave(void* stack) noexcept;

// The running runtime, or null: set and cleared by run_main (run.cpp). Inline, because
// ready() asks for it on every wake-up.
extern std::atomic<runtime*> the_runtime;
inline runtime* current_runtime() noexcept {
  return the_runtime.load(std::memory_order_acquire);
}
// The worker whose thread calls this, or null on a plain thread. Never cache the result
// across a blocking call: the goroutine may resume on another worker.
worker* current_worker() noexcept;
// The running goroutine, or the calling plain thread's stand-in.
g* current_g() noexcept;

void park(g* gp, void (*unlock)(void*), void* arg, wait_reason why);
void finish_parking(void* gp) noexcept;  // park_unlocked's request to the scheduler

// A worker's heap has a new earliest timer at `when`: make sure an idle worker will wake
// for it (Go's wakeNetPoller), since the worker that armed it may stay busy.
void timer_added(runtime* rt, std::int64_t when) noexcept;
// Makes gp runnable. wake_idle = false leaves waking an idle worker for it to the caller,
// which readies a batch and then calls wake_idle_worker() once (Go's injectglist).
void ready(g* gp, bool wake_idle = true) noexcept;
void wake_idle_worker() noexcept;
// Wakes the idle worker that watches the timers, if there is one (the poller was just
// opened: it must go to sleep in the poller instead of on its parker).
void wake_timer_sleeper(runtime* rt) noexcept;
// Shutdown is unwinding gp, but a thread outside the runtime still uses gp's stack (a
// goro::blocking call in flight): parks gp for good, so that shutdown abandons it and
// leaves its stack mapped instead of unwinding it.
[[noreturn]] void park_abandoned(g* gp) noexcept;
// Shutdown releases gp, whose goro::blocking call may still be queued or running on a
// helper thread (blocking.cpp): afterwards the helper touches neither gp nor the runtime,
// and a call that had not started never does.
void release_blocking_call(g* gp) noexcept;

// goro::blocking's helper threads alive, and its calls not finished (blocking.cpp).
std::size_t blocking_threads() noexcept;
std::size_t blocking_calls() noexcept;

// Unlinks gp's kept select waiter, if any, and drops its channel (select.cpp); before gp ends.
void release_kept_waiter(g* gp) noexcept;

// A goroutine woken without completing its wait (shutdown): true if it must now unwind.
inline bool must_unwind(const g* gp) noexcept {
  return gp->unwinding && !gp->is_thread;
}

// must_unwind, and no exception in flight: a blocking call may throw goroutine_exit now (in
// a destructor that blocked during unwinding, a throw would end the process instead).
inline bool must_unwind_now(const g* gp) noexcept {
  return must_unwind(gp) && std::uncaught_exceptions() == 0;
}

// Called by every blocking call once its wait is over, completed or not: if main_fn has
// returned and shutdown resumed gp to unwind it, the call throws instead of returning, so
// that no normal code runs after main (a woken receiver would otherwise go on to use main's
// dead locals). Not while an exception is in flight (a destructor that blocked during
// unwinding): a throw there would end the process.
inline void unwind_if_exiting(const g* gp) {
  if (must_unwind_now(gp)) [[unlikely]] {
    throw goroutine_exit{};
  }
}

// The parking handshake, all of it. park_unlocked releases the waiters' locks before gp is
// off its stack (see below), so a waker can complete gp's select while gp still runs on
// its way to parking; readying it then would let a second worker resume a goroutine that
// is still running. g_on_stack::parking says who readies it:
//   kNotParking -> kParking             gp, before it releases the locks (begin_parking)
//   kParking -> kWokenWhileParking      a waker that finds gp on its way (wake_while_parking):
//                                       it leaves the readying to gp's side
//   kParking | kWoken... -> kNotParking  gp's side, once gp is off its stack (end_parking):
//                                       it readies gp if a waker came
enum parking_state : std::uint8_t { kNotParking = 0, kParking = 1, kWokenWhileParking = 2 };

inline void begin_parking(g_on_stack& st) noexcept {
  GORO_ASSERT(st.parking.load(std::memory_order_relaxed) == kNotParking,
              "a goroutine parks twice at once");
  st.parking.store(kParking, std::memory_order_relaxed);  // published by the unlock
}

// Waker side. True: gp was on its way to parking and will be readied by end_parking; the
// waker must not ready it. The load first: most selects are parked already, and a failed
// CAS costs as much as a good one.
inline bool wake_while_parking(g_on_stack& st) noexcept {
  std::uint8_t expected = kParking;
  return st.parking.load(std::memory_order_acquire) == kParking &&
         st.parking.compare_exchange_strong(expected, kWokenWhileParking,
                                            std::memory_order_acq_rel);
}

// Parking side, once gp is off its stack. True: a waker came meanwhile; ready gp now.
inline bool end_parking(g_on_stack& st) noexcept {
  std::uint8_t expected = kParking;
  if (st.parking.compare_exchange_strong(expected, kNotParking, std::memory_order_acq_rel)) {
    return false;
  }
  GORO_ASSERT(expected == kWokenWhileParking, "end_parking without begin_parking");
  st.parking.store(kNotParking, std::memory_order_relaxed);
  return true;
}

// park, but calling unlock() first, before gp is off its stack, so that the lock is not held
// across the switch. Go keeps it until the goroutine is off its stack, so that no waker can
// ready a goroutine that still runs; but then the lock is held across the switch to the next
// goroutine, and a pipeline's done channel, locked by every select that waits, was held that
// way most of the time. For select only: its waiters are completed through wake()
// (chan.cpp), which leaves the readying of a select still on its way to parking to
// finish_parking (the handshake above). Inline: it is on the path of every select that
// waits.
template <class Unlock>
void park_unlocked(g* gp, Unlock unlock, wait_reason why) {
  if (must_unwind_now(gp)) {
    unlock();  // shutdown: park would only unlock and return
    return;
  }
  begin_parking(gp->on_stack());
  unlock();
  park(gp, &finish_parking, gp, why);
}

// Current worker's (or thread's) cheap random numbers.
std::uint32_t fastrand() noexcept;
std::int64_t nanotime() noexcept;

[[noreturn]] void fatal(const char* msg) noexcept;

// The C++ runtime's exception state of the calling thread (see eh_state).
eh_state* thread_eh_state() noexcept;

}  // namespace goro::detail
