// How goro::select's templates (select.hpp) build, move, complete and destroy a case of a
// given value and callback type, and the inline fast path of a select of one case and a
// default. The runtime's side of a case is select_core.hpp.
//
// Invariants:
// - A case's payload (the value's room and the callback) is in its inline_buf when
//   fits_inline, else on the heap; `elem` points at the value's room in it.
// - `ops` is null exactly when the payload is plain bytes (plain_payload) or absent (a
//   default): such a case is moved by relocate_plain and needs no destruction.
// - has_value: a received value not yet handed to the user sits at `elem` (a send case
//   always holds its value until it is sent or the case destroyed).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/select_core.hpp>

namespace goro::detail {

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

}  // namespace goro::detail
