// shared_owner's operations: a std::shared_ptr<const void> constructed in its bytes
// (runtime/include/goro/detail/shared_handle.hpp says why it is kept out of the headers).
#include <goro/detail/shared_handle_impl.hpp>

#include <memory>
#include <new>
#include <utility>

namespace goro::detail {

namespace {
using owner_ptr = std::shared_ptr<const void>;
static_assert(sizeof(owner_ptr) <= sizeof(shared_owner) &&
                  alignof(owner_ptr) <= alignof(shared_owner),
              "shared_owner's bytes must hold a std::shared_ptr");
}  // namespace

shared_owner::shared_owner() noexcept {
  ::new (bytes_) owner_ptr();
}

shared_owner::shared_owner(const shared_owner& other) noexcept {
  ::new (bytes_) owner_ptr(shared_handle_access::owner(other));
}

shared_owner::shared_owner(shared_owner&& other) noexcept {
  ::new (bytes_) owner_ptr(std::move(shared_handle_access::owner(other)));
}

shared_owner& shared_owner::operator=(const shared_owner& other) noexcept {
  shared_handle_access::owner(*this) = shared_handle_access::owner(other);
  return *this;
}

shared_owner& shared_owner::operator=(shared_owner&& other) noexcept {
  shared_handle_access::owner(*this) = std::move(shared_handle_access::owner(other));
  return *this;
}

shared_owner::~shared_owner() {
  shared_handle_access::owner(*this).~owner_ptr();
}

shared_owner shared_owner::adopt(const void* p, void (*destroy)(const void*)) {
  shared_owner o;
  shared_handle_access::owner(o) = owner_ptr(p, destroy);  // on bad_alloc, calls destroy(p)
  return o;
}

}  // namespace goro::detail
