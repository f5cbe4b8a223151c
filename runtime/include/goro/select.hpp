// select: wait on several channel operations, perform exactly one.
//
//   switch (goro::select(goro::on_recv(in),                     // case v, ok := <-in:
//                        goro::on_send(out, 42),                // case out <- 42:
//                        goro::on_recv(quit, [](auto) {...}),   // callback form
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
    if (src.payload == static_cast<void*>(src.inline_buf)) {
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
    if (c.payload == static_cast<void*>(c.inline_buf)) {
      payload(c).~P();
    } else {
      delete &payload(c);
    }
  }
  static void complete(case_state& c) {
    if constexpr (!std::is_same_v<F, no_callback>) {
      if constexpr (K == case_kind::recv) {
        std::optional<T> v;
        if (c.has_value) {
          v.emplace(std::move(payload(c).value.value));
          drop_value(c);
        }
        payload(c).f(std::move(v));
      } else {
        payload(c).f();
      }
    }
  }
  static constexpr case_ops ops{&relocate, &destroy, &complete};
};

template <class T, class F, case_kind K>
void make_case(case_state& c, chan_core* ch, F&& f) {
  using P = case_payload<T, std::decay_t<F>>;
  c.kind = K;
  c.ops = &case_ops_for<T, std::decay_t<F>, K>::ops;
  if constexpr (sizeof(P) <= sizeof(c.inline_buf) && alignof(P) <= alignof(std::max_align_t)) {
    c.payload = ::new (static_cast<void*>(c.inline_buf)) P{{}, std::forward<F>(f)};
  } else {
    c.payload = new P{{}, std::forward<F>(f)};
  }
  c.elem = &static_cast<P*>(c.payload)->value.value;
  chan_retain(ch);
  c.chan = ch;
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
  ~select_case() { reset(); }

  // After a select chose this receive case (without a callback): the value received, or
  // nullopt if the channel was closed. Takes the value out; T must be the channel's type.
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
  select_case() = default;
  void move_from(select_case& o) noexcept {
    if (o.s_.ops) {
      o.s_.ops->relocate(s_, o.s_);
    } else {
      s_.kind = o.s_.kind;
    }
  }
  void reset() noexcept {
    if (s_.ops) s_.ops->destroy(s_);
    detail::chan_release(s_.chan);
    s_.chan = nullptr;
    s_.ops = nullptr;
  }

  detail::case_state s_;

  template <class T, class F>
  friend select_case on_recv(const detail::chan_handle<T>&, F);
  template <class T>
  friend select_case on_recv(const detail::chan_handle<T>&);
  template <class T, class F>
  friend select_case on_send(const detail::chan_handle<T>&, std::type_identity_t<T>, F);
  template <class T>
  friend select_case on_send(const detail::chan_handle<T>&, std::type_identity_t<T>);
  template <class F>
  friend select_case on_default(F);
  friend select_case on_default();
  template <class... Cases>
  requires(std::same_as<std::remove_cvref_t<Cases>, select_case>&&...) friend std::size_t
      select(Cases&&... cases);
  friend std::size_t select(std::span<select_case> cases);
};

// case v, ok := <-c: f(std::optional<T>) gets the value, or nullopt if c is closed.
template <class T, class F>
select_case on_recv(const detail::chan_handle<T>& c, F f) {
  static_assert(std::is_invocable_v<F&, std::optional<T>>,
                "on_recv's callback must take a std::optional<T>");
  select_case sc;
  detail::make_case<T, F, detail::case_kind::recv>(sc.s_, detail::chan_access::core(c),
                                                   std::move(f));
  return sc;
}
template <class T>
select_case on_recv(const detail::chan_handle<T>& c) {
  select_case sc;
  detail::make_case<T, detail::no_callback, detail::case_kind::recv>(
      sc.s_, detail::chan_access::core(c), detail::no_callback{});
  return sc;
}

// case c <- value: f() runs after the send. A closed channel throws if this case is chosen.
template <class T, class F>
select_case on_send(const detail::chan_handle<T>& c, std::type_identity_t<T> value, F f) {
  static_assert(std::is_invocable_v<F&>, "on_send's callback takes no arguments");
  select_case sc;
  detail::make_case<T, F, detail::case_kind::send>(sc.s_, detail::chan_access::core(c),
                                                   std::move(f));
  ::new (sc.s_.elem) T(std::move(value));
  return sc;
}
template <class T>
select_case on_send(const detail::chan_handle<T>& c, std::type_identity_t<T> value) {
  select_case sc;
  detail::make_case<T, detail::no_callback, detail::case_kind::send>(
      sc.s_, detail::chan_access::core(c), detail::no_callback{});
  ::new (sc.s_.elem) T(std::move(value));
  return sc;
}

// default: taken when no other case is ready.
template <class F>
select_case on_default(F f) {
  static_assert(std::is_invocable_v<F&>, "on_default's callback takes no arguments");
  select_case sc;
  detail::make_case<unit, F, detail::case_kind::fallback>(sc.s_, nullptr, std::move(f));
  return sc;
}
inline select_case on_default() {
  select_case sc;
  sc.s_.kind = detail::case_kind::fallback;
  return sc;
}

// Blocks until one of the cases can proceed, performs it, runs its callback and returns
// its index.
template <class... Cases>
requires(std::same_as<std::remove_cvref_t<Cases>, select_case>&&...) std::size_t
    select(Cases&&... cases) {
  std::array<detail::case_state*, sizeof...(Cases)> ptrs{&cases.s_...};
  std::size_t i = detail::select_impl(ptrs.data(), ptrs.size());
  if (ptrs[i]->ops) ptrs[i]->ops->complete(*ptrs[i]);
  return i;
}

// The dynamic form, like Go's reflect.Select.
std::size_t select(std::span<select_case> cases);

}  // namespace goro
