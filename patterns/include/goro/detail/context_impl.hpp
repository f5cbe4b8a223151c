// The implementation of context.hpp's templates, and the implementation's way to the
// handles' private constructors and node (context_access: patterns/src/context.cpp, and
// with_value below). context.hpp includes this header at its end, once the handles are
// complete.
//
// Invariants: a value_node holds the key's address (values are looked up by it) and its
// name's, both valid as long as the key, which must outlive the contexts that use it.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <goro/context.hpp>
#include <goro/detail/context_node.hpp>
#include <goro/detail/shared_handle.hpp>

namespace goro::detail {

struct context_access {
  static context make(shared_handle<const ctx_node> n) noexcept { return context(std::move(n)); }
  static const shared_handle<const ctx_node>& node(const context& ctx) noexcept { return ctx.n_; }
  static cancel_func cancel(shared_handle<cancel_node> n) noexcept {
    return cancel_func(std::move(n));
  }
  static cancel_cause_func cancel_cause(shared_handle<cancel_node> n) noexcept {
    return cancel_cause_func(std::move(n));
  }
};

// Go's stringify: strings and numbers are shown, anything else is "<not Stringer>".
template <class T>
std::string describe_value(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T>) {
    return std::to_string(v);
  } else {
    return "<not Stringer>";
  }
}

template <class T>
class value_node final : public ctx_node {
 public:
  value_node(shared_handle<const ctx_node> parent, const context_key<T>& key, T v)
      : ctx_node(parent, parent->canceler(), parent->deadline()),
        v_(std::move(v)),
        name_(&key.name()) {
    key_ = &key;
    value_ = &v_;
  }

 private:
  void append_description(std::string& out) const override {
    out += ".WithValue(" + *name_ + ", val " + describe_value(v_) + ")";
  }
  T v_;
  const std::string* name_;
};

}  // namespace goro::detail

namespace goro {

template <class T>
context with_value(const context& parent, const context_key<T>& key,
                   std::type_identity_t<T> value) {
  return detail::context_access::make(detail::shared_handle<const detail::ctx_node>::adopt(
      new detail::value_node<T>(detail::context_access::node(parent), key, std::move(value))));
}

}  // namespace goro
