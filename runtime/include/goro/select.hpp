// select: wait on several channel operations, perform exactly one.
//
//   switch (goro::select(goro::on_recv(in),                     // case v, ok := <-in:
//                        goro::on_send(out, 42),                // case out <- 42:
//                        goro::on_recv(quit, [](auto) {...}),   // callback form
//                        goro::on_recv(msgs, [](msg m) {...}),  // case m := <-msgs:
//                        goro::on_default())) {                 // default:
//     case 0: ...
//   }
//
// select returns the zero-based index of the case it performed, after calling that case's
// callback if it has one. Ready cases are chosen uniformly at random; a nil channel's case
// never fires; with on_default() select never blocks. For a number of cases known only at
// run time (reflect.Select), pass a std::span<goro::select_case>; a received value is then
// available through select_case::received<T>().
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <new>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/select_cases.hpp>
#include <goro/detail/select_core.hpp>
#include <goro/unit.hpp>

namespace goro {

// One case of a select. Built by on_recv, on_send and on_default; movable, so cases can be
// kept in a std::vector for the dynamic select.
class select_case {
 public:
  select_case(select_case&& o) noexcept { move_from(o); }
  select_case& operator=(select_case&& o) noexcept {
    if (this != &o) {
      reset();
      move_from(o);
    }
    return *this;
  }
  [[gnu::always_inline]] ~select_case() { reset(); }

  // After a select chose this receive case (without a callback): the value received, or
  // nullopt if the channel was closed. Takes the value out; T must be the channel's type.
  // Never blocks or throws. A case belongs to one goroutine at a time.
  template <class T>
  std::optional<T> received() {
    if (!s_.has_value) return std::nullopt;
    T* p = static_cast<T*>(s_.elem);
    std::optional<T> v(std::in_place, std::move(*p));
    p->~T();
    s_.has_value = false;
    return v;
  }

 private:
  select_case(detail::case_kind kind, std::pair<detail::chan_core*, bool> ch) noexcept
      : s_(kind, ch.first, ch.second) {}
  void move_from(select_case& o) noexcept {
    if (o.s_.ops) {
      o.s_.ops->relocate(s_, o.s_);
    } else {
      detail::relocate_plain(s_, o.s_);
    }
    // A moved case may outlive the handle it borrowed from (a std::vector of cases): it
    // takes its own reference.
    if (s_.chan && !s_.owns_chan) detail::chan_retain(s_.chan);
    s_.owns_chan = s_.chan != nullptr;
    o.s_.owns_chan = false;
  }
  [[gnu::always_inline]] void reset() noexcept {
    if (s_.ops) s_.ops->destroy(s_);
    if (s_.owns_chan) detail::chan_release(s_.chan);
    s_.chan = nullptr;
    s_.owns_chan = false;
    s_.ops = nullptr;
  }

  detail::case_state s_;

