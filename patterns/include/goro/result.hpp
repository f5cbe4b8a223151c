// goro::result<T> — a value or the error that kept it from being computed.
//
//   goro::recv_chan<goro::result<response>> results = check_status(done, urls);
//   for (auto r : results) {
//     if (!r.has_value()) { std::cout << "error: " << goro::error_message(r.error()) << "\n";
//     continue; } std::cout << "Response: " << r.value().status << "\n";
//   }
//
// Go couples a goroutine's errors with its results (`type Result struct { Error error;
// Response *http.Response }`) so that the code that has the full picture decides what to do
// with them. In C++ the error is a std::exception_ptr: whatever the goroutine threw. Build
// one with try_invoke(f, args...), which catches it for you.
//
// Nothing here blocks. A result is a plain value (like std::variant): share it by copying
// it (through a channel, say), not by mutating one object from two threads.
#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <goro/detail/functional.hpp>

namespace goro {

// The what() of the exception e holds; "" for a null e.
std::string error_message(const std::exception_ptr& e);

// Go's errors.Is(err, target) for errors carried as a std::exception_ptr (errgroup::wait(),
// result<T>::error(), goro::cause(ctx)): true if err holds a std::system_error whose code()
// is `code`, or wraps one that is (std::throw_with_nested, at any depth). False for a null
// err and for other exceptions. With an error_condition (std::errc::timed_out), the code's
// category decides what is equivalent, as `ec == cond` does. Looks by rethrowing err inside
// a try block: never throws, never blocks.
//
//   if (goro::errors_is(g.wait(), goro::context_errc::canceled)) ...
bool errors_is(const std::exception_ptr& err, std::error_code code) noexcept;
bool errors_is(const std::exception_ptr& err, std::error_condition cond) noexcept;

template <class T>
class result {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::decay_t<T>, std::exception_ptr>,
                "goro::result<T>: T must be a value type other than std::exception_ptr");

 public:
  using value_type = T;

  // A value.
  result(T v) noexcept(std::is_nothrow_move_constructible_v<T>) : v_(std::in_place, std::move(v)) {}
  template <class U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, result> &&
             !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_convertible_v<U, std::exception_ptr> && std::is_constructible_v<T, U>)
  result(U&& v) : v_(std::in_place, std::forward<U>(v)) {}
  // An error. A null exception_ptr is a programming error: value() then throws
  // std::logic_error.
  result(std::exception_ptr e) noexcept : e_(std::move(e)) {}

  bool has_value() const noexcept { return v_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }

  // The value; if there is none, rethrows the error.
  T& value() & {
    check();
    return *v_;
  }
  const T& value() const& {
    check();
    return *v_;
  }
  T&& value() && {
    check();
    return std::move(*v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? *v_ : static_cast<T>(std::forward<U>(fallback));
  }

  // The error; null when there is a value.
  std::exception_ptr error() const noexcept { return e_; }

 private:
  void check() const {
    if (has_value()) return;
    if (e_) std::rethrow_exception(e_);
    throw std::logic_error("goro::result: holds neither a value nor an error");
  }
  // One of the two is set (neither for a null error). Not a std::variant: <variant> cost
  // every file that includes goro.hpp 0.02 s of the compiler's time (docs/header_cost.md).
  std::optional<T> v_;
  std::exception_ptr e_;
};

// result<void>: success, or an error.
template <>
class result<void> {
 public:
  using value_type = void;
  result() noexcept = default;
  result(std::exception_ptr e) noexcept : e_(std::move(e)) {}
  bool has_value() const noexcept { return !e_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (e_) std::rethrow_exception(e_);
  }
  std::exception_ptr error() const noexcept { return e_; }

 private:
  std::exception_ptr e_;
};

// Calls f(args...) and returns its value, or what it threw, as a result. Only exceptions
// derived from std::exception are caught (others, and the runtime's own unwinding at the end
// of goro::run, go through).
template <class F, class... Args>
  requires std::invocable<F, Args...>
auto try_invoke(F&& f, Args&&... args) -> result<std::invoke_result_t<F, Args...>> {
  using R = std::invoke_result_t<F, Args...>;
  try {
    if constexpr (std::is_void_v<R>) {
      detail::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      return result<void>();
    } else {
      return result<R>(detail::invoke(std::forward<F>(f), std::forward<Args>(args)...));
    }
  } catch (const std::exception&) {
    return result<R>(std::current_exception());
  }
}

}  // namespace goro
