// Whether a page is in memory: for the tests of memory given back to the kernel (stack
// pools, idle stacks shrunk). Header-only, so that gdb_helper can use it without doctest.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace goro_test {

// Whether the page holding `at` is resident (mincore), not given back or never touched.
inline bool resident(const void* at) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  unsigned char v = 0;
  const auto addr = reinterpret_cast<std::uintptr_t>(at) & ~(page - 1);
  return mincore(reinterpret_cast<void*>(addr), page, &v) == 0 && (v & 1) != 0;
}

}  // namespace goro_test
