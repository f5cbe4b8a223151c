// goro::context — Go's context package: cancellation, deadlines and request-scoped values
// that flow down a tree of calls and goroutines.
//
//   auto [ctx, cancel] = goro::with_timeout(goro::background(), 100ms);
//   goro::go([ctx] {
//     goro::select(goro::on_recv(ctx.done()),            // case <-ctx.Done():
//                  goro::on_recv(goro::after(1s)));
//     std::cout << ctx.err().message() << "\n";          // "context deadline exceeded"
//   });
//   ...
//   cancel();   // as `defer cancel()` in Go: releases the timer and the link to the parent
//
// A context is a cheap, copyable, immutable handle (a counted pointer to a node of the tree),
// safe to share between goroutines and threads. Canceling a context cancels, synchronously,
// every context derived from it; a derived context's deadline is never later than its
// parent's. Deadlines run on the runtime's timers (goro::after_func).
//
// Differences from Go, because C++ is not Go:
//   - There is no nil context: a default-constructed goro::context is background().
//   - Keys are typed objects compared by address (context_key<T>), so value() returns a
//     `const T*` and needs no type assertion. A key must outlive the contexts that use it
//     (declare keys `static` or at namespace scope, as Go declares them at package level).
//   - Go's `error` is std::error_code for err() (so `err() == context_errc::canceled`), and
//     std::exception_ptr for a cancellation cause (any exception can be a cause).
//   - Interop with C++20 cancellation: ctx.stop_token() is a std::stop_token that is stopped
//     when the context is done, and with_stop_token() / from_stop_source() derive a context
//     that is canceled when a std::stop_source is asked to stop. Include <stop_token> to
//     use them: this header only declares the two types (goro/detail/stop_token_fwd.hpp).
//
// Blocking, exceptions, threads (for every function below unless it says otherwise): none
// blocks (only receiving from done() waits, as on any channel); none throws anything but
// std::bad_alloc; every one may be called at once from any goroutine or thread, on shared
// contexts and cancel functions alike. Reference: docs/reference.md §6.
#pragma once

#include <concepts>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/detail/chrono.hpp>
#include <goro/detail/context_node.hpp>
#include <goro/detail/functional.hpp>
#include <goro/detail/shared_handle.hpp>
#include <goro/detail/stop_token_fwd.hpp>
#include <goro/detail/task.hpp>
#include <goro/time.hpp>
#include <goro/unit.hpp>

namespace goro {

// context.Canceled and context.DeadlineExceeded, as an error-code enum:
//   std::error_code e = goro::context_errc::canceled;   e.message() == "context canceled"
// They also compare equal to the portable conditions std::errc::operation_canceled and
// std::errc::timed_out (Go's DeadlineExceeded reports Timeout() == true).
enum class context_errc {
  canceled = 1,           // "context canceled"
  deadline_exceeded = 2,  // "context deadline exceeded"
};

const std::error_category& context_category() noexcept;
inline std::error_code make_error_code(context_errc e) noexcept {
  return {static_cast<int>(e), context_category()};
}

}  // namespace goro

template <>
struct std::is_error_code_enum<goro::context_errc> : std::true_type {};

namespace goro {

// A typed key for with_value / value, compared by identity (its address). Not copyable, so
// two keys are never equal by accident; the name is for diagnostics (context::string()).
//
//   static const goro::context_key<std::string> user_key{"user"};
//   auto ctx = goro::with_value(parent, user_key, "gopher");
//   if (const std::string* u = ctx.value(user_key)) ...
template <class T>
class context_key {
 public:
  explicit context_key(std::string name) : name_(std::move(name)) {}
  context_key(const context_key&) = delete;
  context_key& operator=(const context_key&) = delete;

  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

class context;
class cancel_func;
class cancel_cause_func;

namespace detail {
struct context_access;  // context_impl.hpp
shared_handle<const ctx_node> background_node();
// How many contexts (and context after_func registrations) are linked below the nearest
// cancelable node of ctx, waiting to be canceled with it. A test hook: it must return to
// its old value once the children are canceled.
std::size_t context_children(const context& ctx);
}  // namespace detail

// context.Context. See the top of this file.
class context {
 public:
  // background(): never canceled, no deadline, no values.
  context() : n_(detail::background_node()) {}

  // A channel closed when this context is canceled or its deadline passes: a nil channel
  // (never ready) for background(), todo() and without_cancel() contexts.
  recv_chan<unit> done() const;
  // Empty until done() is closed; then context_errc::canceled or deadline_exceeded.
  std::error_code err() const;
  // The time after which the context is canceled, if any.
  std::optional<clock::time_point> deadline() const noexcept { return n_->deadline(); }
  // The value of the nearest with_value(…, key, …) above, or nullptr.
  template <class T>
  const T* value(const context_key<T>& key) const noexcept {
    return static_cast<const T*>(n_->value(&key));
  }
  // A std::stop_token that is stopped once this context is done (for std::jthread and
  // friends); stop_possible() is false when the context can never be canceled.
  std::stop_token stop_token() const;
  // Go's String(), e.g. "context.Background.WithCancel.WithValue(user, val gopher)".
  std::string string() const { return n_->describe(); }

