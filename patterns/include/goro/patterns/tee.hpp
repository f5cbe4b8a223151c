// goro::tee — split one stream into two that both see every value.
//
//   auto [out1, out2] = goro::tee(done, goro::take(done, goro::repeat(done, 1, 2), 4));
//   for (int v1 : out1) std::cout << "out1: " << v1 << ", out2: " << *out2.recv() << "\n";
//
// Like the Unix tee: each value is handed to both outputs (in whichever order their readers
// come) before the next is taken from the input, so the two readers proceed in lockstep.
#pragma once

#include <concepts>
#include <source_location>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>
#include <goro/select.hpp>

namespace goro {

// Both outputs receive every value of `in` (copied for the first, moved into the second);
// both close when `in` ends or done closes.
template <receivable C>
  requires std::copy_constructible<chan_value_t<C>>
std::pair<recv_chan<chan_value_t<C>>, recv_chan<chan_value_t<C>>> tee(
    done_chan done, C in, const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  chan<T> out1 = make_chan<T>();
  chan<T> out2 = make_chan<T>();
  detail::pattern_go(where, [done, in = recv_chan<T>(std::move(in)), out1, out2] {
    detail::close_on_exit<T> close1(out1);
    detail::close_on_exit<T> close2(out2);
    while (std::optional<T> v = detail::recv_or_done(done, in)) {
      // The first reader to come gets a copy; the other one gets the value itself.
      send_chan<T> rest;
      std::size_t k = goro::select(on_recv(done), on_send(out1, *v, [&] { rest = out2; }),
                                   on_send(out2, *v, [&] { rest = out1; }));
      if (k == 0) return;
      if (!detail::send_or_done<T>(done, rest, std::move(*v))) return;
    }
  });
  return {out1, out2};
}

}  // namespace goro
