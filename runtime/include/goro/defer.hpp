// goro::defer: Go's `defer f()`, a scope guard that runs f when its scope ends.
//
//   goro::go([c, &wg] {
//     goro::defer done{[&wg] { wg.done(); }};     // defer wg.Done()
//     goro::defer close_c{[c] { c.close(); }};    // defer close(c): runs first
//     for (int v : work()) c.send(v);
//   });
//
// As in Go, f also runs when an exception (Go's panic) unwinds the scope, and defers run in
// the reverse order of their declarations (C++ destroys locals that way). Where C++ is not
// Go:
// - A defer runs at the end of its enclosing block, not of the function: declare it at the
//   function's top level for Go's behaviour.
// - Go evaluates a deferred call's arguments at the `defer` statement. Capture by value
//   ([x]) for that; capture by reference ([&x]) to see the value at the end of the scope.
// - When goro::run returns, goroutines still blocked are released as Go abandons them: no
//   defer runs. With options::unwind_at_exit the runtime unwinds them instead, so that
//   their destructors free what they hold; a goro::defer skips its call during that
//   unwinding, so a leaked goroutine's "defer print" prints nothing, as in Go. (An
//   exception thrown by the program itself is not that unwinding: f runs.)
#pragma once

#include <type_traits>
#include <utility>

namespace goro {

namespace detail {
// Whether the calling goroutine is being unwound because goro::run is returning (its
// blocking call threw the runtime's internal goroutine_exit). False on plain threads.
// Out of line: it reads the current goroutine, which may change threads between calls.
bool unwinding_for_exit() noexcept;
}  // namespace detail

template <class F>
class defer {
  static_assert(std::is_invocable_v<F&>, "goro::defer's function takes no arguments");

 public:
  // Does not block. Throws only what moving f throws.
  [[nodiscard]] explicit defer(F f) noexcept(std::is_nothrow_move_constructible_v<F>)
      : f_(std::move(f)) {}
  defer(const defer&) = delete;
  defer& operator=(const defer&) = delete;

  // Runs f(), unless the runtime is unwinding this goroutine because goro::run returns.
  // Blocks if f blocks. An exception from f propagates, as a panic in a deferred call does,
  // when the scope ends normally; while another exception unwinds the scope, it ends the
  // program (std::terminate: C++ cannot carry two exceptions at once).
  ~defer() noexcept(false) {
    if (!detail::unwinding_for_exit()) f_();
  }

 private:
  F f_;
};

}  // namespace goro
