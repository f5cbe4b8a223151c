// The runtime's memory pools (runtime/src/g_pool.hpp, stack.hpp), tested directly: slots
// cut from huge-page regions, stacks whose top page is resident when handed out, guard
// pages still below the stacks of a batch.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "g_pool.hpp"
#include "goroutine.hpp"
#include "stack.hpp"

namespace {

using goro::detail::g;
using goro::detail::g_pool;
using goro::detail::stack_mem;
using goro::detail::stack_pool;

const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

bool resident(const void* at) {
  unsigned char v = 0;
  auto addr = reinterpret_cast<std::uintptr_t>(at) & ~(kPage - 1);
  return mincore(reinterpret_cast<void*>(addr), kPage, &v) == 0 && (v & 1) != 0;
}

// Whether this kernel has MADV_POPULATE_WRITE (5.14).
bool kernel_populates() {
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const bool ok = madvise(p, kPage, 23 /* MADV_POPULATE_WRITE */) == 0;
  munmap(p, kPage);
  return ok;
}

}  // namespace

TEST_CASE("g_pool hands out distinct aligned slots across several regions, freed ones first") {
  g_pool pool;
  std::vector<void*> slots;
  constexpr std::size_t kMany = 20'000;  // ~9 MB of slots: five 2 MiB regions
  pool.take(slots, kMany);
  REQUIRE(slots.size() == kMany);
  std::vector<std::uintptr_t> sorted;
  for (void* s : slots) sorted.push_back(reinterpret_cast<std::uintptr_t>(s));
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    CHECK(sorted[i] % 64 == 0);
    if (i > 0) CHECK(sorted[i] - sorted[i - 1] >= sizeof(g));  // no two overlap
  }
  // Every slot is usable memory.
  for (void* s : slots) static_cast<char*>(s)[sizeof(g) - 1] = 1;
  pool.give(slots.data() + 10, 5);
  std::vector<void*> again;
  pool.take(again, 5);
  CHECK(std::set<void*>(again.begin(), again.end()) ==
        std::set<void*>(slots.begin() + 10, slots.begin() + 15));
}

TEST_CASE("stack_pool: stacks of a batch are distinct, top page resident, guard page below") {
  stack_pool pool(64 * 1024);
  std::vector<stack_mem> stacks;
  pool.take(stacks, 40);  // more than one mapping's worth
  REQUIRE(stacks.size() == 40);
  const bool populates = kernel_populates();
  for (std::size_t i = 0; i < stacks.size(); ++i) {
    const stack_mem& s = stacks[i];
    CHECK(s.size == 64 * 1024);
    if (populates) CHECK(resident(s.top() - 1));
    for (std::size_t j = 0; j < i; ++j) {
      const bool apart = s.top() <= stacks[j].base || stacks[j].top() <= s.base;
      CHECK(apart);
    }
    s.top()[-1] = std::byte{1};
    s.base[0] = std::byte{1};  // the whole stack is writable
  }
  // A write just below a guarded stack faults (the default configuration has guards for
  // the first ~10,000 stacks; these are among them).
  const stack_mem& s = stacks[7];
  REQUIRE(s.guarded);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The default action, not doctest's handler (inherited through fork), which is not
    // async-signal-safe: ThreadSanitizer reports it.
    ::signal(SIGSEGV, SIG_DFL);
    *reinterpret_cast<volatile char*>(s.base - 1) = 1;
    _exit(0);  // not reached
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
  pool.give(stacks.data(), stacks.size());
}