  // Two handles are equal when they denote the same context.
  friend bool operator==(const context& a, const context& b) noexcept { return a.n_ == b.n_; }

 private:
  friend struct detail::context_access;
  explicit context(detail::shared_handle<const detail::ctx_node> n) noexcept : n_(std::move(n)) {}

  detail::shared_handle<const detail::ctx_node> n_;
};

// context.Background() and context.TODO(): empty contexts, never canceled.
context background();
context todo();

// context.CancelFunc: cancels its context (and every context derived from it, before it
// returns, without waiting on anyone), closes its
// done() channel and sets err() to context_errc::canceled. Copyable; callable through a
// const reference, any number of times, from any goroutine or thread: only the first call
// acts. Call it as soon as the work is done (Go's `defer cancel()`): that unlinks the context
// from its parent and stops its timer. A default-constructed cancel_func does nothing.
class cancel_func {
 public:
  cancel_func() noexcept = default;
  void operator()() const;
  explicit operator bool() const noexcept { return n_ != nullptr; }

 private:
  friend struct detail::context_access;
  explicit cancel_func(detail::shared_handle<detail::cancel_node> n) noexcept : n_(std::move(n)) {}

  detail::shared_handle<detail::cancel_node> n_;
};

// context.CancelCauseFunc: like cancel_func, and records why. cause(ctx) returns the cause
// of the first call; a null cause records context_errc::canceled (as std::system_error).
//   cancel(std::make_exception_ptr(std::runtime_error("shutting down")));
//   cancel(std::runtime_error("shutting down"));          // the same
//   cancel(std::make_error_code(std::errc::io_error));    // as std::system_error
class cancel_cause_func {
 public:
  cancel_cause_func() noexcept = default;
  void operator()(std::exception_ptr cause = nullptr) const;
  void operator()(std::error_code cause) const;
  template <class E>
    requires std::derived_from<std::decay_t<E>, std::exception>
  void operator()(E&& cause) const {
    (*this)(std::make_exception_ptr(std::forward<E>(cause)));
  }
  explicit operator bool() const noexcept { return n_ != nullptr; }

 private:
  friend struct detail::context_access;
  explicit cancel_cause_func(detail::shared_handle<detail::cancel_node> n) noexcept
      : n_(std::move(n)) {}

  detail::shared_handle<detail::cancel_node> n_;
};

// context.WithCancel: a child of parent with its own cancel function. It is canceled when
// cancel is called or when parent is, whichever happens first.
std::pair<context, cancel_func> with_cancel(const context& parent);

// context.WithCancelCause (Go 1.20).
std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent);

// context.WithDeadline: also canceled, with context_errc::deadline_exceeded, at d. If the
// parent's deadline is earlier, the child simply keeps the parent's.
std::pair<context, cancel_func> with_deadline(const context& parent, clock::time_point d);
// context.WithTimeout: with_deadline(parent, now + d).
std::pair<context, cancel_func> with_timeout(const context& parent, clock::duration d);

// context.WithDeadlineCause / WithTimeoutCause (Go 1.21): when the deadline passes,
// cause(ctx) is `cause` (err() is still deadline_exceeded).
std::pair<context, cancel_func> with_deadline_cause(const context& parent, clock::time_point d,
                                                    std::exception_ptr cause);
std::pair<context, cancel_func> with_timeout_cause(const context& parent, clock::duration d,
                                                   std::exception_ptr cause);

// context.Cause (Go 1.20): null while ctx is not done; then the cause given to the
// cancel_cause_func (or to *_cause), or else a std::system_error holding ctx.err().
std::exception_ptr cause(const context& ctx);

// context.WithoutCancel (Go 1.21): the parent's values, but never canceled, no deadline.
context without_cancel(const context& parent);

// context.AfterFunc (Go 1.21): runs f() in its own goroutine once ctx is done (at once if it
// already is). The returned stop function unregisters f: it returns true if that call kept f
// from running, false if f had already been started or stopped. An exception escaping f is
// a panic, as in any goroutine.
std::function<bool()> after_func(const context& ctx, detail::task f);
template <class F>
  requires std::is_invocable_v<std::decay_t<F>&>
std::function<bool()> after_func(const context& ctx, F&& f) {
  return after_func(ctx, detail::task(std::forward<F>(f)));
}

// A child of parent that is also canceled (with context_errc::canceled) when `token` is
// asked to stop. The cancel function unlinks it from parent as usual.
std::pair<context, cancel_func> with_stop_token(const context& parent, std::stop_token token);
// A context canceled when `source` is asked to stop: with_stop_token(background(), …).
context from_stop_source(const std::stop_source& source);

// context.WithValue: a child of parent in which value(key) is `value`. Use it for
// request-scoped data that crosses API boundaries, not to pass optional parameters.
template <class T>
context with_value(const context& parent, const context_key<T>& key, std::type_identity_t<T> value);

}  // namespace goro

// The definitions of the templates above, and the implementation's access to the handles.
#include <goro/detail/context_impl.hpp>
