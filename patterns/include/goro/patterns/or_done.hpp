// goro::or_done — read a channel you do not own until it ends or you are told to stop.
//
//   for (auto v : goro::or_done(done, their_channel)) { ... }   // for val := range orDone(done, c)
//
// Ranging over a channel whose owner may never close it would block forever once our own
// work is canceled; or_done wraps it so the range also ends when done closes.
#pragma once

#include <source_location>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>

namespace goro {

// The values of c, in order, until c is closed or done is.
template <receivable C>
recv_chan<chan_value_t<C>> or_done(
    done_chan done, C c, const std::source_location& where = std::source_location::current()) {
  using T = chan_value_t<C>;
  chan<T> out = make_chan<T>();
  detail::pattern_go(where, [done, in = recv_chan<T>(std::move(c)), out] {
    detail::close_on_exit<T> closer(out);
    while (std::optional<T> v = detail::recv_or_done(done, in)) {
      if (!detail::send_or_done<T>(done, out, std::move(*v))) return;
    }
  });
  return out;
}

}  // namespace goro
