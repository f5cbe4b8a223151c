// The one unsafe thing: switching stacks.
//
// A fiber context is an opaque pointer into a suspended stack (Boost.Context's fcontext).
// fiber_jump suspends the running code, resumes `to`, and hands it `data`; when somebody
// later jumps back, fiber_jump returns with *their* context and data. Every switch tells
// AddressSanitizer and ThreadSanitizer which stack is about to run, so sanitizer builds
// keep working.
#pragma once

#include <cstddef>

#include <boost/context/detail/fcontext.hpp>

namespace goro::detail {

using fiber_context = boost::context::detail::fcontext_t;

// What a resumed context receives: `fctx`, the context that jumped to it (resume it to go
// back), and `data`, what that context passed along.
using fiber_transfer = boost::context::detail::transfer_t;

// Where a fiber's stack lies, for the sanitizers (unused in plain builds).
struct fiber_stack {
  void* bottom = nullptr;  // lowest address
  std::size_t size = 0;
  void* tsan_fiber = nullptr;
};

// A new context on [top - size, top) that starts entry(transfer) on its first resume.
// `entry` must never return: it ends with fiber_jump(..., exiting = true).
fiber_context fiber_make(void* top, std::size_t size, void (*entry)(fiber_transfer)) noexcept;

// Switches to `to` (whose stack is `to_stack`). `exiting`: the current fiber will never be
// resumed, so the sanitizers may drop its state.
fiber_transfer fiber_jump(fiber_context to, const fiber_stack& to_stack, void* data,
                          bool exiting = false) noexcept;

// Like fiber_jump, but before `to` resumes, runs on_top(transfer) on its stack; what
// on_top returns is what `to` receives. Lets the suspended fiber be dealt with (its lock
// released, its stack freed) once nobody runs on it any more, without a third stack.
fiber_transfer fiber_jump_ontop(fiber_context to, const fiber_stack& to_stack, void* data,
                                fiber_transfer (*on_top)(fiber_transfer),
                                bool exiting = false) noexcept;

// Called first thing by a fiber's entry function and by each return from fiber_jump:
// completes the sanitizer's view of the switch. `from` receives the stack we came from
// (the thread's own stack the first time a worker starts a goroutine).
void fiber_landed(fiber_stack* from) noexcept;

// ThreadSanitizer fiber handles (null in other builds).
void* fiber_tsan_create() noexcept;
void fiber_tsan_destroy(void* f) noexcept;
void* fiber_tsan_current() noexcept;

}  // namespace goro::detail
