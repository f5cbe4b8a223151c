// What the scheduler's files share and the rest of the runtime does not (sched.cpp lists
// the files). Each function is described where it is defined.
//
// Unless it says otherwise, each runs on a worker thread of the running runtime (or, for
// the shutdown paths, on the thread in run_main once the workers have stopped).
#pragma once

#include <atomic>
#include <cstdint>

#include "sched.hpp"
#include "seed.hpp"

namespace goro::detail {

void set_current_worker(worker* w) noexcept;  // tls.cpp

// Every this many scheduling rounds a worker looks at the global queue before its own (in
// next_local and in find_runnable): otherwise two goroutines that keep readying each other
// would hold the local queue forever and starve the global one. Go's schedtick fairness and
// Go's value: often enough to bound that wait, rarely enough that sched_lock stays off the
// fast path; a prime, so it does not fall into step with a program's own periodic pattern.
constexpr std::uint32_t kGlobalQueueEvery = 61;

// Only a worker's own thread pushes to or pops from the local end of its run queue (push,
// push_next, pop, and a steal into it); other threads only take from the far end
// (runq::steal_from). The queue's operations cannot check it: internals_test drives a runq
// from a plain thread, and run_main empties the queues once the workers have stopped.
inline void assert_owns_runq(const worker* w) noexcept {
  GORO_ASSERT(current_worker() == w, "a run queue's local end used off its worker's thread");
}

// worker::idle and worker::woken_spinning, which the analysis cannot reach (sched.hpp), are
// w's runtime's sched_lock's: held by the caller, and it must be rt's.
inline void assert_idle_locked(const runtime* rt, const worker* w) noexcept {
  GORO_ASSERT(w->rt == rt && rt->sched_lock.is_locked(),
              "a worker's idle state touched without its runtime's sched_lock");
}

// run.cpp
unsigned default_threads();

// spawn.cpp
void make_context(worker* w, g* gp) noexcept;
void free_goroutine(worker* w, g* gp) noexcept;
void start(spawn_slot slot, void (*body)(void*, bool), const std::source_location& where,
           bool is_main) noexcept;

// switch.cpp
worker* landed(g* gp, fiber_transfer t) noexcept;
void execute(worker* w, g* gp) noexcept;
void exit_goroutine(g* gp) noexcept;
void yield_now();

// worker.cpp
void worker_loop(worker* w);
void init_sched_stack(worker* w) noexcept;
std::int64_t earliest_timer(runtime* rt) noexcept;
void send_elsewhere(runtime* rt, g* gp) noexcept;

// idle.cpp
void idle_remove_locked(runtime* rt, worker* w) noexcept GORO_REQUIRES(rt->sched_lock);
void wake_worker(runtime* rt, worker* w) noexcept;
void stop_spinning(runtime* rt, worker* w) noexcept;
void leave_idle(runtime* rt, worker* w) noexcept;
bool any_work_visible(runtime* rt, worker* self) noexcept;
void check_deadlock(runtime* rt) noexcept;
void sleep_idle(runtime* rt, worker* w, std::int64_t wake_at, g_list& io) noexcept;
g* steal_work(runtime* rt, worker* w) noexcept;

// Wakes an idle worker to look for work, unless one is already looking. Inline, although
// it belongs to idle.cpp: every ready and spawn calls it, and its first two checks return
// at once while a worker is looking or none is idle (GCC moves the rest out of line).
inline void wakep(runtime* rt) noexcept {
  if (rt->nidle.load(std::memory_order_acquire) == 0) return;
  if (rt->nmspinning.load(std::memory_order_acquire) != 0) return;
  unsigned zero = 0;
  if (!rt->nmspinning.compare_exchange_strong(zero, 1, std::memory_order_acq_rel)) return;
  worker* w = nullptr;
  {
    spin_guard lock(rt->sched_lock);
    if (!rt->idle.empty()) {
      w = rt->idle.back();
      idle_remove_locked(rt, w);
      w->woken_spinning = true;
    }
  }
  if (!w) {
    rt->nmspinning.fetch_sub(1, std::memory_order_release);
    return;
  }
  wake_worker(rt, w);
}

}  // namespace goro::detail
