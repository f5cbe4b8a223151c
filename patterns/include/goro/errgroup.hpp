// goro::errgroup — golang.org/x/sync/errgroup: goroutines working on subtasks of one task,
// with the first error returned and, optionally, a context canceled on it.
//
//   auto [g, ctx] = goro::errgroup::with_context(parent);
//   for (const std::string& url : urls) {
//     g.go([ctx, url]() -> std::error_code { return fetch(ctx, url); });
//   }
//   if (std::exception_ptr err = g.wait()) std::cout << goro::error_message(err) << "\n";
//
// The error type. Go's `func() error` becomes a function returning either
//   - void: it fails by throwing (any exception derived from std::exception is caught and
//     becomes its error, exactly as if it had been returned),
//   - std::error_code: non-zero is an error (kept as a std::system_error), or
//   - std::exception_ptr: non-null is an error.
// The group's error is a std::exception_ptr, so every one of these fits: wait() returns the
// first (null if none); rethrow it, read it with goro::error_message, or ask Go's errors.Is
// question with goro::errors_is(err, code) (result.hpp). The context of with_context() has
// that error as its cause (goro::cause(ctx)).
//
// Threads: go, try_go and wait may be called at once from any goroutines or threads; set the
// limit before starting goroutines. go and try_go throw as goro::go does (panic_error
// outside goro::run, std::bad_alloc). Reference: docs/reference.md §7.
#pragma once

#include <concepts>
#include <cstddef>
#include <exception>
#include <source_location>
#include <system_error>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/detail/shared_handle.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/select.hpp>
#include <goro/sync.hpp>

namespace goro {

namespace detail {

struct errgroup_state {
  wait_group wg;
  std::exception_ptr err;  // the first error; written once, under err_once
  once err_once;
  cancel_cause_func cancel;  // with_context only
  chan<unit> sem;            // set_limit: one token per active goroutine (nil: no limit)

  void fail(std::exception_ptr e) {
    err_once.call([&] {
      err = e;
      cancel(e);
    });
  }
};

// Runs f and turns what it returns or throws into an error (null: success).
template <class F>
std::exception_ptr run_for_error(F& f) {
  using R = std::invoke_result_t<F&>;
  try {
    if constexpr (std::is_void_v<R>) {
      f();
      return nullptr;
    } else if constexpr (std::is_convertible_v<R, std::error_code>) {
      std::error_code ec = f();
      return ec ? std::make_exception_ptr(std::system_error(ec)) : nullptr;
    } else {
      static_assert(std::is_convertible_v<R, std::exception_ptr>,
                    "errgroup: f must return void, std::error_code or std::exception_ptr");
      return f();
    }
  } catch (const std::exception&) {
    return std::current_exception();
  }
}

}  // namespace detail

class errgroup {
 public:
  // A group with no limit and no context (Go's zero Group).
  errgroup();
  errgroup(errgroup&&) noexcept = default;
  errgroup& operator=(errgroup&&) noexcept = default;
  errgroup(const errgroup&) = delete;
  errgroup& operator=(const errgroup&) = delete;

  // errgroup.WithContext: a group and a context derived from parent that is canceled the
  // first time a function of the group fails, or when wait() returns, whichever comes first.
  static std::pair<errgroup, context> with_context(const context& parent);

  // Runs f in a new goroutine. With a limit set, first blocks until the number of active
  // goroutines of the group is below it. The first error (see the top of this file) is
  // recorded and cancels the group's context.
  template <class F>
    requires std::invocable<std::decay_t<F>&>
  void go(F&& f, const std::source_location& where = std::source_location::current()) {
    chan<unit> sem = s_->sem;
    if (sem) sem.send(unit{});
    start(std::move(sem), std::forward<F>(f), where);
  }

  // Runs f in a new goroutine only if the limit allows it now; reports whether it did.
  // Never blocks.
  template <class F>
    requires std::invocable<std::decay_t<F>&>
  bool try_go(F&& f, const std::source_location& where = std::source_location::current()) {
    chan<unit> sem = s_->sem;
    if (sem && goro::select(on_send(sem, unit{}), on_default()) != 0) return false;
    start(std::move(sem), std::forward<F>(f), where);
    return true;
  }

  // Blocks until every function started by go has returned; returns the first error (null
  // if none). Cancels the context of with_context.
  std::exception_ptr wait();

  // At most n goroutines of the group active at once; a negative n: no limit. Changing the
  // limit while goroutines of the group are active throws panic_error, as Go panics.
  void set_limit(std::ptrdiff_t n);

 private:
  template <class F>
  void start(chan<unit> sem, F&& f, const std::source_location& where) {
    s_->wg.add(1);
    detail::spawn(0, where, [s = s_, sem = std::move(sem), f = std::forward<F>(f)]() mutable {
      struct finish {
        detail::errgroup_state& s;
        chan<unit>& sem;
        ~finish() {
          if (sem) sem.recv();
          s.wg.done();
        }
      } guard{*s, sem};
      if (std::exception_ptr e = detail::run_for_error(f)) s->fail(std::move(e));
    });
  }

  detail::shared_handle<detail::errgroup_state> s_;
};

}  // namespace goro
