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
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/select_core.hpp>
#include <goro/unit.hpp>

namespace goro {

class select_case;

namespace detail {

struct no_callback {};

// A payload: room for the value (recv: empty until it arrives; send: the value to send)
// and the callback.
template <class T, class F>
struct case_payload {
  slot<T> value;
  [[no_unique_address]] F f;
};

// Whether a payload lives in the case's inline_buf (else on the heap). Known at compile
// time, so that no code for the other place is instantiated: a placement new of a large
// payload into inline_buf, even on a branch never taken, draws -Wplacement-new in user code.
template <class P>
inline constexpr bool fits_inline =
    sizeof(P) <= sizeof(case_state::inline_buf) && alignof(P) <= alignof(std::max_align_t);

// A receive case's callback: f(std::optional<T>) for Go's `case v, ok := <-c`, or f(T) for
// `case v := <-c`, which gets T{} (Go's zero value) from a closed channel. A callback that
// takes either is given the optional.
template <class T, class F>
inline constexpr bool takes_optional = std::is_invocable_v<F&, std::optional<T>>;
template <class T, class F>
inline constexpr bool takes_value = !takes_optional<T, F> && std::is_invocable_v<F&, T>;

template <class T, class F, case_kind K>
struct case_ops_for {
  using P = case_payload<T, F>;
  static P& payload(case_state& c) noexcept { return *static_cast<P*>(c.payload); }

