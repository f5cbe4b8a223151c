// goro::or_channel — one done channel that closes when any of several closes.
//
//   goro::done_chan any = goro::or_channel(ctx.done(), shutdown);  // shutdown: a done_chan
//   <-or(sig(2*time.Hour), sig(5*time.Minute), sig(1*time.Second))   // in Go
//   goro::or_channel(sig(2h), sig(5min), sig(1s)).recv();              // in goro
//
// Go's recursive `or` builds a tree of goroutines; this one waits on all the inputs with one
// goroutine and one dynamic select (goro::select over a std::span<select_case>), so it costs
// one goroutine whatever the number of inputs, and that goroutine ends as soon as any input
// closes (or delivers a value).
#pragma once

#include <concepts>
#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>
#include <goro/unit.hpp>

namespace goro {

// Closes when any of `chans` closes. No channel: a nil channel (never closes); one channel:
// that channel. Nil inputs never close, so they are left out. Out of line
// (patterns/src/or_channel.cpp): its goroutine, vector and select cost every file that
// includes goro.hpp 0.1 s of the compiler's time when they were inline (docs/header_cost.md).
done_chan or_channel(std::vector<done_chan> chans,
                     const std::source_location& where = std::source_location::current());

// The same for a vector of chan<unit>.
done_chan or_channel(const std::vector<chan<unit>>& chans,
                     const std::source_location& where = std::source_location::current());

// or_channel(a, b, c): the variadic form, like Go's `or(channels ...<-chan interface{})`.
// or_channel() is a nil channel.
template <class... Cs>
  requires(std::convertible_to<Cs, done_chan> && ...)
done_chan or_channel(Cs&&... chans) {
  return or_channel(std::vector<done_chan>{done_chan(std::forward<Cs>(chans))...});
}

}  // namespace goro
