// The runtime's memory pools (runtime/src/g_pool.hpp, stack.hpp), tested directly: slots
// cut from huge-page regions, stacks whose top page is resident when handed out, guard
// pages still below the stacks of a batch; and what a parked goroutine costs: its g slot
// and one page of its stack.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <vector>

#include <goro/goro.hpp>

#include "g_pool.hpp"
#include "goroutine.hpp"
#include "sched.hpp"
#include "stack.hpp"

#include "resident.hpp"

namespace {

using goro::detail::g;
using goro::detail::g_pool;
using goro::detail::stack_mem;
using goro::detail::stack_pool;
using goro_test::resident;

const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

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
  constexpr std::size_t kMany = 20'000;  // ~3.2 MB of slots: two 2 MiB regions
  pool.take(slots, kMany);
  REQUIRE(slots.size() == kMany);
  std::vector<std::uintptr_t> sorted;
  for (void* s : slots) sorted.push_back(reinterpret_cast<std::uintptr_t>(s));
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    CHECK(sorted[i] % 32 == 0);
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

TEST_CASE("stack_pool: a trim gives back the memory of the stacks unused for a period") {
  constexpr std::size_t kReserve = 4096;           // stack.cpp's kWarmReserve
  constexpr std::int64_t kPeriod = 1'000'000'000;  // stack.cpp's kTrimPeriodNs
  stack_pool pool(16 * 1024);
  std::vector<stack_mem> stacks;
  // A first batch with guard pages, then one too big for the guard budget (a sixth of
  // vm.max_map_count: 10,921 by default), whose stacks are adjacent: the trim gives back
  // both kinds, the adjacent ones a run at a time.
  pool.take(stacks, 40);
  pool.take(stacks, 11'000);
  for (const stack_mem& s : stacks) {
    s.top()[-1] = std::byte{1};
    s.base[0] = std::byte{1};
  }
  // The trim takes the stacks given first (the bottom of the pool's warm stack).
  const std::size_t trimmed = stacks.size() - kReserve;
  const auto kinds = std::count_if(stacks.begin(), stacks.begin() + trimmed,
                                   [](const stack_mem& s) { return s.guarded; });
  long max_maps = 0;
  std::ifstream("/proc/sys/vm/max_map_count") >> max_maps;
  if (max_maps / 6 < 11'000) CHECK(kinds == 40);  // the first batch guarded, the second not
  pool.give(stacks.data(), stacks.size());
  const std::int64_t t0 = 1'000'000 * kPeriod;
  CHECK(pool.trim(t0) == t0 + kPeriod);  // marks what is unused from now on
  CHECK(resident(stacks.front().base));  // nothing given back yet
  CHECK(pool.trim(t0 + kPeriod) == INT64_MAX);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < stacks.size(); ++i) {
    const bool kept = i >= trimmed;
    wrong += resident(stacks[i].base) != kept;
    wrong += resident(stacks[i].top() - 1) != kept;
  }
  CHECK(wrong == 0);
  // A trimmed stack is still mapped, and comes back zeroed.
  std::set<std::byte*> given_back;
  for (std::size_t i = 0; i < trimmed; ++i) given_back.insert(stacks[i].base);
  std::vector<stack_mem> again;
  pool.take(again, stacks.size());
  std::size_t zeroed = 0;
  for (const stack_mem& s : again) {
    if (given_back.count(s.base) != 0 && s.base[0] == std::byte{0}) ++zeroed;
    s.base[0] = std::byte{1};
  }
  CHECK(zeroed == trimmed);
  pool.give(again.data(), again.size());
}

// The memory target (4.3 KB per parked goroutine, bench MemParked100k) rests on this: a
// parked goroutine touches one page of its stack, with the started part of its state
// (g_on_stack) in that page, and its g is one small slot.
TEST_CASE("a parked goroutine touches one page of its stack, its started state at the top") {
  static_assert(sizeof(g) <= 160, "a g slot grew: MemParked100k will pass 4.3 KB");
  goro::run([] {
    auto c = goro::make_chan<int>();
    auto parked = goro::make_chan<g*>(1);
    goro::go([c, parked] {
      parked.send(goro::detail::current_g());
      c.recv();
    });
    g* gp = *parked.recv();
    goro::sleep(std::chrono::milliseconds(5));  // until it has parked in recv
    REQUIRE(gp->status.load() == goro::detail::g_status::waiting);
    const stack_mem& s = gp->stack;
    const auto* st = reinterpret_cast<const std::byte*>(&gp->on_stack());
    CHECK(st >= s.top() - kPage);
    CHECK(st + sizeof(goro::detail::g_on_stack) <= s.top());
    std::size_t touched = 0;
    for (std::byte* p = s.base; p < s.top(); p += kPage) touched += resident(p);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    CHECK(touched <= 2);  // the sanitizers' instrumentation makes every frame bigger
#else
    CHECK(touched == 1);
#endif
    c.send(1);
  });
}

// What bench/net's idle row rests on: a goroutine parked in conn.read on a TCP connection
// (the read that waits for the next request) keeps its frames, from its entry to the
// switch in park, in the top page of its stack, g_on_stack included. The depth is measured
// from the saved context (the stack pointer at the switch), not from which pages are
// resident, since a pooled stack may have been touched deeper by an earlier goroutine.
TEST_CASE("a goroutine parked in conn.read keeps its frames in one page of its stack") {
  goro::options opts;
  opts.threads = 1;  // the goroutine's context is saved before this one runs again
  goro::run(opts, [] {
    goro::net::listener ln = goro::net::listen("tcp", "127.0.0.1:0");
    goro::net::conn client = goro::net::dial("tcp", ln.addr().string());
    goro::net::conn server = ln.accept();
    auto parked = goro::make_chan<g*>(1);
    auto got = goro::make_chan<std::size_t>(1);
    goro::go([server, parked, got]() mutable {
      parked.send(goro::detail::current_g());
      std::byte buf[16];
      got.send(server.read(buf));
    });
    g* gp = *parked.recv();
    for (int i = 0; i < 5000 && gp->status.load() != goro::detail::g_status::waiting; ++i) {
      goro::sleep(std::chrono::milliseconds(1));
    }
    REQUIRE(gp->status.load() == goro::detail::g_status::waiting);
    const stack_mem& s = gp->stack;
    const auto* sp = static_cast<const std::byte*>(static_cast<const void*>(gp->ctx));
    REQUIRE(sp > s.base);
    REQUIRE(sp < s.top());
    const std::size_t depth = static_cast<std::size_t>(s.top() - sp);
    MESSAGE("conn.read parks ", depth, " bytes below the stack top");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    CHECK(depth <= 2 * kPage);  // the sanitizers' instrumentation makes every frame bigger
#else
    CHECK(depth <= kPage);
#endif
    client.write("x");
    CHECK(*got.recv() == 1);
  });
}
