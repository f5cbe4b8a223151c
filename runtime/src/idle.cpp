// Idle workers, spinning and stealing: Go's pidle, nmspinning, wakep (sched_impl.hpp)
// and stealWork (proc.go). Only a bounded number of workers spin looking for work (at most half the
// busy ones); the rest park on a futex, or one of them, the timer sleeper, sleeps until the
// earliest timer (in the poller once it is open), until wakep() hands them work.
//
// Invariants:
// - runtime::idle, worker::idle and worker::woken_spinning change under sched_lock only;
//   nidle counts the idle list and may be read without the lock, as a hint.
// - nmspinning counts the workers with worker::spinning set, and those that wakep took off
//   the idle list (woken_spinning) that have not yet woken (leave_idle); wakep counts one
//   before it looks for an idle worker, and uncounts it if it finds none.
// - Before parking, a spinning worker stops counting itself and looks at every queue once
//   more: whoever readied a goroutine after that point sees nmspinning == 0 and wakes a
//   worker (wakep), so no goroutine is stranded.
// - At most one worker is the timer sleeper, and at most one (the same) waits in the poller
//   (poll_sleeper); wake_worker breaks either sleep.
#include "exit.hpp"
#include "sanitizers.hpp"
#include "sched_impl.hpp"
#include "trace.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>

namespace goro::detail {

void idle_remove_locked(runtime* rt, worker* w) noexcept {
  assert_idle_locked(rt, w);
  GORO_ASSERT(w->idle, "a worker taken off the idle list is not idle");
  auto it = std::find(rt->idle.begin(), rt->idle.end(), w);
  if (it != rt->idle.end()) rt->idle.erase(it);
  w->idle = false;
  rt->nidle.fetch_sub(1, std::memory_order_relaxed);
}

// Wakes an idle worker, which parks on its parker, or (the timer sleeper, once the poller
// is open) waits in the poller. The parker's token and poll_sleeper form a Dekker pair
// with poll_sleep's, all seq_cst (no fences: ThreadSanitizer does not model them): either
// the sleeper sees the token before it waits, or we see it waiting and break the wait.
void wake_worker(runtime* rt, worker* w) noexcept {
  w->park.unpark();
  if (rt->poll_sleeper.load(std::memory_order_seq_cst) == w) rt->poll.wake();
}

// A spinning worker found work: it stops spinning, and if it was the last spinner it
// wakes another, since more work may be coming (Go's resetspinning).
void stop_spinning(runtime* rt, worker* w) noexcept {
  if (!w->spinning) return;
  w->spinning = false;
  if (rt->nmspinning.fetch_sub(1, std::memory_order_acq_rel) == 1) wakep(rt);
}

// Leaves the idle list after a wake-up. If wakep took us off it, we are counted spinning.
void leave_idle(runtime* rt, worker* w) noexcept {
  spin_guard lock(rt->sched_lock);
  assert_idle_locked(rt, w);
  if (w->idle) {
    idle_remove_locked(rt, w);
  } else if (w->woken_spinning) {
    w->woken_spinning = false;
    w->spinning = true;
  }
}

// Work that `self` could take: queued anywhere (stealable), or in its own inbox.
bool any_work_visible(runtime* rt, worker* self) noexcept {
  if (rt->global_size.load(std::memory_order_acquire) != 0) return true;
  if (self && self->inbox_full.load(std::memory_order_acquire)) return true;
  for (auto& v : rt->workers) {
    if (!v->q.empty()) return true;
  }
  return false;
}

namespace {

std::size_t count_process_threads() noexcept {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

}  // namespace

// Called by the worker that made every worker idle. If nothing can ever make a goroutine
// runnable again (no queued goroutine, no pending timer, no thread outside the runtime
// that could send), the program is deadlocked: say so as Go does and exit.
void check_deadlock(runtime* rt) noexcept {
  if (!rt->detect_deadlock || rt->main_done.load() || rt->stopping.load()) return;
  if (any_work_visible(rt, nullptr)) return;
  for (auto& w : rt->workers) {
    if (w->timers.earliest() != INT64_MAX) return;
  }
  if (background_timers_pending()) return;
  // A goroutine waiting for a descriptor may be woken by the world outside (Go keeps such
  // a program alive too).
  if (rt->poll.waiters() > 0) return;
  if (blocking_calls() > 0) return;  // a goro::blocking call will ready its goroutine
  // Ours: the workers, the thread waiting in run(), the background timer thread, the idle
  // helpers of goro::blocking.
  std::size_t ours = rt->nworkers + 1 + (background_timer_thread_started() ? 1 : 0);
  ours += blocking_threads();
#if GORO_TSAN
  ours += 1;  // ThreadSanitizer's background thread
#endif
  if (count_process_threads() > ours) return;
  spin_guard lock(rt->sched_lock);
  if (rt->nidle.load() != rt->nworkers || rt->global_size.load() != 0) return;
  flush_user_output();
  trace::write_now();
  write_all(2, "fatal error: all goroutines are asleep - deadlock!\n\n");
  dump_goroutines(rt, 2);
  _exit(2);
}

namespace {

// Parks w on its parker until it is woken or `when` (a nanotime; INT64_MAX: until woken).
void park_until(worker* w, std::int64_t when) noexcept {
  if (when == INT64_MAX) {
    w->park.park();
  } else {
    w->park.park_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(when)));
  }
}

// The timer sleeper's sleep once the poller is open: in epoll_wait, so that I/O and timers
// share one sleep (Go's findrunnable blocking in netpoll). Goroutines whose descriptors
// became ready are appended to `io`. wake_worker breaks the wait.
void poll_sleep(runtime* rt, worker* w, std::int64_t until, g_list& io) noexcept {
  rt->poll_sleeper.store(w, std::memory_order_seq_cst);  // see wake_worker
  if (!w->park.try_take()) rt->poll.poll(until, io);
  rt->poll_sleeper.store(nullptr, std::memory_order_release);
  w->park.try_take();  // a waker that also broke the poll left a token: we are awake
}

}  // namespace

