// goro::produce — lexical confinement: the channel is written only inside f.
//
//   goro::recv_chan<int> results = goro::produce<int>(5, [](goro::send_chan<int> out) {
//     for (int i = 0; i <= 5; ++i) out.send(i);
//   });                                       // closed when f returns
//   for (int r : results) std::cout << "Received: " << r << "\n";
//
// Go's chanOwner: make(chan T, cap), a goroutine that writes it and closes it on the way
// out, and only the receiving end handed back. The caller gets a recv_chan, which has no
// send or close: writing to it does not compile.
#pragma once

#include <concepts>
#include <cstddef>
#include <source_location>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>
#include <goro/panic.hpp>

namespace goro {

// Runs f(send_chan<T>) in a new goroutine on a fresh channel of capacity cap, and closes the
// channel when f returns. If f throws, the channel is still closed (so readers finish), and
// the exception escapes the goroutine: a panic, as in Go. f may close the channel itself.
// f is responsible for stopping: give it a done channel or a context if it loops.
template <class T, class F>
  requires std::invocable<std::decay_t<F>&, send_chan<T>>
recv_chan<T> produce(std::size_t cap, F&& f,
                     const std::source_location& where = std::source_location::current()) {
  chan<T> c = make_chan<T>(cap);
  detail::pattern_go(where, [c, f = std::forward<F>(f)]() mutable {
    struct closer {
      chan<T> c;
      ~closer() {
        try {
          c.close();
        } catch (const panic_error&) {  // f closed it already
        }
      }
    } guard{c};
    f(send_chan<T>(c));
  });
  return c;
}

}  // namespace goro
