// A goroutine's life: its memory, spawning it, its first code, its end.
//
// A goroutine with a small closure and the default stack size is only its g (from g_pool)
// until it first runs: make_context takes its stack then. Otherwise (a big closure, or
// go_with_stack) it takes its stack at spawn, the closure at the stack's top.
//
// Invariants:
// - A started goroutine is in the registry (runtime::all) from `start` until
//   free_goroutine, and counted in live_delta or live_outside for as long.
// - Its g_on_stack lives at the top of its stack (on_stack_addr), under the closure if the
//   closure is there too; gp->on_stack_ptr is published once it is built.
// - free_goroutine runs off the goroutine's own stack (its exit request, carried out by the
//   scheduler loop or by the next goroutine), and is the last thing that touches its g.
// - g and stack memory come from the current worker's caches; off the workers, a one-off
//   cache stands in for the worker's.
#include "exit.hpp"
#include "sanitizers.hpp"
#include "sched_impl.hpp"
#include "synctest.hpp"
#include "trace.hpp"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "global_queue.hpp"

namespace goro::detail {

namespace {

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

}  // namespace

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

namespace {

[[noreturn]] void report_panic(g* gp, std::exception_ptr e) noexcept {
  std::string what = "(unknown exception)";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  flush_user_output();
  trace::write_now();
  std::fprintf(stderr, "panic: %s\n\ngoroutine %" PRIu64 " [running]:\n", what.c_str(), gp->id);
  if (!gp->is_main) {
    std::fprintf(stderr, "created by %s:%u\n", gp->created.file_name(),
                 static_cast<unsigned>(gp->created.line()));
  }
  std::fflush(stderr);
  write_seed_line(2);
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
  if (gp->bubble_slot) [[unlikely]]
    bubble_exiting(gp);
  exit_goroutine(gp);
  __builtin_unreachable();
}

}  // namespace

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

}  // namespace

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
  if (g* parent = w ? w->running() : nullptr; parent && parent->bubble_slot) [[unlikely]]
    bubble_started(parent, gp);
  rt->all.add(gp, w ? w->index : gp->id);
  if (GORO_UNLIKELY(trace::on())) trace::event(w, trace::kind::created, gp->id);
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

void spawn_start(spawn_slot slot, void (*body)(void*, bool),
                 const std::source_location& where) noexcept {
  start(slot, body, where, false);
}

}  // namespace goro::detail