// Parks an idle worker until it is woken, or until `wake_at` (a nanotime: when the stack
// pool has memory to give back, or the idle sweep is due; INT64_MAX: never). One of them, the timer
// sleeper, also wakes for the earliest timer of all workers, and sleeps in the poller once it is
// open (appending to `io` what that readied).
void sleep_idle(runtime* rt, worker* w, std::int64_t wake_at, g_list& io) noexcept {
  worker* none = nullptr;
  // seq_cst, with the poller's `opened`: a poller opened after we look below finds us the
  // timer sleeper and wakes us (wake_timer_sleeper).
  if (!rt->timer_sleeper.compare_exchange_strong(none, w, std::memory_order_seq_cst)) {
    park_until(w, wake_at);
    return;
  }
  // A timer armed meanwhile (timer_added) either is seen by one of our looks at the heaps
  // below, or sees us as the sleeper, sleeping past it, and wakes us. That takes seq_cst on
  // both sides (timer_sleeper, sleeper_until, each heap's earliest): they are two Dekker
  // pairs, and with release stores and acquire loads a store may still sit in its core's
  // store buffer (x86 too) while that core reads the other flag, so that each side would
  // miss the other and the new timer would wait for the next wake-up, if any.
  const std::int64_t when = std::min(earliest_timer(rt), wake_at);
  rt->sleeper_until.store(when, std::memory_order_seq_cst);
  if (earliest_timer(rt) >= when) {
    if (rt->poll.opened()) {
      poll_sleep(rt, w, when, io);
    } else {
      park_until(w, when);
    }
  }
  rt->sleeper_until.store(INT64_MAX, std::memory_order_seq_cst);
  rt->timer_sleeper.store(nullptr, std::memory_order_seq_cst);
}

// After the heap's seq_cst store of its new earliest deadline (see sleep_idle).
void timer_added(runtime* rt, std::int64_t when) noexcept {
  if (when >= rt->sleeper_until.load(std::memory_order_seq_cst)) return;
  if (worker* s = rt->timer_sleeper.load(std::memory_order_seq_cst)) {
    wake_worker(rt, s);
    return;
  }
  // No idle worker watches the timers: wake one to do it (it finds no work and becomes
  // the timer sleeper). If none is idle, the busy ones look at timers as they schedule.
  if (rt->nidle.load(std::memory_order_acquire) == 0) return;
  worker* w = nullptr;
  {
    spin_guard lock(rt->sched_lock);
    if (!rt->idle.empty()) {
      w = rt->idle.back();
      idle_remove_locked(rt, w);
    }
  }
  if (w) wake_worker(rt, w);
}

