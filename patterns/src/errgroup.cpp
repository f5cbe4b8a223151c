#include <goro/errgroup.hpp>

#include <string>

#include <goro/panic.hpp>

namespace goro {

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
