// goro::stage — one stage of a pipeline: f applied to each value of a stream.
//
//   auto doubled = goro::stage(done, ints, [](int v) { return v * 2; });   // multiply(done, in, 2)
//   auto added   = goro::stage(done, doubled, [](int v) { return v + 1; });
//
// Go's pipeline stages (multiply, add, toInt, primeFinder...) are all this loop: receive or
// stop, compute, send or stop.
#pragma once

#include <concepts>
#include <source_location>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/functional.hpp>
#include <goro/detail/pattern_support.hpp>

namespace goro {

template <class F, class T>
using stage_result_t = std::decay_t<std::invoke_result_t<std::decay_t<F>&, T>>;

// f(v) for each value v of `in`, in order. f may be a mutable lambda (it runs in one
// goroutine). The output closes when `in` ends or done closes.
template <receivable C, class F>
  requires std::invocable<std::decay_t<F>&, chan_value_t<C>>
recv_chan<stage_result_t<F, chan_value_t<C>>> stage(
    done_chan done, C in, F&& f,
    const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  using R = stage_result_t<F, T>;
  static_assert(!std::is_void_v<R>, "goro::stage: f must return the value to pass on");
  chan<R> out = make_chan<R>();
  detail::pattern_go(
      where, [done, in = recv_chan<T>(std::move(in)), out, f = std::forward<F>(f)]() mutable {
        detail::close_on_exit<R> closer(out);
        while (std::optional<T> v = detail::recv_or_done(done, in)) {
          if (!detail::send_or_done<R>(done, out, R(detail::invoke(f, std::move(*v))))) return;
        }
      });
  return out;
}

}  // namespace goro
