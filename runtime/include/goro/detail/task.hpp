// A move-only `void()` callable, for work the runtime stores and runs later (after_func).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace goro::detail {

class task {
 public:
  task() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, task>>>
  explicit task(F&& f) : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

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
  std::unique_ptr<concept_> impl_;
};

}  // namespace goro::detail
