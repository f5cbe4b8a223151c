// std::function, std::reference_wrapper and std::invoke (as goro::detail::invoke), which
// goro's headers use, without the rest of <functional>. In C++20, libstdc++'s <functional>
// also brings std::bind, the searchers (with <unordered_map>, <vector>, <array>) and
// <bits/stl_algo.h>: 0.31 s of the compiler's time in every file that includes it, against
// 0.07 s for <bits/std_function.h>, <bits/refwrap.h> and <bits/invoke.h>, its headers of
// these names (GCC 12). std::invoke itself is only in <functional>, so there
// goro::detail::invoke calls std::__invoke, which std::invoke is written with. Elsewhere,
// <functional>. Include <functional> yourself for the rest (std::invoke, std::bind, ...).
#pragma once

#if defined(__GLIBCXX__) && __has_include(<bits/std_function.h>) && \
    __has_include(<bits/refwrap.h>) && __has_include(<bits/invoke.h>)
#include <new>  // <bits/std_function.h> uses placement new without including <new>
#include <type_traits>
#include <utility>

#include <bits/invoke.h>
#include <bits/refwrap.h>
#include <bits/std_function.h>

namespace goro::detail {
// std::invoke.
template <class F, class... Args>
constexpr std::invoke_result_t<F, Args...> invoke(F&& f, Args&&... args) noexcept(
    std::is_nothrow_invocable_v<F, Args...>) {
  return std::__invoke(std::forward<F>(f), std::forward<Args>(args)...);
}
}  // namespace goro::detail
#else
#include <functional>

namespace goro::detail {
using std::invoke;
}  // namespace goro::detail
#endif
