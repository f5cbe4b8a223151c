// shared_handle<T>: a std::shared_ptr<T> that a public header can hold without including
// <memory>.
//
//   class conn { ... detail::shared_handle<detail::netfd> fd_; };          // a public handle
//   auto h = detail::shared_handle<const node>::adopt(new value_node(...)); // in a template
//   std::shared_ptr<netfd> p = detail::to_shared(fd_);                      // in a .cpp file
//
// Why: in C++20, libstdc++'s <bits/shared_ptr.h> includes <bits/unique_ptr.h>, which includes
// <ostream> (for a unique_ptr's operator<<); that was ~240 M compiler instructions in every
// file that includes goro/goro.hpp, for the handles of context, net and errgroup alone
// (docs/header_cost.md).
//
// The ownership is a std::shared_ptr<const void>: the same control block, counts, weak
// pointers and enable_shared_from_this as before; the pointer is kept beside it, so get()
// and -> cost what a shared_ptr's do. Copying, moving and destroying the owner are calls into
// libgoro (runtime/src/shared_handle.cpp), where std::shared_ptr is complete; libgoro's .cpp
// files convert with goro/detail/shared_handle_impl.hpp. Thread safety is std::shared_ptr's:
// distinct handles to one object may be copied and destroyed at once from any thread.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace goro::detail {

struct shared_handle_access;  // shared_handle_impl.hpp

// A std::shared_ptr<const void>'s ownership, in its own bytes. Never throws but in adopt.
class shared_owner {
 public:
  shared_owner() noexcept;  // owns nothing
  shared_owner(const shared_owner& other) noexcept;
  shared_owner(shared_owner&& other) noexcept;  // leaves other owning nothing
  shared_owner& operator=(const shared_owner& other) noexcept;
  shared_owner& operator=(shared_owner&& other) noexcept;
  ~shared_owner();

  // Owns p, which `destroy` frees with the last owner. Throws std::bad_alloc (for the
  // control block), having freed p.
  static shared_owner adopt(const void* p, void (*destroy)(const void*));

 private:
  friend struct shared_handle_access;
  alignas(void*) unsigned char bytes_[2 * sizeof(void*)];
};

template <class T>
class shared_handle {
 public:
  shared_handle() noexcept = default;
  shared_handle(std::nullptr_t) noexcept {}  // NOLINT: implicit, as shared_ptr's
  shared_handle(const shared_handle&) noexcept = default;
  shared_handle(shared_handle&& other) noexcept
      : p_(std::exchange(other.p_, nullptr)), owner_(std::move(other.owner_)) {}
  shared_handle& operator=(const shared_handle&) noexcept = default;
  shared_handle& operator=(shared_handle&& other) noexcept {
    owner_ = std::move(other.owner_);
    p_ = std::exchange(other.p_, nullptr);
    return *this;
  }
  // From a handle to a derived type, as shared_ptr<Base> from shared_ptr<Derived>.
  template <class U>
    requires std::is_convertible_v<U*, T*>
  shared_handle(const shared_handle<U>& other) noexcept  // NOLINT: implicit, as shared_ptr's
      : p_(other.p_), owner_(other.owner_) {}

  // A handle that owns p (from new) alone: the last copy deletes it.
  static shared_handle adopt(T* p) {
    shared_handle h;
    h.owner_ =
        shared_owner::adopt(p, [](const void* q) { delete static_cast<T*>(const_cast<void*>(q)); });
    h.p_ = p;
    return h;
  }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

  friend bool operator==(const shared_handle& a, const shared_handle& b) noexcept {
    return a.p_ == b.p_;
  }
  friend bool operator==(const shared_handle& a, std::nullptr_t) noexcept { return !a.p_; }

 private:
  template <class U>
  friend class shared_handle;
  friend struct shared_handle_access;

  T* p_ = nullptr;
  shared_owner owner_;
};

}  // namespace goro::detail
