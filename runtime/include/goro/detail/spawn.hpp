// Internals of goro::go and goro::run: the type-erased entry points into the scheduler.
#pragma once

#include <cstddef>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

namespace goro {
struct options;
}

namespace goro::detail {

struct g;

// A goroutine's closure lives in its g when it is small, else near the top of its stack, so
// spawning allocates nothing but those. spawn_alloc reserves the g and room for the
// closure; spawn_start makes the goroutine runnable; spawn_abort returns the memory if
// constructing the closure threw.
struct spawn_slot {
  g* gp;
  void* closure;
};
spawn_slot spawn_alloc(std::size_t closure_size, std::size_t closure_align, std::size_t stack_size);
// body(closure, true) runs the closure and destroys it; body(closure, false) only destroys it.
void spawn_start(spawn_slot slot, void (*body)(void*, bool),
                 const std::source_location& where) noexcept;
void spawn_abort(spawn_slot slot) noexcept;

template <class F, class... Args>
struct closure {
  F f;
  std::tuple<Args...> args;

  // Runs f(args...) as std::thread would, then destroys the closure, also when f throws.
  // run == false: only destroys it (a goroutine that never ran; the runtime shut down).
  static void body(void* self, bool run) {
    auto* c = static_cast<closure*>(self);
    struct destroy_at_end {
      closure* c;
      ~destroy_at_end() { c->~closure(); }
    } guard{c};
    if (!run) return;
    std::apply(std::move(c->f), std::move(c->args));  // std::invoke's rules, as std::thread
  }
};

template <class F, class... Args>
void spawn(std::size_t stack_size, const std::source_location& where, F&& f, Args&&... args) {
  using C = closure<std::decay_t<F>, std::decay_t<Args>...>;
  static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                "goro::go: f(args...) is not callable with the decayed arguments");
  spawn_slot slot = spawn_alloc(sizeof(C), alignof(C), stack_size);
  try {
    ::new (slot.closure) C{std::forward<F>(f), {std::forward<Args>(args)...}};
  } catch (...) {
    spawn_abort(slot);
    throw;
  }
  spawn_start(slot, &C::body, where);
}

// Runs `body(arg)` as the main goroutine of a fresh runtime and returns when it returns.
// `status` is where body leaves main_fn's result: the exit status if options::exit_grace
// runs out.
void run_main(const options& opts, void (*body)(void*), void* arg, const int* status);

}  // namespace goro::detail
