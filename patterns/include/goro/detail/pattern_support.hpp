// Internals shared by the patterns: which handles count as "a channel to receive from", the
// spawning of a pattern's goroutine, and the done-aware send and receive every pattern uses.
#pragma once

#include <cstddef>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/select.hpp>
#include <goro/unit.hpp>

namespace goro {

// A cancellation signal: a channel that is closed to say "stop". ctx.done() fits, and so
// does a goro::chan<goro::unit>. A nil done_chan never fires.
using done_chan = recv_chan<unit>;

namespace detail {

template <class C>
struct recv_source : std::false_type {};
template <class T>
struct recv_source<chan<T>> : std::true_type {};
template <class T>
struct recv_source<recv_chan<T>> : std::true_type {};

}  // namespace detail

// What a pattern accepts where docs/reference.md §7 writes recv_chan<T>: a recv_chan<T> or a
// chan<T>.
template <class C>
concept receivable = detail::recv_source<std::remove_cvref_t<C>>::value;

// The element type of a receivable channel.
template <receivable C>
using chan_value_t = typename std::remove_cvref_t<C>::value_type;

namespace detail {

// Starts a pattern's goroutine, recording the user's call site (not this header) as the
// place that created it, so that goroutine dumps and leak reports point at the caller.
template <class F>
void pattern_go(const std::source_location& where, F&& f) {
  spawn(0, where, std::forward<F>(f));
}

// `case v, ok := <-in` against `case <-done`: the value, or nullopt when `in` is closed and
// drained or `done` is closed.
template <class T>
std::optional<T> recv_or_done(const done_chan& done, const recv_chan<T>& in) {
  std::optional<T> v;
  if (goro::select(on_recv(done), on_recv(in, [&v](std::optional<T> x) { v = std::move(x); })) ==
      0) {
    return std::nullopt;
  }
  return v;
}

// `select { case out <- v: case <-done: }`: false when done closed first.
template <class T>
bool send_or_done(const done_chan& done, const send_chan<T>& out, T&& v) {
  return goro::select(on_send(out, std::move(v)), on_recv(done)) == 0;
}

// Whether done is closed, without blocking.
inline bool is_done(const done_chan& done) {
  return goro::select(on_recv(done), on_default()) == 0;
}

// Closes `c` when the goroutine ends, also when it ends with an exception (Go's
// `defer close(out)`).
template <class T>
class close_on_exit {
 public:
  explicit close_on_exit(send_chan<T> c) noexcept : c_(std::move(c)) {}
  close_on_exit(const close_on_exit&) = delete;
  close_on_exit& operator=(const close_on_exit&) = delete;
  ~close_on_exit() { c_.close(); }

 private:
  send_chan<T> c_;
};

}  // namespace detail
}  // namespace goro
