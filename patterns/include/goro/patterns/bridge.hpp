// goro::bridge — flatten a channel of channels into one stream.
//
//   goro::recv_chan<goro::recv_chan<int>> streams = ...;   // <-chan <-chan interface{}
//   for (int v : goro::bridge(done, streams)) std::cout << v << " ";
//
// Drains each inner channel in turn, in the order they arrive, so the consumer sees one
// ordered stream and need not care that it was produced as a sequence of channels.
#pragma once

#include <source_location>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>

namespace goro {

// The values of each channel received from `streams`, one channel after the other, until
// `streams` is closed and its last channel drained, or done closes. Inner channels may be
// recv_chan<T> or chan<T>.
template <receivable C>
  requires receivable<chan_value_t<C>>
recv_chan<chan_value_t<chan_value_t<C>>> bridge(
    done_chan done, C streams,
    const std::source_location& where = std::source_location::current()) {
  using S = chan_value_t<C>;
  using T = chan_value_t<S>;
  chan<T> out = make_chan<T>();
  detail::pattern_go(where, [done, streams = recv_chan<S>(std::move(streams)), out] {
    detail::close_on_exit<T> closer(out);
    while (std::optional<S> s = detail::recv_or_done(done, streams)) {
      recv_chan<T> stream = std::move(*s);
      while (std::optional<T> v = detail::recv_or_done(done, stream)) {
        if (!detail::send_or_done<T>(done, out, std::move(*v))) return;
      }
      if (detail::is_done(done)) return;
    }
  });
  return out;
}

}  // namespace goro
