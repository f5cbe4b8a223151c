// Between shared_handle<T> and std::shared_ptr<T>, for libgoro's .cpp files (a public
// header includes goro/detail/shared_handle.hpp alone: see there why).
#pragma once

#include <memory>
#include <utility>

#include <goro/detail/shared_handle.hpp>

namespace goro::detail {

struct shared_handle_access {
  static std::shared_ptr<const void>& owner(shared_owner& o) noexcept {
    return *std::launder(reinterpret_cast<std::shared_ptr<const void>*>(o.bytes_));
  }
  static const std::shared_ptr<const void>& owner(const shared_owner& o) noexcept {
    return *std::launder(reinterpret_cast<const std::shared_ptr<const void>*>(o.bytes_));
  }
  template <class T>
  static std::shared_ptr<T> to_shared(const shared_handle<T>& h) noexcept {
    return std::shared_ptr<T>(owner(h.owner_), h.p_);  // aliasing: the same owner
  }
  template <class T>
  static shared_handle<T> to_handle(std::shared_ptr<T> p) noexcept {
    shared_handle<T> h;
    h.p_ = p.get();
    owner(h.owner_) = std::move(p);
    return h;
  }
};

// The std::shared_ptr that h stands for (sharing its ownership), and back.
template <class T>
std::shared_ptr<T> to_shared(const shared_handle<T>& h) noexcept {
  return shared_handle_access::to_shared(h);
}
template <class T>
shared_handle<T> to_handle(std::shared_ptr<T> p) noexcept {
  return shared_handle_access::to_handle(std::move(p));
}

}  // namespace goro::detail