void wake_timer_sleeper(runtime* rt) noexcept {
  // seq_cst, after the poller's `opened` (see sleep_idle).
  if (worker* s = rt ? rt->timer_sleeper.load(std::memory_order_seq_cst) : nullptr) {
    wake_worker(rt, s);
  }
}

namespace {

// Steals half of a victim's queue. A spinning worker looks at every other worker's queue,
// naps, and looks once more before it parks. The nap is in the kernel, like Go's usleep(3)
// in runqgrab before it takes a runnext (Go naps only then). Work often appears within
// microseconds (the partner of a ping-pong, the next stage of a pipeline), and a worker
// that parks and is woken again costs two system calls; but a thief that polled through
// that time would keep reading the cache lines of its victims' queues while their owners
// write them (a miss for the owner on every poll, 200-450 ns when the host puts the
// threads on distant cores), and would take the short-lived work of a fine-grained
// pipeline (a stage readies the stage before and the one after it, then blocks, and its
// worker runs them next), splitting it across threads. While it naps the thief still
// counts as spinning, so readying a goroutine wakes nobody. Go asks for 3 us, which
// Linux's default timer slack stretches to ~50 us; 20 us, stretched the same way,
// measured the same, and stays a useful wait for a thread whose slack is set to zero. The
// price: a burst of work that arrives while the one spinner naps waits for the nap to end
// (in Go it would wait for a futex wake-up) before the spinner takes half of it and wakes
// another worker.
//
// The second look also takes a victim's runnext, if the owner has not run it after ~3 us
// (Go's CAS on the runnext it saw): it is most likely the partner of the goroutine running
// there, and stealing it would split the pair. A pipeline refills runnext every few hundred
// nanoseconds, so "runnext is still full" would not do: it must still hold the same one.
constexpr long kStealNapNs = 20000;

// How long the second look waits for a running victim to take its runnext itself before
// stealing it: Go's usleep(3) in runqgrab. A spin, not a nap: timer slack would stretch a
// 3 us nap to ~50 us (see kStealNapNs), long past the moment the owner would take it.
constexpr std::int64_t kRunnextGraceNs = 3000;

g* steal_pass(runtime* rt, worker* w, bool take_next) noexcept {
  const unsigned start = static_cast<unsigned>(next_rand(w->rng_state) % rt->nworkers);
  for (unsigned k = 0; k < rt->nworkers; ++k) {
    worker* v = rt->workers[(start + k) % rt->nworkers].get();
    if (v == w) continue;
    g* gp = w->q.steal_from(v->q);
    if (GORO_UNLIKELY(trace::on() && gp)) trace::event(w, trace::kind::steal, gp->id, v->index);
    if (gp) return gp;
    g* const next = take_next ? v->q.peek_next() : nullptr;
    if (next) {
      if (v->running()) {
        const std::int64_t until = nanotime() + kRunnextGraceNs;
        while (v->q.peek_next() == next && nanotime() < until) spin_pause();
      }
      gp = w->q.steal_from(v->q, next);
      if (GORO_UNLIKELY(trace::on() && gp)) trace::event(w, trace::kind::steal, gp->id, v->index);
      if (gp) return gp;
    }
  }
  return nullptr;
}

}  // namespace

g* steal_work(runtime* rt, worker* w) noexcept {
  assert_owns_runq(w);  // the thief's queue is filled from its local end
  if (g* gp = steal_pass(rt, w, /*take_next=*/false)) return gp;
  if (rt->global_size.load(std::memory_order_acquire) != 0) return nullptr;  // caller takes it
  // With every other worker idle, no queue can fill while we nap: work comes only from the
  // poller, a timer or another thread, and each of those wakes a worker. Napping then only
  // delays the wait in epoll that would see a socket's data at once: a network ping-pong at
  // two workers waited out the nap (~50-70 us with timer slack) on every round trip.
  if (rt->nworkers - rt->nidle.load(std::memory_order_acquire) <= 1) return nullptr;
  const timespec nap{0, kStealNapNs};
  nanosleep(&nap, nullptr);
  if (rt->stopping.load(std::memory_order_acquire)) return nullptr;
  return steal_pass(rt, w, /*take_next=*/true);
}

}  // namespace goro::detail
