// goro::run (run_main): one runtime at a time. It starts the workers and the main goroutine,
// waits for main_fn to return, stops the workers, and releases (Go's exit abandons them) or,
// with options::unwind_at_exit, unwinds the goroutines left.
//
// Invariants:
// - the_runtime is non-null exactly while run_main runs, from before the main goroutine is
//   started to after the last goroutine is released; run_mutex keeps it to one.
// - Once `stopping` is set (by the main goroutine when main_fn returns, or here) no worker
//   resumes another goroutine; release and drain begin only after every worker thread has
//   left its loop (workers_running == 0) and been joined, so they run alone.
// - While `draining`, ready() queues nothing: shutdown resumes each goroutine itself.
#include "cpu_quota.hpp"
#include "exit.hpp"
#include "sanitizers.hpp"
#include "sched_impl.hpp"
#include "trace.hpp"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <system_error>
#include <vector>

namespace goro::detail {

namespace {

constexpr std::size_t kDefaultStackSize = 256 * 1024;

std::mutex run_mutex;  // one runtime at a time

}  // namespace

unsigned default_threads() {
  if (const char* env = std::getenv("GOMAXPROCS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<unsigned>(std::min(n, 1024L));
  }
  return default_worker_count();  // the CPUs, lowered to the cgroup's quota (cpu_quota.cpp)
}

std::atomic<runtime*> the_runtime{nullptr};

namespace {

// Releases goroutines as Go's exit abandons them: they never run again, and their g's and
// stacks stay mapped until the process ends, because they may still be queued on a channel
// or sync object that outlives the runtime (a later `ready` of one does nothing). Touches
// each g and its pools' bookkeeping only: no unwinding, no system call. The stacks' slabs
// are looked up in one batch.
void release(runtime* rt, std::span<g* const> gs) {
  std::vector<stack_mem> pooled;
  pooled.reserve(gs.size());
  for (g* gp : gs) {
    release_blocking_call(gp);
    set_status(gp, g_status::released);
    if (gp->stack.size == rt->stacks.stack_size()) {
      pooled.push_back(gp->stack);
    } else if (gp->stack.size != 0) {
      lsan_add_root(gp->stack.base, gp->stack.size);  // go_with_stack's: never unmapped
    }
    rt->gslots.leak(gp);
  }
  rt->stacks.leak(pooled);
}

// options::unwind_at_exit off (the default): every goroutine left after the workers
// stopped is released, all at once.
void release_all(runtime* rt) {
  rt->draining = true;  // whatever teardown readies stays where it is
  std::vector<g*> left;
  rt->all.for_each([&](g* gp) { left.push_back(gp); });
  release(rt, left);
}

// options::unwind_at_exit on: resumes each goroutine still alive after the workers stopped,
// so that it unwinds: its blocking call throws goroutine_exit, destructors run, the
// goroutine ends. One that blocks again while unwinding (a destructor waiting on a
// channel) cannot be unwound; it is released, as all of them are by default.
//
// Each pass takes the registry's goroutines at once (a search of the registry per
// goroutine was quadratic: 40,000 goroutines took 0.64 s) and resumes each; a pass finds
// only what the one before left: goroutines that blocked again, or that unwinding code
// started. Resuming one runs it alone: `ready` does nothing while draining, and with
// `stopping` set no switch goes straight on to another goroutine.
//
// Unwinding is the C++ unwinder's work, ~27,000 instructions per parked goroutine, so a
// large pass is shared out between as many threads as the runtime had workers: they touch
// only what goroutines running side by side touch anyway (channels and sync objects under
// their locks, the pools).
void drain_share(runtime* rt, const std::vector<g*>& left, std::size_t first, std::size_t stride) {
  worker w;
  w.rt = rt;
  w.index = rt->nworkers;
  set_current_worker(&w);
  init_sched_stack(&w);
  const eh_state saved = *thread_eh_state();
  for (std::size_t i = first; i < left.size(); i += stride) {
    g* gp = left[i];
    if (gp->started) {
      g_on_stack& st = gp->on_stack();
      if (st.eh.uncaught > 0 || st.unwind_attempts > 100) {
        rt->all.remove(gp);
        release(rt, {&gp, 1});
        continue;
      }
      ++st.unwind_attempts;
    }
    gp->unwinding = true;
    execute(&w, gp);
  }
  w.stacks.flush(rt->stacks);
  w.gslots.flush(rt->gslots);
  *thread_eh_state() = saved;
  set_current_worker(nullptr);
}

// A thread of its own pays off only for this many goroutines or more (starting one costs
// about as much as unwinding ten).
constexpr std::size_t kDrainShare = 256;

void drain(runtime* rt) {
  rt->draining = true;
  std::vector<g*> left;
  for (;;) {
    left.clear();
    rt->all.for_each([&](g* gp) { left.push_back(gp); });
    if (left.empty()) break;
    const std::size_t shares = std::clamp<std::size_t>(left.size() / kDrainShare, 1, rt->nworkers);
    std::vector<std::thread> helpers;
    std::size_t started = 1;
    try {
      for (; started < shares; ++started) {
        helpers.emplace_back(drain_share, rt, std::cref(left), started, shares);
      }
    } catch (const std::system_error&) {
      // No more threads to be had: the shares that got none are done here.
    }
    for (std::size_t k = started; k < shares; ++k) drain_share(rt, left, k, shares);
    drain_share(rt, left, 0, shares);
    for (std::thread& t : helpers) t.join();
  }
}

// The CPU time that worker w's thread has used, or -1 if the clock cannot be read.
std::int64_t worker_cpu_ns(worker* w) noexcept {
  clockid_t clock;
  timespec ts;
  if (pthread_getcpuclockid(w->thread.native_handle(), &clock) != 0 ||
      clock_gettime(clock, &ts) != 0)
    return -1;
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Waits until every worker has left its loop. A worker still running a goroutine (curg set)
// that has used `grace` of its own CPU time since `stopping` computes without blocking and
// would never stop: the process ends with main's status. The grace counts CPU time, not
// wall time, so that a worker that a loaded machine does not schedule (a test suite beside a
// build, under a sanitizer) is waited for instead of ending the process early; a worker in
// its scheduler loop, which resumes no goroutine once `stopping` is set, is always waited
// for.
void wait_for_workers_or_exit(runtime* rt, std::chrono::nanoseconds grace, int status) {
  std::vector<std::int64_t> cpu_at_stop;
  for (auto& w : rt->workers) cpu_at_stop.push_back(worker_cpu_ns(w.get()));
  const std::chrono::nanoseconds poll =
      std::max<std::chrono::nanoseconds>(grace / 4, std::chrono::milliseconds(1));
  auto next_check = std::chrono::steady_clock::now() + grace;
  while (rt->workers_running.load(std::memory_order_acquire) != 0) {
    if (rt->main_parker.park_until(next_check)) continue;
    for (std::size_t i = 0; i < rt->workers.size(); ++i) {
      worker* w = rt->workers[i].get();
      if (!w->running()) continue;
      const std::int64_t now = worker_cpu_ns(w);
      if (now < 0 || cpu_at_stop[i] < 0 || now - cpu_at_stop[i] >= grace.count())
        exit_process(status);
    }
    next_check = std::chrono::steady_clock::now() + poll;
  }
}

}  // namespace

void run_main(const options& opts, void (*body)(void*), void* arg, const int* status) {
  if (current_worker()) throw panic_error("goro::run: called from inside the runtime");
  std::unique_lock<std::mutex> one_at_a_time(run_mutex, std::try_to_lock);
  if (!one_at_a_time) throw panic_error("goro::run: a runtime is already running");

  const run_seed seed = choose_seed(opts);
  const unsigned n = opts.threads ? opts.threads : default_threads();
  std::size_t stack_size = opts.stack_size ? opts.stack_size : kDefaultStackSize;
  stack_size = std::max<std::size_t>(stack_size, 16 * 1024);
  auto rt = std::make_unique<runtime>(n, stack_size);
  trace::begin(n);
  rt->detect_deadlock = opts.detect_deadlock;
  if (seed.given) {
    rt->randomize = true;
    for (auto& w : rt->workers) w->rng_state = worker_rng_seed(seed.value, w->index);
  }
  const char* migrate_env = std::getenv("GORO_DEBUG_MIGRATE");
  rt->migrate =
      n > 1 && (opts.debug_migrate || (migrate_env && std::strcmp(migrate_env, "1") == 0));
  the_runtime.store(rt.get(), std::memory_order_release);

  struct main_closure {
    void (*body)(void*);
    void* arg;
    static void run(void* self, bool run) {
      auto* c = static_cast<main_closure*>(self);
      if (run) c->body(c->arg);
    }
  };
  spawn_slot slot = spawn_alloc(sizeof(main_closure), alignof(main_closure), 0);
  ::new (slot.closure) main_closure{body, arg};
  start(slot, &main_closure::run, std::source_location{}, true);

  install_signal_handlers();
  rt->workers_running.store(n, std::memory_order_relaxed);
  for (auto& w : rt->workers) {
    worker* wp = w.get();
    wp->thread = std::thread([wp] { worker_loop(wp); });
  }
  while (!rt->main_done.load(std::memory_order_acquire)) rt->main_parker.park();

  // main_fn has returned (the main goroutine set `stopping` then). Wake the idle workers so
  // that they see it; a busy one stops when its goroutine next blocks or yields. One still
  // computing after exit_grace would never stop: end the process as Go would.
  rt->stopping.store(true, std::memory_order_release);
  for (auto& w : rt->workers) wake_worker(rt.get(), w.get());
  wait_for_workers_or_exit(rt.get(), opts.exit_grace, *status);
  for (auto& w : rt->workers) w->thread.join();

  // Nothing runs goroutines any more: drop what was queued, release (or unwind) what is
  // left.
  {
    spin_guard hold(rt->sched_lock);  // the workers have stopped: for the analysis only
    rt->global.clear();
  }
  rt->global_size.store(0);
  for (auto& w : rt->workers) {
    while (w->q.pop()) {
    }
    {
      spin_guard hold(w->inbox_lock);  // the workers have stopped: for the analysis only
      w->inbox = {};
    }
    w->inbox_full.store(false);
    w->timers.clear();
  }
  if (opts.unwind_at_exit) {
    drain(rt.get());
  } else {
    release_all(rt.get());
  }
  for (auto& w : rt->workers) {
    w->timers.clear();
    w->stacks.flush(rt->stacks);
  }
  restore_signal_handlers();
  the_runtime.store(nullptr, std::memory_order_release);
  trace::end();
}

}  // namespace goro::detail
