// Generators: streams made from values or a function, and take to cut one short.
//
//   for (int v : goro::generator(done, 1, 2, 3, 4)) ...              // each value once
//   for (int v : goro::take(done, goro::repeat(done, 1), 10)) ...    // 1 1 1 1 1 1 1 1 1 1
//   auto rands = goro::repeat_fn(done, [] { return std::rand(); });  // f() forever
//
// The infinite ones (repeat, repeat_fn) are only ever stopped by done: always give them a
// done that is closed when their reader is finished.
#pragma once

#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>

namespace goro {

namespace detail {
template <class T>
inline constexpr bool is_vector = false;
template <class T, class A>
inline constexpr bool is_vector<std::vector<T, A>> = true;
template <class T>
inline constexpr bool is_init_list = false;
template <class T>
inline constexpr bool is_init_list<std::initializer_list<T>> = true;
template <class T>
concept single_value = !is_vector<T> && !is_init_list<T>;
}  // namespace detail

// Sends each of `values` once, in order, then closes.
template <class T>
recv_chan<T> generator(done_chan done, std::vector<T> values,
                       const std::source_location& where = std::source_location::current()) {
  chan<T> out = make_chan<T>();
  detail::pattern_go(where, [done, values = std::move(values), out]() mutable {
    detail::close_on_exit<T> closer(out);
    for (T& v : values) {
      if (!detail::send_or_done<T>(done, out, std::move(v))) return;
    }
  });
  return out;
}
template <class T>
recv_chan<T> generator(done_chan done, std::initializer_list<T> values,
                       const std::source_location& where = std::source_location::current()) {
  return generator(std::move(done), std::vector<T>(values), where);
}
// generator(done, 1, 2, 3): Go's variadic `generator(done, 1, 2, 3, 4)`.
template <class T, class... Ts>
  requires detail::single_value<T> && (std::convertible_to<Ts, T> && ...)
recv_chan<T> generator(done_chan done, T first, Ts... rest) {
  return generator(std::move(done), std::vector<T>{std::move(first), T(std::move(rest))...});
}

// Sends `values` in order, over and over, until done closes. No values: closes at once.
template <class T>
  requires std::copy_constructible<T>
recv_chan<T> repeat(done_chan done, std::vector<T> values,
                    const std::source_location& where = std::source_location::current()) {
  chan<T> out = make_chan<T>();
  detail::pattern_go(where, [done, values = std::move(values), out] {
    detail::close_on_exit<T> closer(out);
    if (values.empty()) return;
    for (;;) {
      for (const T& v : values) {
        if (!detail::send_or_done<T>(done, out, T(v))) return;
      }
    }
  });
  return out;
}
template <class T>
recv_chan<T> repeat(done_chan done, std::initializer_list<T> values,
                    const std::source_location& where = std::source_location::current()) {
  return repeat(std::move(done), std::vector<T>(values), where);
}
// repeat(done, 1, 2): Go's variadic `repeat(done, 1, 2)`.
template <class T, class... Ts>
  requires detail::single_value<T> && (std::convertible_to<Ts, T> && ...)
recv_chan<T> repeat(done_chan done, T first, Ts... rest) {
  return repeat(std::move(done), std::vector<T>{std::move(first), T(std::move(rest))...});
}

// Sends f(), f(), f()... until done closes. f may be a mutable lambda.
template <class F>
  requires std::invocable<std::decay_t<F>&>
recv_chan<std::decay_t<std::invoke_result_t<std::decay_t<F>&>>> repeat_fn(
    done_chan done, F&& f, const std::source_location& where = std::source_location::current()) {
  using R = std::decay_t<std::invoke_result_t<std::decay_t<F>&>>;
  static_assert(!std::is_void_v<R>, "goro::repeat_fn: f must return the value to send");
  chan<R> out = make_chan<R>();
  detail::pattern_go(where, [done, out, f = std::forward<F>(f)]() mutable {
    detail::close_on_exit<R> closer(out);
    for (;;) {
      if (!detail::send_or_done<R>(done, out, R(f()))) return;
    }
  });
  return out;
}

// The first n values of `in`, then closes (earlier if `in` ends or done closes). What it
// leaves in `in` stays there: the producer is stopped by done, not by take.
template <receivable C>
recv_chan<chan_value_t<C>> take(
    done_chan done, C in, std::size_t n,
    const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  chan<T> out = make_chan<T>();
  detail::pattern_go(where, [done, in = recv_chan<T>(std::move(in)), out, n] {
    detail::close_on_exit<T> closer(out);
    for (std::size_t i = 0; i < n; ++i) {
      std::optional<T> v = detail::recv_or_done(done, in);
      if (!v) return;
      if (!detail::send_or_done<T>(done, out, std::move(*v))) return;
    }
  });
  return out;
}

}  // namespace goro
