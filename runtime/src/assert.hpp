// GORO_ASSERT(cond, message): the runtime's checked invariants.
//
// On wherever NDEBUG is not defined: the debug and debugoptimized builds, and the sanitizer
// builds of the test command. Compiled out in release builds (the root meson.build sets
// b_ndebug=if-release), where `cond` is not evaluated. A failed assertion is a bug in goro,
// never in the program: it prints the condition, the message and where, and aborts, so that
// a core dump or a sanitizer's report shows the stack.
//
//   GORO_ASSERT(w->rt == rt, "a worker of another runtime");
#pragma once

namespace goro::detail {

[[noreturn]] void assert_failed(const char* cond, const char* message, const char* file,
                                unsigned line) noexcept;

}  // namespace goro::detail

#ifdef NDEBUG
// sizeof: the condition's names still count as used, and nothing is evaluated.
#define GORO_ASSERT(cond, message) static_cast<void>(sizeof(!(cond)))
#else
#define GORO_ASSERT(cond, message) \
  ((cond) ? static_cast<void>(0)   \
          : ::goro::detail::assert_failed(#cond, message, __FILE__, __LINE__))
#endif
