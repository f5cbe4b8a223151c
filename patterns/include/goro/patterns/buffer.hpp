// goro::buffer — a queue between two stages of a pipeline.
//
//   auto queued = goro::buffer(done, short_stage, 2);   // Go: buffer(done, 2, short)
//
// Lets a fast stage run ahead of a slow one by up to n values. It does not make the
// pipeline faster on its own (the slowest stage still sets the throughput, see Little's law
// in samples/queuing.cpp); it helps where producing in bursts or in batches is cheaper.
#pragma once

#include <cstddef>
#include <source_location>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>

namespace goro {

// The values of `in`, in order, through a channel of capacity n.
template <receivable C>
recv_chan<chan_value_t<C>> buffer(
    done_chan done, C in, std::size_t n,
    const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  chan<T> out = make_chan<T>(n);
  detail::pattern_go(where, [done, in = recv_chan<T>(std::move(in)), out] {
    detail::close_on_exit<T> closer(out);
    while (std::optional<T> v = detail::recv_or_done(done, in)) {
      if (!detail::send_or_done<T>(done, out, std::move(*v))) return;
    }
  });
  return out;
}

}  // namespace goro
