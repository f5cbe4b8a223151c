// Switching between goroutines: park, ready, yield, a goroutine's exit.
//
// A worker thread runs its scheduler loop (worker.cpp) on its own stack. To run a
// goroutine it jumps onto the goroutine's stack (execute); the goroutine leaves it when it
// parks, yields or ends (switch_away), passing a `switch_request` that is carried out once
// it is off its stack: release the waiter's lock, requeue it, or free it. It leaves
// directly for the next goroutine of its worker's local queue, which carries out the
// request before it resumes (finish_on_top); every kGlobalQueueEvery-th switch, when the
// queue is empty, or when a parker's next would need a stack from the pool (next_local),
// it leaves for the scheduler loop instead, which carries it out.
//
// Invariants:
// - A goroutine's request is carried out only once its context is saved, so whoever the
//   request lets ready it (the unlock of park) cannot resume it while it still runs.
// - Only the worker that runs a goroutine switches away from it; `landed` tells every
//   resumed goroutine which worker that now is (g_on_stack::w).
// - ready() of a goroutine readied by the running one puts it in its worker's runnext
//   slot; from outside the runtime, on the global queue; a released one never runs again.
#include "exit.hpp"
#include "sched_impl.hpp"
#include "synctest.hpp"
#include "trace.hpp"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <thread>

#include "global_queue.hpp"

namespace goro::detail {

namespace {

// What a goroutine that switches away asks to be done once it is off its stack (see
// g::request): by the scheduler loop, or by the next goroutine before that one resumes.
using switch_request = g::switch_request;

}  // namespace

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
  if (gp->bubble_slot) [[unlikely]]
    bubble_readied(gp);
  runtime* rt = current_runtime();
  set_status(gp, g_status::runnable);
  gp->reason.store(wait_reason::none, std::memory_order_relaxed);
  if (!rt || rt->draining) return;  // shutdown resumes every goroutine itself
  worker* w = current_worker();
  if (GORO_UNLIKELY(trace::on())) trace::event(w, trace::kind::woken, gp->id);
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

namespace {

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

}  // namespace

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

namespace {

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

// The next goroutine this worker may switch to directly, without a trip through the
// scheduler loop: the local queue's, except every kGlobalQueueEvery-th switch, when the
// loop runs to look at timers and the global queue.
//
// `holding_lock`: the goroutine switching away parks, and its lock (a channel's, say) stays
// held until the next one runs (finish_on_top). A goroutine that never ran must first get
// its stack (make_context); if this worker's cache has none, the pool's lock, a new mapping
// and page faults would all happen under that lock: the goroutine goes back to the front
// of the queue instead, and the loop starts it once the lock is released. (A million
// goroutines parking on one channel from two workers spent a fifth of their CPU in the
// other worker's wait for that lock.) A stack from the cache is cheap, and a spawn-heavy
// program (Skynet: each parent parks, then starts its next child) keeps its direct switch.
g* next_local(worker* w, bool holding_lock) noexcept {
  if (++w->schedtick % kGlobalQueueEvery == 0 || w->rt->stopping.load(std::memory_order_relaxed))
    return nullptr;
  assert_owns_runq(w);
  g* gp = w->rt->randomize ? randomized_pop(w->q, w->rng_state) : w->q.pop();
  if (gp && holding_lock && !gp->ctx && gp->stack.size == 0 && w->stacks.empty()) {
    local_put(w->rt, w, gp, /*next=*/true);
    return nullptr;
  }
  prefetch_queued(w);
  return gp;
}

// Makes gp w's running goroutine, about to be switched to (by the scheduler loop, or
// directly from the goroutine before it): its status, the trace, its context on first
// run, and the worker its started state points at.
inline g_on_stack& begin_running(worker* w, g* gp, bool by_loop) noexcept {
  w->curg.store(gp, std::memory_order_relaxed);
  set_status(gp, g_status::running);
  if (GORO_UNLIKELY(trace::on())) trace::event(w, trace::kind::start, gp->id);
  w->started_by_loop = by_loop;
  if (!gp->ctx) make_context(w, gp);
  g_on_stack& st = gp->on_stack();
  st.w = w;
  // Its stack may have been shrunk while it waited for I/O (netpoll.hpp's idle sweep).
  if (st.idle_settled) [[unlikely]]
    end_idle(w->rt, st);
  return st;
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
  if (GORO_UNLIKELY(trace::on())) trace::switched_out(w, gp, kind);
  fiber_transfer t;
  if (g* next = next_local(w, kind == switch_request::park)) {
    g_on_stack& next_st = begin_running(w, next, /*by_loop=*/false);
    t = fiber_jump_ontop(next->ctx, next_st.fstack, &req, &finish_on_top, exiting);
  } else {
    t = fiber_jump(w->sched_ctx, w->sched_stack, &req, exiting);
  }
  landed(gp, t);
}

}  // namespace

void exit_goroutine(g* gp) noexcept {
  switch_away(gp, switch_request::exit);
  __builtin_unreachable();
}

// Worker side: runs gp (and whatever it switches to directly) until a goroutine switches
// back to the scheduler loop; then carries out that goroutine's request.
void execute(worker* w, g* gp) noexcept {
  g_on_stack& st = begin_running(w, gp, /*by_loop=*/true);
  fiber_transfer t = fiber_jump(gp->ctx, st.fstack, w);
  w->curg.store(nullptr, std::memory_order_relaxed);
  auto* req = static_cast<switch_request*>(t.data);
  req->gp->ctx = t.fctx;
  finish_request(req);
}

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
  if (gp->bubble_slot) [[unlikely]]
    bubble_parking(gp, why, unlock, arg);
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

}  // namespace goro::detail