  static void drop_value(case_state& c) noexcept {
    if (K == case_kind::send || c.has_value) payload(c).value.value.~T();
    c.has_value = false;
  }
  static void relocate(case_state& dst, case_state& src) noexcept {
    dst = src;  // copies the plain fields; the payload is moved below or stays on the heap
    if constexpr (fits_inline<P>) {
      P& from = payload(src);
      P* to = ::new (static_cast<void*>(dst.inline_buf)) P{{}, std::move(from.f)};
      if (K == case_kind::send || src.has_value) {
        ::new (&to->value.value) T(std::move(from.value.value));
      }
      drop_value(src);
      from.~P();
      dst.payload = to;
    }
    dst.elem = &payload(dst).value.value;
    src.payload = nullptr;
    src.chan = nullptr;
    src.ops = nullptr;
  }
  static void destroy(case_state& c) noexcept {
    if (!c.payload) return;
    drop_value(c);
    if constexpr (fits_inline<P>) {
      payload(c).~P();
    } else {
      delete &payload(c);
    }
  }
  // The received value for the callback. Built as the return value, so that it is
  // constructed in the callback's parameter: with a local optional moved into the parameter
  // instead, g++ -O2 saw that parameter's payload as "maybe uninitialized" wherever the
  // callback dereferenced it (`use(*v)`, as `*c.recv()` does without a warning) and
  // reported it inside this header.
  static std::optional<T> take(case_state& c) {
    if (!c.has_value) return std::nullopt;
    std::optional<T> v(std::in_place, std::move(payload(c).value.value));
    drop_value(c);
    return v;
  }
  static T take_or_zero(case_state& c) {
    if (!c.has_value) return T{};
    T v(std::move(payload(c).value.value));
    drop_value(c);
    return v;
  }
  static void complete(case_state& c) {
    if constexpr (!std::is_same_v<F, no_callback>) {
      if constexpr (K != case_kind::recv) {
        payload(c).f();
      } else if constexpr (takes_optional<T, F>) {
        payload(c).f(take(c));
      } else {
        payload(c).f(take_or_zero(c));
      }
    }
  }
  static constexpr case_ops ops{&relocate, &destroy, &complete};
};

// The handles a case may be built from: on_recv takes chan or recv_chan, on_send chan or
// send_chan, as Go allows `<-c` and `c <- v` only in those directions.
template <class H, template <class> class... Dirs>
concept handle_of =
    (std::same_as<std::remove_cvref_t<H>, Dirs<typename std::remove_cvref_t<H>::value_type>> ||
     ...);
template <class H>
using elem_of = typename std::remove_cvref_t<H>::value_type;

// The channel of a case: borrowed from an lvalue handle (the caller keeps it alive, as the
// handles in `select(on_recv(c), ...)` are), taken over from a temporary.
template <class H>
std::pair<chan_core*, bool> case_chan(H&& h) noexcept {
  if constexpr (std::is_lvalue_reference_v<H>) {
    return {chan_access::core(h), false};
  } else if constexpr (std::is_const_v<std::remove_reference_t<H>>) {
    chan_core* c = chan_access::core(h);
    chan_retain(c);
    return {c, c != nullptr};
  } else {
    chan_core* c = chan_access::take(h);
    return {c, c != nullptr};
  }
}

// A payload that is plain bytes (a trivially copyable value, no callback) needs no case_ops:
// it is copied with the case and never destroyed.
template <class T, class F>
inline constexpr bool plain_payload =
    std::is_same_v<F, no_callback> && std::is_trivially_copyable_v<T> &&
    fits_inline<case_payload<T, F>>;

// Puts the value's room and the callback of a new case in place.
template <class T, class F, case_kind K>
void make_payload(case_state& c, F&& f) {
  using P = case_payload<T, std::decay_t<F>>;
  if constexpr (plain_payload<T, std::decay_t<F>>) {
    c.payload = c.inline_buf;
  } else {
    c.ops = &case_ops_for<T, std::decay_t<F>, K>::ops;
    if constexpr (fits_inline<P>) {
      c.payload = ::new (static_cast<void*>(c.inline_buf)) P{{}, std::forward<F>(f)};
    } else {
      c.payload = new P{{}, std::forward<F>(f)};
    }
  }
  c.elem = &static_cast<P*>(c.payload)->value.value;
}

// Moves a case whose payload is plain bytes (or that has none: a default).
inline void relocate_plain(case_state& dst, case_state& src) noexcept {
  dst = src;
  if (src.payload) {
    const auto offset = static_cast<unsigned char*>(src.elem) - src.inline_buf;
    dst.payload = dst.inline_buf;
    dst.elem = dst.inline_buf + offset;
  }
  src.payload = src.elem = nullptr;
  src.chan = nullptr;
}

constexpr std::size_t kNotSettled = static_cast<std::size_t>(-1);

// One channel case and a default (Go's selectnbsend/selectnbrecv): the common "not ready"
// outcome, and a receive from a closed drained channel, are settled here without the lock
// and without leaving the caller. Anything else returns kNotSettled for select_impl.
[[gnu::always_inline]] inline std::size_t select_peek(case_state& a, case_state& b) noexcept {
  const bool a_default = a.kind == case_kind::fallback;
  if (a_default == (b.kind == case_kind::fallback)) return kNotSettled;
  case_state& op = a_default ? b : a;
  const std::size_t op_index = a_default ? 1 : 0;
  const std::size_t default_index = 1 - op_index;
  if (op.has_value) return kNotSettled;  // a reused case: select_impl drops the old value
  if (!op.chan) return default_index;    // a nil channel is never ready
  if (op.kind == case_kind::send) return send_would_block(op.chan) ? default_index : kNotSettled;
  if (recv_would_block(op.chan)) return default_index;
  if (recv_finds_closed(op.chan)) {
    op.ok = false;
    return op_index;
  }
  return kNotSettled;
}

// select_peek, and the callback of the case it settled. Inline, so that the compiler sees
// which of the two cases has a callback.
[[gnu::always_inline]] inline std::size_t select_peek_and_complete(case_state& a, case_state& b) {
  const std::size_t i = select_peek(a, b);
  if (i != kNotSettled) {
    case_state& c = i == 0 ? a : b;
    if (c.ops) c.ops->complete(c);
  }
  return i;
}

// The part of select that does not depend on the cases' types.
template <std::size_t N>
[[gnu::noinline]] std::size_t select_and_complete(std::array<case_state*, N> cases) {
  const std::size_t i = select_impl(cases.data(), N);
  if (cases[i]->ops) cases[i]->ops->complete(*cases[i]);
  return i;
}

}  // namespace detail

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
