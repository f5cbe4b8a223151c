// Internals of goro::blocking (runtime/src/blocking.cpp): the result of f travels back
// through a slot on the calling goroutine's stack, which the helper thread fills.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include <goro/detail/functional.hpp>

namespace goro::detail {

// Runs call(arg) on a helper thread while the calling goroutine parks; rethrows what it
// threw. On a plain thread, runs it right there.
void run_blocking(void (*call)(void*), void* arg);

template <class F>
decltype(auto) blocking_call(F& f) {
  using R = std::invoke_result_t<F&>;
  static_assert(!std::is_rvalue_reference_v<R>, "goro::blocking: f must not return T&&");
  if constexpr (std::is_void_v<R>) {
    run_blocking([](void* p) { (*static_cast<F*>(p))(); }, &f);
  } else {
    // A reference result travels as a reference_wrapper, and comes back as the reference.
    using slot_t = std::conditional_t<std::is_lvalue_reference_v<R>,
                                      std::reference_wrapper<std::remove_reference_t<R>>, R>;
    struct frame {
      F* f;
      std::optional<slot_t> out;
    } fr{&f, std::nullopt};
    run_blocking(
        [](void* p) {
          auto* fp = static_cast<frame*>(p);
          fp->out.emplace((*fp->f)());
        },
        &fr);
    if constexpr (std::is_lvalue_reference_v<R>) {
      return static_cast<R>(fr.out->get());
    } else {
      return R(std::move(*fr.out));
    }
  }
}

}  // namespace goro::detail
