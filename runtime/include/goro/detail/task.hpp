// A move-only `void()` callable, for work the runtime stores and runs later (after_func).
//
// It owns its callable through a plain pointer, not a std::unique_ptr: libstdc++'s
// <bits/unique_ptr.h> includes <ostream> in C++20, and this header is in time.hpp's and
// context.hpp's include path (see docs/header_cost.md).
#pragma once

#include <type_traits>
#include <utility>

namespace goro::detail {

class task {
 public:
  task() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, task>>>
  explicit task(F&& f) : impl_(new model<std::decay_t<F>>(std::forward<F>(f))) {}
  task(task&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      delete impl_;
      impl_ = std::exchange(o.impl_, nullptr);
    }
    return *this;
  }
  ~task() { delete impl_; }

  explicit operator bool() const noexcept { return impl_ != nullptr; }
  void operator()() { impl_->call(); }

 private:
  struct concept_ {
    virtual ~concept_() = default;
    virtual void call() = 0;
  };
  template <class F>
  struct model final : concept_ {
    explicit model(F f) : f(std::move(f)) {}
    void call() override { f(); }
    F f;
  };
  concept_* impl_ = nullptr;
};

}  // namespace goro::detail