  template <class H, class F>
    requires detail::handle_of<H, chan, recv_chan>
  friend select_case on_recv(H&&, F);
  template <class H>
    requires detail::handle_of<H, chan, recv_chan>
  friend select_case on_recv(H&&);
  template <class H, class F>
    requires detail::handle_of<H, chan, send_chan>
  friend select_case on_send(H&&, detail::elem_of<H>, F);
  template <class H>
    requires detail::handle_of<H, chan, send_chan>
  friend select_case on_send(H&&, detail::elem_of<H>);
  template <class F>
  friend select_case on_default(F);
  friend select_case on_default();
  template <class... Cases>
    requires(std::same_as<std::remove_cvref_t<Cases>, select_case> && ...)
  friend std::size_t select(Cases&&... cases);
  friend std::size_t select(std::span<select_case> cases);
};

// case v, ok := <-c: f(std::optional<T>) gets the value, or nullopt if c is closed.
// case v := <-c:     f(T) gets the value, or T{} (Go's zero value) if c is closed.
// A callback that can take either (a generic lambda) gets the std::optional<T>.
//
// A case built from a named handle refers to that handle's channel without owning it, like
// a std::string_view: keep a handle to the channel for as long as you keep the case (a
// case that is moved, into a std::vector for instance, or built from a temporary handle,
// holds its own reference). `select(on_recv(c), ...)` needs no thought.
//
// Building a case never blocks; it throws only std::bad_alloc (a callback too large to be
// stored inline goes on the heap) or what moving f throws. Any goroutine or thread.
template <class H, class F>
  requires detail::handle_of<H, chan, recv_chan>
select_case on_recv(H&& c, F f) {
  using T = detail::elem_of<H>;
  static_assert(detail::takes_optional<T, F> || detail::takes_value<T, F>,
                "on_recv's callback must take a std::optional<T> (v, ok := <-c) or a T "
                "(v := <-c)");
  static_assert(!detail::takes_value<T, F> || std::is_default_constructible_v<T>,
                "on_recv's callback takes a T, which gets T{} from a closed channel: T must be "
                "default-constructible (or take a std::optional<T>)");
  select_case sc(detail::case_kind::recv, detail::case_chan(std::forward<H>(c)));
  detail::make_payload<T, F, detail::case_kind::recv>(sc.s_, std::move(f));
  return sc;
}
template <class H>
  requires detail::handle_of<H, chan, recv_chan>
select_case on_recv(H&& c) {
  select_case sc(detail::case_kind::recv, detail::case_chan(std::forward<H>(c)));
  detail::make_payload<detail::elem_of<H>, detail::no_callback, detail::case_kind::recv>(
      sc.s_, detail::no_callback{});
  return sc;
}

// case c <- value: f() runs after the send. A closed channel throws if this case is chosen.
// value converts as for send(). Never blocks; throws as on_recv does.
template <class H, class F>
  requires detail::handle_of<H, chan, send_chan>
select_case on_send(H&& c, detail::elem_of<H> value, F f) {
  using T = detail::elem_of<H>;
  static_assert(std::is_invocable_v<F&>, "on_send's callback takes no arguments");
  select_case sc(detail::case_kind::send, detail::case_chan(std::forward<H>(c)));
  detail::make_payload<T, F, detail::case_kind::send>(sc.s_, std::move(f));
  ::new (sc.s_.elem) T(std::move(value));
  return sc;
}
template <class H>
  requires detail::handle_of<H, chan, send_chan>
select_case on_send(H&& c, detail::elem_of<H> value) {
  using T = detail::elem_of<H>;
  select_case sc(detail::case_kind::send, detail::case_chan(std::forward<H>(c)));
  detail::make_payload<T, detail::no_callback, detail::case_kind::send>(sc.s_,
                                                                        detail::no_callback{});
  ::new (sc.s_.elem) T(std::move(value));
  return sc;
}

// default: taken when no other case is ready. At most one per select. Never blocks.
template <class F>
select_case on_default(F f) {
  static_assert(std::is_invocable_v<F&>, "on_default's callback takes no arguments");
  select_case sc(detail::case_kind::fallback, {nullptr, false});
  detail::make_payload<unit, F, detail::case_kind::fallback>(sc.s_, std::move(f));
  return sc;
}
inline select_case on_default() {
  return select_case(detail::case_kind::fallback, {nullptr, false});
}

// Blocks until one of the cases can proceed, performs it, runs its callback and returns
// its index.
// - Blocks: until a case is ready; never with an on_default() case. With no cases, or only
//   nil channels and no default, forever (the deadlock detector counts it).
// - Throws: panic_error("send on closed channel") when a send case on a closed channel is
//   chosen; panic_error("select: multiple default cases"); what the chosen case's callback
//   throws (the case has been performed by then).
// - Threads: any goroutine or plain thread; the channels may be shared with any number of
//   others. See docs/reference.md §3.
template <class... Cases>
  requires(std::same_as<std::remove_cvref_t<Cases>, select_case> && ...)
[[gnu::always_inline]] inline std::size_t select(Cases&&... cases) {
  if constexpr (sizeof...(Cases) == 2) {
    if (std::size_t i = detail::select_peek_and_complete(cases.s_...); i != detail::kNotSettled)
      return i;
  }
  return detail::select_and_complete(
      std::array<detail::case_state*, sizeof...(Cases)>{&cases.s_...});
}

// The dynamic form, like Go's reflect.Select. Blocks and throws as the variadic form. The
// cases may be reused by a later select; a value received and not taken is dropped then.
std::size_t select(std::span<select_case> cases);

}  // namespace goro
