// std::atomic's interface for goro's public headers, on the compiler's __atomic builtins.
//
//   detail::atomic<std::size_t> refs{1};
//   refs.fetch_add(1, detail::mo::relaxed);
//   if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();  // a .cpp may say so
//
// Why not std::atomic: in C++20, GCC 12's <atomic> brings <bits/atomic_wait.h> and with it
// a mutex, a condition variable and their company; every file that includes a goro header
// paid ~180 M compiler instructions for it (docs/header_cost.md). The public headers (a
// channel's reference count, the spinlock, sync's states) hold these instead; the
// runtime's .cpp files use std::atomic for everything of their own.
//
// The same generated code as std::atomic (libstdc++'s is these builtins too), and the same
// under ThreadSanitizer, which instruments the builtins. Memory orders are std::memory_order's
// values (both are the compiler's __ATOMIC_* constants), so a .cpp file may pass
// std::memory_order_acquire where a header says mo::acquire. Only what goro uses is here.
#pragma once

#include <type_traits>

namespace goro::detail {

// Memory orders, with std::memory_order's values.
enum class mo : int {
  relaxed = __ATOMIC_RELAXED,
  acquire = __ATOMIC_ACQUIRE,
  release = __ATOMIC_RELEASE,
  acq_rel = __ATOMIC_ACQ_REL,
  seq_cst = __ATOMIC_SEQ_CST,
};

// An order argument: mo, or std::memory_order (any enumeration whose values are the
// __ATOMIC_* constants; <atomic> is not included to name it).
template <class O>
concept memory_order_like = std::is_enum_v<O>;

template <class T>
class atomic {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8 &&
                    (sizeof(T) & (sizeof(T) - 1)) == 0,
                "goro::detail::atomic holds a word-sized trivially copyable value");

 public:
  constexpr atomic() noexcept : v_() {}
  constexpr atomic(T v) noexcept : v_(v) {}  // NOLINT: as std::atomic's
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  template <memory_order_like O = mo>
  T load(O o = O(mo::seq_cst)) const noexcept {
    return __atomic_load_n(&v_, static_cast<int>(o));
  }
  template <memory_order_like O = mo>
  void store(T v, O o = O(mo::seq_cst)) noexcept {
    __atomic_store_n(&v_, v, static_cast<int>(o));
  }
  template <memory_order_like O = mo>
  T exchange(T v, O o = O(mo::seq_cst)) noexcept {
    return __atomic_exchange_n(&v_, v, static_cast<int>(o));
  }

  // As std::atomic's one-order forms: on failure, `expected` is set to the value found, and
  // the failure order is std::atomic's (a failed exchange only loads).
  template <memory_order_like O = mo>
  bool compare_exchange_strong(T& expected, T desired, O o = O(mo::seq_cst)) noexcept {
    return cas(expected, desired, false, static_cast<int>(o));
  }
  template <memory_order_like O = mo>
  bool compare_exchange_weak(T& expected, T desired, O o = O(mo::seq_cst)) noexcept {
    return cas(expected, desired, true, static_cast<int>(o));
  }

  // Arithmetic on integers only (the builtins would count a pointer's steps in bytes).
  template <memory_order_like O = mo>
  T fetch_add(T d, O o = O(mo::seq_cst)) noexcept
    requires std::is_integral_v<T>
  {
    return __atomic_fetch_add(&v_, d, static_cast<int>(o));
  }
  template <memory_order_like O = mo>
  T fetch_sub(T d, O o = O(mo::seq_cst)) noexcept
    requires std::is_integral_v<T>
  {
    return __atomic_fetch_sub(&v_, d, static_cast<int>(o));
  }
  template <memory_order_like O = mo>
  T fetch_or(T d, O o = O(mo::seq_cst)) noexcept
    requires std::is_integral_v<T>
  {
    return __atomic_fetch_or(&v_, d, static_cast<int>(o));
  }

 private:
  bool cas(T& expected, T desired, bool weak, int order) noexcept {
    const int failure = order == __ATOMIC_ACQ_REL   ? __ATOMIC_ACQUIRE
                        : order == __ATOMIC_RELEASE ? __ATOMIC_RELAXED
                                                    : order;
    return __atomic_compare_exchange_n(&v_, &expected, desired, weak, order, failure);
  }

  alignas(sizeof(T)) T v_;
};

// A relaxed load of a plain variable that other threads write atomically (std::atomic_ref's
// load, which lives in <atomic>).
template <class T>
T load_relaxed(const T& v) noexcept {
  return __atomic_load_n(&v, __ATOMIC_RELAXED);
}

}  // namespace goro::detail
