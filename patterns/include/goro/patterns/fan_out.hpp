// goro::fan_out — n copies of a pipeline stage pulling from one input.
//
//   auto finders = goro::fan_out(done, rand_ints, goro::gomaxprocs(), is_prime_or_zero);
//   for (int p : goro::take(done, goro::fan_in(done, finders), 10)) ...
//
// Worth it for a stage that is slow and does not depend on earlier values: the n workers
// then run in parallel on the runtime's threads. Results come out of n channels; merge them
// with fan_in (order across workers is not kept).
#pragma once

#include <concepts>
#include <cstddef>
#include <source_location>
#include <type_traits>
#include <vector>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>
#include <goro/patterns/stage.hpp>

namespace goro {

// n goroutines, each running stage(done, in, f) with its own copy of f; each value of `in`
// goes to exactly one of them. Returns their n outputs.
template <receivable C, class F>
  requires std::invocable<std::decay_t<F>&, chan_value_t<C>> &&
           std::copy_constructible<std::decay_t<F>>
std::vector<recv_chan<stage_result_t<F, chan_value_t<C>>>> fan_out(
    done_chan done, C in, std::size_t n, const F& f,
    const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  recv_chan<T> input(std::move(in));
  std::vector<recv_chan<stage_result_t<F, T>>> outs;
  outs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) outs.push_back(stage(done, input, std::decay_t<F>(f), where));
  return outs;
}

}  // namespace goro
