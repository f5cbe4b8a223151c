// The scheduler: Go's schedule/findrunnable/wakep (proc.go), with workers that are P and M
// at once.
//
// A worker thread runs `schedule` on its own stack. To run a goroutine it jumps onto the
// goroutine's stack; the goroutine jumps back when it parks, yields or ends, passing a
// `switch_request` that the worker carries out once it is off the goroutine's stack
// (release the waiter's lock, requeue, free the stack).
//
// Finding work, in order: due timers, every 61st time the global queue (fairness), the
// local queue, the global queue, then stealing half of a random victim's queue. Only a
// bounded number of workers spin looking for work (at most half the busy ones); the rest
// park on a futex until wakep() hands them work. Before parking, a spinning worker stops
// counting itself spinning and looks at every queue once more: whoever readied a goroutine
// after that point sees nmspinning == 0 and wakes a worker, so no goroutine is stranded.
#include "sched.hpp"
#include "exit.hpp"
#include "sanitizers.hpp"

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>

#include <goro/debug.hpp>

namespace goro::detail {

void set_current_worker(worker* w) noexcept;  // tls.cpp
g* thread_g() noexcept;                       // tls.cpp
std::uint64_t* thread_rng() noexcept;         // tls.cpp

namespace {

constexpr std::size_t kDefaultStackSize = 256 * 1024;

std::atomic<runtime*> the_runtime{nullptr};
std::mutex run_mutex;  // one runtime at a time

// What a goroutine that switches away asks to be done once it is off its stack (see
// g::request): by the scheduler loop, or by the next goroutine before that one resumes.
using switch_request = g::switch_request;

unsigned default_threads() {
  if (const char* env = std::getenv("GOMAXPROCS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<unsigned>(std::min(n, 1024L));
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? hc : 1;
}

std::uint64_t next_rand(std::uint64_t& s) noexcept {
  // wyrand: fast and good enough for poll orders and victim choice.
  s += 0xa0761d6478bd642full;
  __uint128_t m = static_cast<__uint128_t>(s) * (s ^ 0xe7037ed1a0b428dbull);
  return static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Small helpers

runtime* current_runtime() noexcept {
  return the_runtime.load(std::memory_order_acquire);
}

g* current_g() noexcept {
  worker* w = current_worker();
  if (g* gp = w ? w->running() : nullptr) return gp;
  return thread_g();
}

std::int64_t nanotime() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint32_t fastrand() noexcept {
  worker* w = current_worker();
  std::uint64_t* s = w ? &w->rng_state : thread_rng();
  if (*s == 0) *s = static_cast<std::uint64_t>(nanotime()) ^ reinterpret_cast<std::uintptr_t>(s);
  return static_cast<std::uint32_t>(next_rand(*s));
}

void fatal(const char* msg) noexcept {
  flush_user_output();
  std::fprintf(stderr, "fatal error: %s\n", msg);
  std::fflush(stderr);
  _exit(2);
}

void assert_failed(const char* cond, const char* message, const char* file,
                   unsigned line) noexcept {
  flush_user_output();
  std::fprintf(stderr, "goro: internal error: GORO_ASSERT(%s) failed at %s:%u: %s\n", cond, file,
               line, message);
  std::fflush(stderr);
  std::abort();
}

const char* wait_reason_text(wait_reason r) noexcept {
  switch (r) {
    case wait_reason::none:
      return "runnable";
    case wait_reason::chan_receive:
      return "chan receive";
    case wait_reason::chan_send:
      return "chan send";
    case wait_reason::chan_receive_nil:
      return "chan receive (nil chan)";
    case wait_reason::chan_send_nil:
      return "chan send (nil chan)";
    case wait_reason::select:
      return "select";
    case wait_reason::select_no_cases:
      return "select (no cases)";
    case wait_reason::sleep:
      return "sleep";
    case wait_reason::wait_group:
      return "sync.WaitGroup.Wait";
    case wait_reason::mutex:
      return "sync.Mutex.Lock";
    case wait_reason::rw_mutex_read:
      return "sync.RWMutex.RLock";
    case wait_reason::rw_mutex_write:
      return "sync.RWMutex.Lock";
    case wait_reason::io_wait:
      return "IO wait";
    case wait_reason::syscall:
      return "syscall";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------
// The registry of live goroutines

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

runtime::runtime(unsigned n, std::size_t stack_size) : nworkers(n), stacks(stack_size) {
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<worker>());
    workers.back()->index = i;
    workers.back()->rt = this;
    workers.back()->rng_state =
        0x9e3779b97f4a7c15ull * (i + 1) ^ static_cast<std::uint64_t>(nanotime());
  }
  idle.reserve(n);
}

// ---------------------------------------------------------------------------------------
// The global run queue (callers hold sched_lock)

namespace {

void global_put_locked(runtime* rt, g* const* gs, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) rt->global.push_back(gs[i]);  // bad_alloc is fatal
  rt->global_size.fetch_add(n, std::memory_order_release);
}

void global_put(runtime* rt, g* gp) noexcept {
  std::lock_guard<spinlock> lock(rt->sched_lock);
  global_put_locked(rt, &gp, 1);
}

// Takes a fair share of the global queue: one to run now, the rest into w's local queue.
g* global_get_locked(runtime* rt, worker* w, std::size_t max) noexcept {
  std::size_t size = rt->global_size.load(std::memory_order_relaxed);
  if (size == 0) return nullptr;
  std::size_t n = std::min({size, size / rt->nworkers + 1, max, std::size_t{runq::kSize / 2}});
  g* first = rt->global.pop_front();
  for (std::size_t i = 1; i < n; ++i) {
    // Cannot fail: at most half the queue's size, into a queue we just found empty.
    w->q.push(rt->global.pop_front());
  }
  rt->global_size.fetch_sub(n, std::memory_order_release);
  return first;
}

g* global_get(runtime* rt, worker* w, std::size_t max) noexcept {
  if (rt->global_size.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard<spinlock> lock(rt->sched_lock);
  return global_get_locked(rt, w, max);
}

// Puts gp on w's local queue; when it is full, moves half of it to the global queue.
void local_put(runtime* rt, worker* w, g* gp, bool next) noexcept {
  if (next) {
    gp = w->q.push_next(gp);
    if (!gp) return;
  }
  while (!w->q.push(gp)) {
    g* batch[runq::kSize / 2 + 1];
    std::uint32_t n = w->q.take_half_for_overflow(batch);
    if (n == 0) continue;
    batch[n++] = gp;
    std::lock_guard<spinlock> lock(rt->sched_lock);
    global_put_locked(rt, batch, n);
    return;
  }
}

// ---------------------------------------------------------------------------------------
// Idle workers and spinning (Go's pidle, nmspinning, wakep)

void idle_remove_locked(runtime* rt, worker* w) noexcept {
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

// Wakes an idle worker to look for work, unless one is already looking.
void wakep(runtime* rt) noexcept {
  if (rt->nidle.load(std::memory_order_acquire) == 0) return;
  if (rt->nmspinning.load(std::memory_order_acquire) != 0) return;
  unsigned zero = 0;
  if (!rt->nmspinning.compare_exchange_strong(zero, 1, std::memory_order_acq_rel)) return;
  worker* w = nullptr;
  {
    std::lock_guard<spinlock> lock(rt->sched_lock);
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

// A spinning worker found work: it stops spinning, and if it was the last spinner it
// wakes another, since more work may be coming (Go's resetspinning).
void stop_spinning(runtime* rt, worker* w) noexcept {
  if (!w->spinning) return;
  w->spinning = false;
  if (rt->nmspinning.fetch_sub(1, std::memory_order_acq_rel) == 1) wakep(rt);
}

// Leaves the idle list after a wake-up. If wakep took us off it, we are counted spinning.
void leave_idle(runtime* rt, worker* w) noexcept {
  std::lock_guard<spinlock> lock(rt->sched_lock);
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
    std::lock_guard<spinlock> lock(rt->sched_lock);
    if (v->idle) {
      idle_remove_locked(rt, v);
      wake = true;
    }
  }
  if (wake) wake_worker(rt, v);
}

g* take_inbox(worker* w) noexcept {
  if (!w->inbox_full.load(std::memory_order_acquire)) return nullptr;
  spin_guard hold(w->inbox_lock);
  g* gp = w->inbox.pop_front();
  if (w->inbox.empty()) w->inbox_full.store(false, std::memory_order_release);
  return gp;
}

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
  std::lock_guard<spinlock> lock(rt->sched_lock);
  if (rt->nidle.load() != rt->nworkers || rt->global_size.load() != 0) return;
  flush_user_output();
  write_all(2, "fatal error: all goroutines are asleep - deadlock!\n\n");
  dump_goroutines(rt, 2);
  _exit(2);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ready: make a parked goroutine runnable

void ready(g* gp, bool wake_idle) noexcept {
  if (gp->is_thread) {
    set_status(gp, g_status::runnable);
    plain_thread_g::of(gp).thread_parker.unpark();
    return;
  }
  // Released at the exit of an earlier run (it was parked on an object that outlived it):
  // it never runs again.
  if (gp->status.load(std::memory_order_relaxed) == g_status::released) [[unlikely]]
    return;
  runtime* rt = current_runtime();
  set_status(gp, g_status::runnable);
  gp->reason.store(wait_reason::none, std::memory_order_relaxed);
  if (!rt || rt->draining) return;  // shutdown resumes every goroutine itself
  worker* w = current_worker();
  if (rt->migrate) {
    send_elsewhere(rt, gp);
    return;
  }
  if (w && w->rt == rt) {
    local_put(rt, w, gp, /*next=*/true);
  } else {
    global_put(rt, gp);
  }
  if (wake_idle) wakep(rt);
}

void wake_idle_worker() noexcept {
  runtime* rt = current_runtime();
  if (rt && !rt->draining) wakep(rt);
}

// ---------------------------------------------------------------------------------------
// Switching between a goroutine and its worker

namespace {

void free_goroutine(worker* w, g* gp) noexcept;
[[noreturn]] void goroutine_main(fiber_transfer t) noexcept;

// Goroutine memory. Off the workers (a plain thread spawning) a one-off cache stands in for
// the worker's.

inline g* new_g(runtime* rt, worker* w) {
  void* slot;
  if (w) {
    slot = w->gslots.get(rt->gslots);
  } else {
    g_cache one;
    slot = one.get(rt->gslots);
    one.flush(rt->gslots);
  }
#if GORO_ASAN
  ASAN_UNPOISON_MEMORY_REGION(slot, sizeof(g));
#endif
  return ::new (slot) g;  // member initialisers, no memset
}

inline void free_g(runtime* rt, worker* w, g* gp) noexcept {
  gp->~g();
#if GORO_ASAN
  ASAN_POISON_MEMORY_REGION(gp, sizeof(g));  // a use after exit is a report, not a mystery
#endif
  if (w) {
    w->gslots.put(rt->gslots, gp);
  } else {
    rt->gslots.give(reinterpret_cast<void* const*>(&gp), 1);
  }
}

// Where a started goroutine's g_on_stack goes: at the top of its stack.
inline void* on_stack_addr(const stack_mem& s) noexcept {
  static_assert(alignof(g_on_stack) <= 16);
  auto addr = reinterpret_cast<std::uintptr_t>(s.top()) - sizeof(g_on_stack);
  return reinterpret_cast<void*>(addr & ~std::uintptr_t{15});
}

inline stack_mem take_stack(runtime* rt, worker* w, std::size_t size) {
  stack_mem s;
  if (size != 0 && size != rt->stacks.stack_size()) [[unlikely]] {
    s = stack_pool::map(size, true);
  } else if (w) [[likely]] {
    s = w->stacks.get(rt->stacks);
  } else {
    stack_cache one;
    s = one.get(rt->stacks);
    one.flush(rt->stacks);
  }
#if GORO_ASAN
  // The last goroutine on this stack may have left redzones poisoned (it never returned
  // from the frames it was in when it ended or was unwound); so may one of an earlier run
  // whose stack was mapped at the same address, for a stack of another size too.
  ASAN_UNPOISON_MEMORY_REGION(s.base, s.size);
#endif
  return s;
}

inline void give_stack(runtime* rt, worker* w, const stack_mem& s) noexcept {
  if (s.size != rt->stacks.stack_size()) {
    stack_pool::unmap(s);
  } else if (w) {
    w->stacks.put(rt->stacks, s);
  } else {
    rt->stacks.give(&s, 1);
  }
}

// Readies gp's first switch onto its stack, taking the stack if it has none yet.
[[gnu::noinline]] void make_context(worker* w, g* gp) noexcept {
  if (gp->stack.size == 0) {
    try {
      gp->stack = take_stack(w->rt, w, 0);
    } catch (const std::bad_alloc&) {
      fatal("runtime: out of memory (cannot map a goroutine stack)");
    }
  }
  // [base ... stack grows down ... sp | closure, if on the stack | g_on_stack ] top
  // The initial stack pointer is 16-byte aligned, with a little room.
  auto* on_stack = ::new (on_stack_addr(gp->stack)) g_on_stack;
  auto start = reinterpret_cast<std::uintptr_t>(on_stack);
  if (gp->closure != gp->closure_buf) start = reinterpret_cast<std::uintptr_t>(gp->closure);
  auto sp = (start - 64) & ~std::uintptr_t{15};
  const std::size_t usable = sp - reinterpret_cast<std::uintptr_t>(gp->stack.base);
  gp->ctx = fiber_make(reinterpret_cast<void*>(sp), usable, &goroutine_main);
  on_stack->fstack = {gp->stack.base, gp->stack.size, fiber_tsan_create()};
  gp->on_stack_ptr.store(on_stack, std::memory_order_release);  // for the dumps' names
}

// Carries out a switch request, on a stack other than the requester's.
void finish_request(switch_request* req) noexcept {
  g* gp = req->gp;
  worker* w = req->w;
  switch (req->kind) {
    case switch_request::park:
      req->unlock(req->arg);  // from here on another worker may resume gp
      break;
    case switch_request::yield:
      set_status(gp, g_status::runnable);
      if (!w->rt->draining) {
        global_put(w->rt, gp);
        // The worker that yielded may go on with a goroutine that never blocks; an idle
        // worker must come for this one, or it would wait for a preemption goro lacks.
        wakep(w->rt);
      }
      break;
    case switch_request::exit:
      free_goroutine(w, gp);  // req lives in gp: nothing reads it after this
      break;
  }
}

// Runs on the next goroutine's stack before it resumes: records where the previous one
// stopped and carries out its request.
fiber_transfer finish_on_top(fiber_transfer t) noexcept {
  auto* req = static_cast<switch_request*>(t.data);
  worker* w = req->w;
  req->gp->ctx = t.fctx;
  finish_request(req);
  return {nullptr, w};  // no new scheduler context: the worker's stays suspended
}

// Every resumed goroutine learns which worker runs it; one resumed by the scheduler loop
// also learns where that loop is suspended.
worker* landed(g* gp, fiber_transfer t) noexcept {
  auto* w = static_cast<worker*>(t.data);
  if (t.fctx) w->sched_ctx = t.fctx;
  g_on_stack& st = gp->on_stack();
  st.w = w;
  *w->eh = st.eh;
  return w;
}

// The goroutines next in w's queue were most likely readied or spawned long ago, their g
// and stack cold: start loading the g of the one after next, and the saved context on the
// stack of the next (whose g the previous switch loaded). A thief may have taken that one
// and even freed its g meanwhile: the read is relaxed, and harmless (g memory stays
// mapped), but AddressSanitizer would see it touch a freed g, and ThreadSanitizer a race
// with the plain writes of the switch that saved the context.
[[gnu::no_sanitize_address, gnu::no_sanitize_thread]] void prefetch_queued(worker* w) noexcept {
  if (g* next = w->q.peek()) {
    if (fiber_context ctx = __atomic_load_n(&next->ctx, __ATOMIC_RELAXED)) {
      __builtin_prefetch(ctx, 0);
      __builtin_prefetch(static_cast<char*>(ctx) + 64, 0);
    }
    if (g* later = w->q.peek(1)) __builtin_prefetch(later, 1);
  }
}

// Every this many scheduling rounds a worker looks at the global queue before its own (here
// and in find_runnable): otherwise two goroutines that keep readying each other would hold
// the local queue forever and starve the global one. Go's schedtick fairness and Go's value:
// often enough to bound that wait, rarely enough that sched_lock stays off the fast path; a
// prime, so it does not fall into step with a program's own periodic pattern.
constexpr std::uint32_t kGlobalQueueEvery = 61;

// The next goroutine this worker may switch to directly, without a trip through the
// scheduler loop: the local queue's, except every kGlobalQueueEvery-th switch, when the
// loop runs to look at timers and the global queue.
g* next_local(worker* w) noexcept {
  if (++w->schedtick % kGlobalQueueEvery == 0 || w->rt->stopping.load(std::memory_order_relaxed))
    return nullptr;
  g* gp = w->q.pop();
  prefetch_queued(w);
  return gp;
}

// Goroutine side: leaves gp's stack, switching straight to the next local goroutine if
// there is one, else to the scheduler loop; returns when some worker resumes gp.
void switch_away(g* gp, switch_request::kind_t kind, void (*unlock)(void*) = nullptr,
                 void* arg = nullptr) noexcept {
  g_on_stack& st = gp->on_stack();
  worker* w = st.w;
  switch_request& req = st.request;  // not in this frame: see g_on_stack::request
  req = {kind, gp, w, unlock, arg};
  st.eh = *w->eh;
  const bool exiting = kind == switch_request::exit;
  fiber_transfer t;
  if (g* next = next_local(w)) {
    w->curg.store(next, std::memory_order_relaxed);
    set_status(next, g_status::running);
    w->started_by_loop = false;
    if (!next->ctx) make_context(w, next);
    g_on_stack& next_st = next->on_stack();
    next_st.w = w;
    t = fiber_jump_ontop(next->ctx, next_st.fstack, &req, &finish_on_top, exiting);
  } else {
    t = fiber_jump(w->sched_ctx, w->sched_stack, &req, exiting);
  }
  landed(gp, t);
}

void exit_goroutine(g* gp) noexcept;

[[noreturn]] void report_panic(g* gp, std::exception_ptr e) noexcept {
  std::string what = "(unknown exception)";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  flush_user_output();
  std::fprintf(stderr, "panic: %s\n\ngoroutine %" PRIu64 " [running]:\n", what.c_str(), gp->id);
  if (!gp->is_main) {
    std::fprintf(stderr, "created by %s:%u\n", gp->created.file_name(),
                 static_cast<unsigned>(gp->created.line()));
  }
  std::fflush(stderr);
  _exit(2);
}

// The first code a goroutine runs, on its own stack.
//
// A fresh context resumed through fiber_jump_ontop does not receive the on-top function's
// transfer (Boost.Context's entry trampoline drops it), so `t` is only meaningful when the
// scheduler loop started us; the worker says which it was.
[[noreturn]] void goroutine_main(fiber_transfer t) noexcept {
  fiber_landed(nullptr);
  worker* w = current_worker();  // safe here: nothing ran on this stack before
  g* gp = w->running();
  gp->on_stack().eh = eh_state{};
  landed(gp, w->started_by_loop ? t : fiber_transfer{nullptr, w});
  gp->started = true;
  try {
    if (gp->unwinding) {
      gp->body(gp->closure, false);  // shutdown came before it ever ran
    } else {
      gp->body(gp->closure, true);
      // main_fn returned: from now on no goroutine resumes its normal code (Go's exit ends
      // them all at once). The workers stop taking goroutines to run; run_main releases
      // (or unwinds) what is left once they have stopped.
      if (gp->is_main) gp->on_stack().w->rt->stopping.store(true, std::memory_order_seq_cst);
    }
  } catch (const goroutine_exit&) {
    // Shutdown unwound this goroutine; its destructors have run.
  } catch (...) {
    report_panic(gp, std::current_exception());
  }
  release_kept_waiter(gp);
  exit_goroutine(gp);
  __builtin_unreachable();
}

void exit_goroutine(g* gp) noexcept {
  switch_away(gp, switch_request::exit);
  __builtin_unreachable();
}

// Worker side: runs gp (and whatever it switches to directly) until a goroutine switches
// back to the scheduler loop; then carries out that goroutine's request.
void execute(worker* w, g* gp) noexcept {
  w->curg.store(gp, std::memory_order_relaxed);
  set_status(gp, g_status::running);
  w->started_by_loop = true;
  if (!gp->ctx) make_context(w, gp);
  g_on_stack& st = gp->on_stack();
  st.w = w;
  fiber_transfer t = fiber_jump(gp->ctx, st.fstack, w);
  w->curg.store(nullptr, std::memory_order_relaxed);
  auto* req = static_cast<switch_request*>(t.data);
  req->gp->ctx = t.fctx;
  finish_request(req);
}

[[gnu::noinline]] void free_goroutine(worker* w, g* gp) noexcept {
  set_status(gp, g_status::dead);
  runtime* rt = w->rt;
  rt->all.remove(gp);
  w->live_delta.store(w->live_delta.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  const bool was_main = gp->is_main;
  const stack_mem s = gp->stack;
  // A fresh ThreadSanitizer fiber per goroutine: one reused by the next goroutine on this
  // stack would keep the frames this one never returned from (it ends by switching away).
  fiber_tsan_destroy(gp->on_stack().fstack.tsan_fiber);
  free_g(rt, w, gp);
  give_stack(rt, w, s);
  if (was_main) {
    rt->main_done.store(true, std::memory_order_release);
    rt->main_parker.unpark();
  }
}

}  // namespace

void park(g* gp, void (*unlock)(void*), void* arg, wait_reason why) {
  if (gp->is_thread) {
    set_status(gp, g_status::waiting);
    unlock(arg);
    plain_thread_g::of(gp).thread_parker.park();
    return;
  }
  if (must_unwind_now(gp)) {
    unlock(arg);  // the caller sees its wait incomplete and throws goroutine_exit
    return;
  }
  if (!gp->stack.has_room(__builtin_frame_address(0))) {
    flush_user_output();
    std::fprintf(stderr, "goroutine %" PRIu64 " stack overflow\n", gp->id);
    fatal("stack overflow");
  }
  gp->reason.store(why, std::memory_order_relaxed);
  g_on_stack& st = gp->on_stack();
  st.waiting_since.store(st.w->coarse_now, std::memory_order_relaxed);
  set_status(gp, g_status::waiting);
  switch_away(gp, switch_request::park, unlock, arg);
}

// park_unlocked's request, run once gp is off its stack (the parking handshake, sched.hpp).
void finish_parking(void* arg) noexcept {
  g* gp = static_cast<g*>(arg);
  if (end_parking(gp->on_stack())) ready(gp);
}

void park_abandoned(g* gp) noexcept {
  // drain abandons a goroutine that it has resumed more than 100 times.
  gp->on_stack().unwind_attempts = 1000;
  set_status(gp, g_status::waiting);
  switch_away(
      gp, switch_request::park, [](void*) {}, nullptr);
  fatal("goro: an abandoned goroutine was resumed");
}

void yield_now() {
  worker* w = current_worker();
  if (!w || !w->running()) {
    std::this_thread::yield();
    return;
  }
  g* gp = w->running();
  unwind_if_exiting(gp);
  switch_away(gp, switch_request::yield);
  unwind_if_exiting(gp);  // resumed only to be unwound: main_fn has returned
}

// ---------------------------------------------------------------------------------------
// Finding work

namespace {

std::int64_t earliest_timer(runtime* rt) noexcept {
  std::int64_t when = INT64_MAX;
  for (auto& v : rt->workers) when = std::min(when, v->timers.earliest());
  return when;
}

// Fires the due timers of every worker: the one that armed a timer may be busy in a long
// computation or blocked in a system call. What they ready lands on the caller's queue.
void run_due_timers(runtime* rt) {
  if (earliest_timer(rt) == INT64_MAX) return;
  const std::int64_t now = nanotime();
  for (auto& v : rt->workers) {
    if (v->timers.earliest() <= now) v->timers.run_due(now, /*shared=*/true);
  }
}

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

// Parks an idle worker until it is woken, or until `wake_at` (a nanotime: when the stack
// pool has memory to give back; INT64_MAX: never). One of them, the timer sleeper, also
// wakes for the earliest timer of all workers, and sleeps in the poller once it is open
// (appending to `io` what that readied).
void sleep_idle(runtime* rt, worker* w, std::int64_t wake_at, g_list& io) noexcept {
  worker* none = nullptr;
  // seq_cst, with the poller's `opened`: a poller opened after we look below finds us the
  // timer sleeper and wakes us (wake_timer_sleeper).
  if (!rt->timer_sleeper.compare_exchange_strong(none, w, std::memory_order_seq_cst)) {
    park_until(w, wake_at);
    return;
  }
  const std::int64_t when = std::min(earliest_timer(rt), wake_at);
  rt->sleeper_until.store(when, std::memory_order_release);
  // A timer armed after we looked finds sleeper_until later than itself and wakes us.
  if (earliest_timer(rt) >= when) {
    if (rt->poll.opened()) {
      poll_sleep(rt, w, when, io);
    } else {
      park_until(w, when);
    }
  }
  rt->sleeper_until.store(INT64_MAX, std::memory_order_release);
  rt->timer_sleeper.store(nullptr, std::memory_order_release);
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

}  // namespace

void timer_added(runtime* rt, std::int64_t when) noexcept {
  if (when >= rt->sleeper_until.load(std::memory_order_acquire)) return;
  if (worker* s = rt->timer_sleeper.load(std::memory_order_acquire)) {
    wake_worker(rt, s);
    return;
  }
  // No idle worker watches the timers: wake one to do it (it finds no work and becomes
  // the timer sleeper). If none is idle, the busy ones look at timers as they schedule.
  if (rt->nidle.load(std::memory_order_acquire) == 0) return;
  worker* w = nullptr;
  {
    std::lock_guard<spinlock> lock(rt->sched_lock);
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
    if (g* gp = w->q.steal_from(v->q)) return gp;
    g* const next = take_next ? v->q.peek_next() : nullptr;
    if (next) {
      if (v->running()) {
        const std::int64_t until = nanotime() + kRunnextGraceNs;
        while (v->q.peek_next() == next && nanotime() < until) spin_pause();
      }
      if (g* gp = w->q.steal_from(v->q, next)) return gp;
    }
  }
  return nullptr;
}

g* steal_work(runtime* rt, worker* w) noexcept {
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

// Looks for a goroutine to run; parks the thread while there is none. Null: stop.
g* find_runnable(worker* w) {
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
    if (g* gp = w->q.pop()) return gp;
    if (g* gp = global_get(rt, w, runq::kSize / 2)) return gp;
    rt->poll.flush();
    if (g* gp = poll_nowait(rt, /*starved=*/false)) return gp;

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
      std::lock_guard<spinlock> lock(rt->sched_lock);
      if (rt->stopping.load(std::memory_order_acquire)) return nullptr;
      if (g* gp = global_get_locked(rt, w, runq::kSize / 2)) return gp;
      if (w->inbox_full.load(std::memory_order_acquire)) continue;
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
    const std::int64_t trim_at = rt->stacks.trim(nanotime());
    if (rt->nidle.load(std::memory_order_acquire) == rt->nworkers) check_deadlock(rt);
    g_list io;
    sleep_idle(rt, w, trim_at, io);
    leave_idle(rt, w);
    if (g* gp = ready_polled(rt, io)) return gp;
  }
}

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

}  // namespace

// ---------------------------------------------------------------------------------------
// Spawning

// A goroutine with a small closure and the default stack size gets its stack when it first
// runs (make_context): until then it is only its g, so a burst of spawns does not fault in
// a stack page per goroutine that is still waiting in a run queue. Otherwise the stack is
// taken now and the closure put at its top.
spawn_slot spawn_alloc(std::size_t closure_size, std::size_t closure_align,
                       std::size_t stack_size) {
  runtime* rt = current_runtime();
  if (!rt) throw panic_error("goro::go: no runtime is running (call it inside goro::run)");
  worker* w = current_worker();
  if (w && w->rt != rt) w = nullptr;
  g* gp = new_g(rt, w);
  const bool default_stack = stack_size == 0 || stack_size == rt->stacks.stack_size();
  if (default_stack && closure_size <= g::kClosureBytes && closure_align <= 16) {
    return {gp, gp->closure_buf};
  }
  try {
    gp->stack = take_stack(rt, w, stack_size);
  } catch (...) {
    free_g(rt, w, gp);
    throw;
  }
  // [base ... stack grows down ... | closure | g_on_stack ] top (see make_context)
  auto top = reinterpret_cast<std::uintptr_t>(on_stack_addr(gp->stack));
  auto caddr = (top - closure_size) & ~(std::uintptr_t{closure_align} - 1);
  return {gp, reinterpret_cast<void*>(caddr)};
}

void spawn_abort(spawn_slot slot) noexcept {
  runtime* rt = current_runtime();
  worker* w = current_worker();
  if (w && w->rt != rt) w = nullptr;
  const stack_mem s = slot.gp->stack;
  free_g(rt, w, slot.gp);
  if (s.size != 0) give_stack(rt, w, s);
}

namespace {

std::uint64_t new_goroutine_id(runtime* rt, worker* w) noexcept {
  if (!w) return rt->next_id.fetch_add(1, std::memory_order_relaxed);
  if (w->id_next == w->id_end) {
    constexpr std::uint64_t kBatch = 16;
    w->id_next = rt->next_id.fetch_add(kBatch, std::memory_order_relaxed);
    w->id_end = w->id_next + kBatch;
  }
  return w->id_next++;
}

void start(spawn_slot slot, void (*body)(void*, bool), const std::source_location& where,
           bool is_main) noexcept {
  runtime* rt = current_runtime();
  worker* w = current_worker();
  if (w && w->rt != rt) w = nullptr;
  g* gp = slot.gp;
  gp->body = body;
  gp->closure = slot.closure;
  gp->is_main = is_main;
  gp->id = new_goroutine_id(rt, w);
  if (!is_main) gp->created = where;
  rt->all.add(gp, w ? w->index : gp->id);
  if (w) {
    w->live_delta.store(w->live_delta.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
    local_put(rt, w, gp, /*next=*/true);
  } else {
    rt->live_outside.fetch_add(1, std::memory_order_relaxed);
    global_put(rt, gp);
  }
  wakep(rt);
}

}  // namespace

void spawn_start(spawn_slot slot, void (*body)(void*, bool),
                 const std::source_location& where) noexcept {
  start(slot, body, where, false);
}

// ---------------------------------------------------------------------------------------
// run: start, wait for main, stop, release (or unwind) what is left

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

}  // namespace

void run_main(const options& opts, void (*body)(void*), void* arg, const int* status) {
  if (current_worker()) throw panic_error("goro::run: called from inside the runtime");
  std::unique_lock<std::mutex> one_at_a_time(run_mutex, std::try_to_lock);
  if (!one_at_a_time) throw panic_error("goro::run: a runtime is already running");

  const unsigned n = opts.threads ? opts.threads : default_threads();
  std::size_t stack_size = opts.stack_size ? opts.stack_size : kDefaultStackSize;
  stack_size = std::max<std::size_t>(stack_size, 16 * 1024);
  auto rt = std::make_unique<runtime>(n, stack_size);
  rt->detect_deadlock = opts.detect_deadlock;
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
  const auto grace_end = std::chrono::steady_clock::now() + opts.exit_grace;
  while (rt->workers_running.load(std::memory_order_acquire) != 0) {
    if (!rt->main_parker.park_until(grace_end) &&
        rt->workers_running.load(std::memory_order_acquire) != 0) {
      exit_process(*status);
    }
  }
  for (auto& w : rt->workers) w->thread.join();

  // Nothing runs goroutines any more: drop what was queued, release (or unwind) what is
  // left.
  rt->global.clear();
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
}

}  // namespace goro::detail

// ---------------------------------------------------------------------------------------
// Public functions of runtime.hpp

namespace goro {

void yield() {
  detail::yield_now();
}

std::size_t num_goroutine() {
  detail::runtime* rt = detail::current_runtime();
  if (!rt) return 0;
  std::int64_t n = rt->live_outside.load(std::memory_order_relaxed);
  for (auto& w : rt->workers) n += w->live_delta.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

unsigned gomaxprocs() {
  detail::runtime* rt = detail::current_runtime();
  return rt ? rt->nworkers : detail::default_threads();
}

std::uint64_t goroutine_id() {
  detail::worker* w = detail::current_worker();
  detail::g* gp = w ? w->running() : nullptr;
  return gp ? gp->id : 0;
}

}  // namespace goro
