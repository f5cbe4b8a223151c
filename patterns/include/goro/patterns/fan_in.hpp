// goro::fan_in — merge several channels into one.
//
//   auto merged = goro::fan_in(done, finders);        // std::vector<recv_chan<int>>
//   auto merged = goro::fan_in(done, a, b, c);        // or a few channels
//
// One goroutine waits on all the inputs and done with a dynamic select (Go's version starts
// a goroutine per input plus one to close the output). Values of one input keep their
// order; inputs are served fairly (select picks at random among the ready ones).
#pragma once

#include <cstddef>
#include <source_location>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>
#include <goro/select.hpp>

namespace goro {

// Every value of every input, until all inputs are closed (then the output closes) or done
// closes. A nil input never closes, as in Go: the output then closes only with done.
template <receivable C>
recv_chan<chan_value_t<C>> fan_in(
    done_chan done, std::vector<C> ins,
    const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  std::vector<recv_chan<T>> live;
  live.reserve(ins.size());
  for (C& c : ins) live.emplace_back(std::move(c));
  chan<T> out = make_chan<T>();
  detail::pattern_go(where, [done, live = std::move(live), out]() mutable {
    detail::close_on_exit<T> closer(out);
    std::vector<select_case> cases;
    cases.reserve(live.size() + 1);
    while (!live.empty()) {
      cases.clear();
      cases.push_back(on_recv(done));
      for (const recv_chan<T>& c : live) cases.push_back(on_recv(c));
      std::size_t k = goro::select(std::span<select_case>(cases));
      if (k == 0) return;
      std::optional<T> v = cases[k].template received<T>();
      if (!v) {  // that input is closed and drained
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k - 1));
        continue;
      }
      if (!detail::send_or_done<T>(done, out, std::move(*v))) return;
    }
  });
  return out;
}

// fan_in(done, a, b, ...): the same for a few channels of one type.
template <receivable C, receivable... Cs>
requires(std::is_same_v<chan_value_t<C>, chan_value_t<Cs>>&&...) recv_chan<chan_value_t<C>> fan_in(
    done_chan done, C first, Cs... rest) {
  using T = chan_value_t<C>;
  return fan_in(std::move(done), std::vector<recv_chan<T>>{recv_chan<T>(std::move(first)),
                                                           recv_chan<T>(std::move(rest))...});
}

}  // namespace goro
