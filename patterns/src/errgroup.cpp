#include <goro/errgroup.hpp>

#include <memory>
#include <string>
#include <utility>

#include <goro/detail/shared_handle_impl.hpp>
#include <goro/panic.hpp>

namespace goro {

// Out of line, as set_limit: inline, the three cost every file that includes goro.hpp
// 0.02 s of the compiler's time (docs/header_cost.md); none is on a hot path.
errgroup::errgroup() : s_(detail::to_handle(std::make_shared<detail::errgroup_state>())) {}

std::pair<errgroup, context> errgroup::with_context(const context& parent) {
  errgroup g;
  auto [ctx, cancel] = with_cancel_cause(parent);
  g.s_->cancel = std::move(cancel);
  return {std::move(g), std::move(ctx)};
}

std::exception_ptr errgroup::wait() {
  s_->wg.wait();
  s_->cancel(s_->err);
  return s_->err;
}

void errgroup::set_limit(std::ptrdiff_t n) {
  if (n < 0) {
    s_->sem = nullptr;
    return;
  }
  if (std::size_t active = s_->sem.len(); active != 0) {
    throw panic_error("errgroup: modify limit while " + std::to_string(active) +
                      " goroutines in the group are still active");
  }
  s_->sem = make_chan<unit>(static_cast<std::size_t>(n));
}

}  // namespace goro
