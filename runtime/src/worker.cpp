// The worker loop: Go's schedule/findrunnable (proc.go). A worker looks for its next
// goroutine in this order: due timers (of every worker), its inbox (debug_migrate), the
// poller if nobody polled for 10 ms, every kGlobalQueueEvery-th time the global queue
// (fairness), its local queue, the global queue, the poller, then stealing (idle.cpp);
// finding nothing, it becomes idle and sleeps (idle.cpp) until woken.
//
// Invariants:
// - Only the worker pops from the local end of its own queue, and runs what it took.
// - A worker goes idle only under sched_lock, after a last look at the global queue and
//   its inbox under that lock: whoever queues there then sees it idle and wakes it.
// - A spinning worker that stops spinning re-checks every queue before it sleeps (Go's
//   "delicate dance", idle.cpp), so no goroutine readied meanwhile is stranded.
// - Once `stopping` is set a worker runs no further goroutine and leaves its loop; the
//   last to leave unparks run_main.
#include "sched_impl.hpp"
#include "trace.hpp"

#include <pthread.h>

#include <atomic>

#include "global_queue.hpp"

namespace goro::detail {

// options::debug_migrate: hands gp to a worker other than the one it last ran on, and
// wakes that worker if it is idle.
void send_elsewhere(runtime* rt, g* gp) noexcept {
  worker* from = gp->started ? gp->on_stack().w : nullptr;
  const unsigned n = rt->nworkers;
  unsigned i = fastrand() % n;
  if (from && rt->workers[i].get() == from) i = (i + 1 + fastrand() % (n - 1)) % n;
  worker* v = rt->workers[i].get();
  {
    spin_guard hold(v->inbox_lock);
    v->inbox.push_back(gp, gp);
    v->inbox_full.store(true, std::memory_order_release);
  }
  // A busy worker finds its inbox in find_runnable; an idle one must be woken. (A worker
  // going idle checks its inbox under sched_lock, so it either sees gp or is seen idle.)
  bool wake = false;
  {
    spin_guard lock(rt->sched_lock);
    assert_idle_locked(rt, v);
    if (v->idle) {
      idle_remove_locked(rt, v);
      wake = true;
    }
  }
  if (wake) wake_worker(rt, v);
}

namespace {

g* take_inbox(worker* w) noexcept {
  if (!w->inbox_full.load(std::memory_order_acquire)) return nullptr;
  spin_guard hold(w->inbox_lock);
  g* gp = w->inbox.pop_front();
  if (w->inbox.empty()) w->inbox_full.store(false, std::memory_order_release);
  return gp;
}

}  // namespace

std::int64_t earliest_timer(runtime* rt) noexcept {
  std::int64_t when = INT64_MAX;
  for (auto& v : rt->workers) when = std::min(when, v->timers.earliest());
  return when;
}

namespace {

// Fires the due timers of every worker: the one that armed a timer may be busy in a long
// computation or blocked in a system call. What they ready lands on the caller's queue.
void run_due_timers(runtime* rt) {
  if (earliest_timer(rt) == INT64_MAX) return;
  const std::int64_t now = nanotime();
  for (auto& v : rt->workers) {
    if (v->timers.earliest() <= now) v->timers.run_due(now, /*shared=*/true);
  }
}

// Readies what the poller found, but the first goroutine, which the caller runs (null:
// none, or debug_migrate, where every wake-up goes elsewhere). A plain thread that waited
// (its g stands in for it) is unparked, never run.
g* ready_polled(runtime* rt, g_list& io) noexcept {
  g* first = nullptr;
  bool more = false;
  while (g* gp = io.pop_front()) {
    const bool thread = gp->is_thread;  // gp may be gone once readied
    if (!first && !thread && !rt->migrate) {
      first = gp;
      set_status(first, g_status::runnable);
      first->reason.store(wait_reason::none, std::memory_order_relaxed);
      if (GORO_UNLIKELY(trace::on())) trace::event(current_worker(), trace::kind::woken, first->id);
      continue;
    }
    ready(gp, /*wake_idle=*/false);
    more = more || !thread;
  }
  if (more) wakep(rt);
  return first;
}

// A poll without waiting, when goroutines wait for I/O and no worker waits in the poller
// (that one would get the events). `starved`: only if nobody polled for 10 ms, for a busy
// worker (Go's sysmon does this).
g* poll_nowait(runtime* rt, bool starved) noexcept {
  if (rt->poll.waiters() == 0 || rt->poll_sleeper.load(std::memory_order_acquire)) return nullptr;
  if (starved && nanotime() - rt->poll.last_poll() < 10'000'000) return nullptr;
  g_list io;
  rt->poll.poll(0, io);
  return ready_polled(rt, io);
}

// Looks for a goroutine to run; parks the thread while there is none. Null: stop.
g* find_runnable(worker* w) {
  assert_owns_runq(w);
  runtime* rt = w->rt;
  for (;;) {
    if (rt->stopping.load(std::memory_order_acquire)) return nullptr;
    w->coarse_now = nanotime();
    run_due_timers(rt);
    // The io_uring operations that goroutines queued go in as one batch when this worker
    // runs out of goroutines (below); a worker that stays busy still submits them within
    // 100 us (the latency of a recv that waits for its SQE).
    rt->poll.flush(w->coarse_now - 100'000);
    if (g* gp = take_inbox(w)) return gp;
    if (g* gp = poll_nowait(rt, /*starved=*/true)) return gp;

    if (++w->schedtick % kGlobalQueueEvery == 0) {
      if (g* gp = global_get(rt, w, 1)) return gp;
    }
    if (g* gp = rt->randomize ? randomized_pop(w->q, w->rng_state) : w->q.pop()) return gp;
    if (g* gp = global_get(rt, w, runq::kSize / 2)) return gp;
    rt->poll.flush();
    if (g* gp = poll_nowait(rt, /*starved=*/false)) return gp;
    if (sweep_idle_waiters(rt, w->coarse_now)) continue;  // it readied goroutines here

    // Steal, if not too many others are already trying.
    const unsigned busy = rt->nworkers - rt->nidle.load(std::memory_order_acquire);
    if (rt->nworkers > 1 &&
        (w->spinning || 2 * rt->nmspinning.load(std::memory_order_acquire) < busy)) {
      if (!w->spinning) {
        w->spinning = true;
        rt->nmspinning.fetch_add(1, std::memory_order_acq_rel);
      }
      if (g* gp = steal_work(rt, w)) return gp;
    }

    // Nothing found: become idle.
    {
      spin_guard lock(rt->sched_lock);
      assert_idle_locked(rt, w);
      if (rt->stopping.load(std::memory_order_acquire)) return nullptr;
      if (g* gp = global_get_locked(rt, w, runq::kSize / 2)) return gp;
      if (w->inbox_full.load(std::memory_order_acquire)) continue;
      GORO_ASSERT(!w->idle, "a worker goes idle twice");
      w->idle = true;
      w->woken_spinning = false;
      rt->idle.push_back(w);
      rt->nidle.fetch_add(1, std::memory_order_acq_rel);
    }
    if (w->spinning) {
      w->spinning = false;
      rt->nmspinning.fetch_sub(1, std::memory_order_acq_rel);
      // Whoever readied a goroutine while we still counted as spinning left it to us.
      if (any_work_visible(rt, w)) {
        leave_idle(rt, w);
        if (!w->spinning) {
          w->spinning = true;
          rt->nmspinning.fetch_add(1, std::memory_order_acq_rel);
        }
        continue;
      }
    }
    const std::int64_t wake_at = std::min(rt->stacks.trim(nanotime()), next_idle_sweep(rt));
    if (rt->nidle.load(std::memory_order_acquire) == rt->nworkers) check_deadlock(rt);
    g_list io;
    sleep_idle(rt, w, wake_at, io);
    w->coarse_now = nanotime();  // waiting_since of what it now runs: not the sleep's start
    leave_idle(rt, w);
    if (g* gp = ready_polled(rt, io)) return gp;
  }
}

}  // namespace

// Records the thread's own stack, which the sanitizers need to know when we switch to it.
void init_sched_stack(worker* w) noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    w->sched_stack.bottom = addr;
    w->sched_stack.size = size;
  }
  w->sched_stack.tsan_fiber = fiber_tsan_current();
  w->eh = thread_eh_state();
}

void worker_loop(worker* w) {
  set_current_worker(w);
  init_sched_stack(w);
  void* alt_stack = thread_signal_stack_enter();
  while (g* gp = find_runnable(w)) {
    // main_fn may have returned while we looked: gp stays in the registry, and run_main
    // releases (or unwinds) it instead.
    if (w->rt->stopping.load(std::memory_order_seq_cst)) break;
    stop_spinning(w->rt, w);
    execute(w, gp);
  }
  if (w->spinning) {
    w->spinning = false;
    w->rt->nmspinning.fetch_sub(1, std::memory_order_relaxed);
  }
  *thread_eh_state() = eh_state{};  // the last goroutine's, not this thread's
  thread_signal_stack_leave(alt_stack);
  set_current_worker(nullptr);
  runtime* rt = w->rt;
  if (rt->workers_running.fetch_sub(1, std::memory_order_acq_rel) == 1) rt->main_parker.unpark();
}

}  // namespace goro::detail
