// Declares std::stop_token and std::stop_source, which context.hpp's interop functions take
// and return, without defining them. In C++20, libstdc++'s <stop_token> brings <atomic>,
// <semaphore> and std::thread's header (hence <ostream>): ~110 M compiler instructions in
// every file that includes goro/goro.hpp, and with std::shared_ptr gone from the public
// headers the last path to <ostream> (docs/header_cost.md). A file that calls
// ctx.stop_token(), with_stop_token() or from_stop_source() names std::stop_token or
// std::stop_source, and so includes <stop_token> itself, as it would without goro.
//
// The declarations are libstdc++'s own (its version namespace, which is empty unless the
// library was built with a versioned namespace); any other library: <stop_token>. Not
// formatted: clang-format's namespace-comment fixer never settles on the visibility macro.
#pragma once

#include <version>  // defines __GLIBCXX__ and _GLIBCXX_INLINE_VERSION under libstdc++

#if defined(__GLIBCXX__) && !_GLIBCXX_INLINE_VERSION
// clang-format off
namespace std _GLIBCXX_VISIBILITY(default) {
_GLIBCXX_BEGIN_NAMESPACE_VERSION
class stop_token;
class stop_source;
_GLIBCXX_END_NAMESPACE_VERSION
}  // namespace std
// clang-format on
#else
#include <stop_token>
#endif
