// Which sanitizer this translation unit is built with: GORO_ASAN, GORO_TSAN (GCC defines
// __SANITIZE_*__, clang answers __has_feature).
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define GORO_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define GORO_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(GORO_ASAN)
#define GORO_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(GORO_TSAN)
#define GORO_TSAN 1
#endif
#endif
// Always defined, 0 or 1, so that the thread-safety build's -Wundef catches a file that
// tests them without including this header: `#if GORO_TSAN` would silently read 0 there
// (idle.cpp lost this include in the split of sched.cpp, and the deadlock check then never
// fired under ThreadSanitizer).
#ifndef GORO_ASAN
#define GORO_ASAN 0
#endif
#ifndef GORO_TSAN
#define GORO_TSAN 0
#endif

#if GORO_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if GORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#if GORO_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#include <cstddef>

namespace goro::detail {

// Makes [p, p + n) a root for LeakSanitizer (part of ASan here): memory the runtime keeps
// mapped for goroutines released at exit, whose stacks and g's still point to heap objects
// that nobody will free. The range must stay readable: a guard page in it would fault.
inline void lsan_add_root([[maybe_unused]] const void* p, [[maybe_unused]] std::size_t n) noexcept {
#if GORO_ASAN
  __lsan_register_root_region(p, n);
#endif
}

}  // namespace goro::detail
