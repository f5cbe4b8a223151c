// The runtime's internals, tested on their own through its internal headers: the legal
// status changes of a goroutine, GORO_ASSERT, which checks them in the builds that test, a
// worker's run queue (runq.hpp), the buffered channel's ring (chan_ring.hpp) and the timer
// heap (timer.hpp). None of them needs a running scheduler.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <csignal>
#include <cstdint>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <goro/detail/atomic.hpp>
#include <goro/detail/shared_handle_impl.hpp>

#include "assert.hpp"
#include "chan.hpp"
#include "chan_ring.hpp"
#include "goroutine.hpp"
#include "runq.hpp"
#include "timer.hpp"

namespace {

using goro::detail::g;
using goro::detail::g_status;
using goro::detail::legal_move;
using goro::detail::runq;

}  // namespace

TEST_CASE("legal_move allows Go's status changes and no others") {
  using s = g_status;
  CHECK(legal_move(s::runnable, s::running));
  CHECK(legal_move(s::running, s::waiting));
  CHECK(legal_move(s::running, s::runnable));  // yield
  CHECK(legal_move(s::waiting, s::runnable));  // ready
  CHECK(legal_move(s::waiting, s::running));   // unwound at exit
  CHECK(legal_move(s::running, s::dead));
  CHECK(legal_move(s::waiting, s::released));
  CHECK(legal_move(s::runnable, s::released));

  CHECK_FALSE(legal_move(s::runnable, s::runnable));  // readied twice
  CHECK_FALSE(legal_move(s::runnable, s::waiting));   // parks without running
  CHECK_FALSE(legal_move(s::waiting, s::waiting));
  CHECK_FALSE(legal_move(s::waiting, s::dead));
  CHECK_FALSE(legal_move(s::dead, s::running));  // a use after exit
  CHECK_FALSE(legal_move(s::dead, s::released));
  CHECK_FALSE(legal_move(s::released, s::runnable));
}

// Runs f in a child process with stderr in a pipe; returns what it wrote, and its status.
template <class F>
std::string in_child(F f, int& status) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGABRT, SIG_DFL);  // not doctest's handler, which is not async-signal-safe
    dup2(fds[1], 2);
    f();
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fds[0]);
  REQUIRE(waitpid(child, &status, 0) == child);
  return out;
}

TEST_CASE("set_status: an illegal change is an assertion failure where assertions are on") {
  int status = 0;
  const std::string err = in_child(
      [] {
        g gp;
        gp.status.store(g_status::dead);
        set_status(&gp, g_status::running);  // a goroutine resumed after its exit
      },
      status);
#ifdef NDEBUG
  CHECK(WIFEXITED(status));  // compiled out: release builds check nothing
#else
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(err.find("goro: internal error: GORO_ASSERT(") != std::string::npos);
  CHECK(err.find("an illegal change of a goroutine's status") != std::string::npos);
#endif
}

TEST_CASE("set_status: a legal change is only a store") {
  g gp;
  set_status(&gp, g_status::running);
  set_status(&gp, g_status::waiting);
  set_status(&gp, g_status::runnable);
  CHECK(gp.status.load() == g_status::runnable);
}

// ---------------------------------------------------------------------------------------
// The run queue (runq.hpp). Only pointers are queued, so default-constructed g's stand in
// for goroutines. A runq is 2 KiB of slots: each test makes its own on the heap.

namespace {

// kSize + 1 distinct goroutines, more than a queue holds.
struct fake_gs {
  std::vector<g> gs = std::vector<g>(runq::kSize + 1);
  g* operator[](std::size_t i) { return &gs[i]; }
};

// Pops everything (runnext first) into a vector.
std::vector<g*> drain(runq& q) {
  std::vector<g*> out;
  while (g* gp = q.pop()) out.push_back(gp);
  return out;
}

}  // namespace

TEST_CASE("runq: a new queue is empty") {
  auto q = std::make_unique<runq>();
  CHECK(q->empty());
  CHECK(q->pop() == nullptr);
  CHECK(q->peek() == nullptr);
  CHECK(q->peek_next() == nullptr);
}

TEST_CASE("runq: push and pop are first in, first out") {
  fake_gs gs;
  auto q = std::make_unique<runq>();
  for (int i = 0; i < 5; ++i) REQUIRE(q->push(gs[i]));
  CHECK_FALSE(q->empty());
  CHECK(q->peek() == gs[0]);
  CHECK(q->peek(4) == gs[4]);
  CHECK(q->peek(5) == nullptr);  // past the tail
  CHECK(q->peek_next() == nullptr);
  const std::vector<g*> want{gs[0], gs[1], gs[2], gs[3], gs[4]};
  CHECK(drain(*q) == want);
  CHECK(q->empty());
}

TEST_CASE("runq: runnext runs before the queue, and push_next displaces the one there") {
  fake_gs gs;
  auto q = std::make_unique<runq>();
  REQUIRE(q->push(gs[0]));
  REQUIRE(q->push(gs[1]));
  CHECK(q->push_next(gs[2]) == nullptr);
  CHECK(q->peek_next() == gs[2]);
  CHECK(q->peek() == gs[0]);  // peek looks at the queue only, after runnext
  // The displaced goroutine is the caller's to queue (Go's runqput kicks it to the tail).
  g* displaced = q->push_next(gs[3]);
  CHECK(displaced == gs[2]);
  REQUIRE(q->push(displaced));
  const std::vector<g*> want{gs[3], gs[0], gs[1], gs[2]};
  CHECK(drain(*q) == want);
  CHECK(q->peek_next() == nullptr);
  CHECK(q->empty());

  // runnext alone makes the queue non-empty.
  q->push_next(gs[4]);
  CHECK_FALSE(q->empty());
  CHECK(q->pop() == gs[4]);
  CHECK(q->empty());
}

TEST_CASE("runq: holds kSize goroutines; push fails past that and changes nothing") {
  fake_gs gs;
  auto q = std::make_unique<runq>();
  for (std::uint32_t i = 0; i < runq::kSize; ++i) REQUIRE(q->push(gs[i]));
  CHECK_FALSE(q->push(gs[runq::kSize]));
  CHECK(q->peek(runq::kSize - 1) == gs[runq::kSize - 1]);
  CHECK(q->peek(runq::kSize) == nullptr);
  // runnext is not a slot of the queue: a full queue still takes it.
  CHECK(q->push_next(gs[runq::kSize]) == nullptr);
  std::vector<g*> got = drain(*q);
  REQUIRE(got.size() == runq::kSize + 1);
  CHECK(got[0] == gs[runq::kSize]);
  for (std::uint32_t i = 0; i < runq::kSize; ++i) CHECK(got[i + 1] == gs[i]);
}

TEST_CASE("runq: take_half_for_overflow removes the older half, and the queue goes on") {
  fake_gs gs;
  auto q = std::make_unique<runq>();
  for (std::uint32_t i = 0; i < runq::kSize; ++i) REQUIRE(q->push(gs[i]));
  REQUIRE_FALSE(q->push(gs[runq::kSize]));
  std::array<g*, runq::kSize> batch{};
  const std::uint32_t n = q->take_half_for_overflow(batch.data());
  REQUIRE(n == runq::kSize / 2);
  for (std::uint32_t i = 0; i < n; ++i) CHECK(batch[i] == gs[i]);
  CHECK(q->peek() == gs[n]);
  // Room again, and the order holds across the wrap of the slot array.
  REQUIRE(q->push(gs[runq::kSize]));
  std::vector<g*> got = drain(*q);
  REQUIRE(got.size() == runq::kSize - n + 1);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == gs[n + i]);
}

TEST_CASE("runq: the slots wrap around many times in order") {
  fake_gs gs;
  auto q = std::make_unique<runq>();
  std::size_t next_in = 0, next_out = 0;
  // Keep 100 queued while 10 laps of the slot array go through.
  for (int step = 0; step < 10 * static_cast<int>(runq::kSize); ++step) {
    REQUIRE(q->push(gs[next_in++ % gs.gs.size()]));
    if (next_in > 100) {
      g* gp = q->pop();
      REQUIRE(gp == gs[next_out++ % gs.gs.size()]);
    }
  }
  CHECK(drain(*q).size() == 100);
}

TEST_CASE("runq: steal_from takes half of the victim's queue, rounding up, oldest first") {
  fake_gs gs;
  for (std::uint32_t queued : {1u, 2u, 7u, 64u, runq::kSize}) {
    CAPTURE(queued);
    auto victim = std::make_unique<runq>();
    auto thief = std::make_unique<runq>();
    for (std::uint32_t i = 0; i < queued; ++i) REQUIRE(victim->push(gs[i]));
    const std::uint32_t taken = queued - queued / 2;
    // The thief runs the last one it took and queues the others, in order.
    g* run = thief->steal_from(*victim);
    CHECK(run == gs[taken - 1]);
    std::vector<g*> thief_q = drain(*thief);
    REQUIRE(thief_q.size() == taken - 1);
    for (std::uint32_t i = 0; i + 1 < taken; ++i) CHECK(thief_q[i] == gs[i]);
    std::vector<g*> victim_q = drain(*victim);
    REQUIRE(victim_q.size() == queued - taken);
    for (std::uint32_t i = 0; i < victim_q.size(); ++i) CHECK(victim_q[i] == gs[taken + i]);
  }
}

TEST_CASE("runq: steal_from appends to what the thief already has") {
  fake_gs gs;
  auto victim = std::make_unique<runq>();
  auto thief = std::make_unique<runq>();
  REQUIRE(thief->push(gs[100]));
  for (std::uint32_t i = 0; i < 10; ++i) REQUIRE(victim->push(gs[i]));
  CHECK(thief->steal_from(*victim) == gs[4]);
  const std::vector<g*> want{gs[100], gs[0], gs[1], gs[2], gs[3]};
  CHECK(drain(*thief) == want);
}

TEST_CASE("runq: steal_from takes runnext only when the queue is empty and it is `next`") {
  fake_gs gs;
  auto victim = std::make_unique<runq>();
  auto thief = std::make_unique<runq>();
  victim->push_next(gs[0]);
  // Without `next`, runnext is not taken.
  CHECK(thief->steal_from(*victim) == nullptr);
  CHECK(victim->peek_next() == gs[0]);
  // With a stale `next` (the owner ran the one the thief saw, and readied another) neither.
  CHECK(thief->steal_from(*victim, gs[1]) == nullptr);
  CHECK(victim->peek_next() == gs[0]);
  // With the one it saw: taken, and the thief's queue stays empty.
  CHECK(thief->steal_from(*victim, gs[0]) == gs[0]);
  CHECK(victim->peek_next() == nullptr);
  CHECK(victim->empty());
  CHECK(thief->empty());

  // A non-empty queue is stolen from instead, and runnext stays with its owner.
  victim->push_next(gs[5]);
  REQUIRE(victim->push(gs[6]));
  CHECK(thief->steal_from(*victim, gs[5]) == gs[6]);
  CHECK(victim->peek_next() == gs[5]);
  CHECK(thief->empty());
}

TEST_CASE("runq: an empty victim gives nothing") {
  auto victim = std::make_unique<runq>();
  auto thief = std::make_unique<runq>();
  CHECK(thief->steal_from(*victim) == nullptr);
  CHECK(thief->empty());
}

TEST_CASE("runq: concurrent thieves and the owner pop each goroutine exactly once") {
  // The invariant "the owner and thieves pop by CAS on head_": nothing is lost or doubled.
  constexpr std::uint32_t kTotal = 20000;
  std::vector<g> gs(kTotal);
  auto owner = std::make_unique<runq>();
  std::array<std::unique_ptr<runq>, 2> thieves{std::make_unique<runq>(), std::make_unique<runq>()};
  std::atomic<bool> done{false};
  std::array<std::vector<g*>, 2> stolen;
  std::vector<std::thread> ts;
  for (int k = 0; k < 2; ++k) {
    ts.emplace_back([&, k] {
      for (;;) {
        const bool last = done.load(std::memory_order_acquire);
        if (g* gp = thieves[k]->steal_from(*owner)) {
          stolen[k].push_back(gp);
          while (g* more = thieves[k]->pop()) stolen[k].push_back(more);
        } else if (last) {
          return;
        }
      }
    });
  }
  std::vector<g*> popped;
  for (std::uint32_t i = 0; i < kTotal; ++i) {
    while (!owner->push(&gs[i])) {
      if (g* gp = owner->pop()) popped.push_back(gp);
    }
    if (i % 3 == 0) {
      if (g* gp = owner->pop()) popped.push_back(gp);
    }
  }
  done.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  while (g* gp = owner->pop()) popped.push_back(gp);
  std::set<g*> seen(popped.begin(), popped.end());
  std::size_t count = popped.size();
  for (auto& s : stolen) {
    seen.insert(s.begin(), s.end());
    count += s.size();
  }
  CHECK(count == kTotal);
  CHECK(seen.size() == kTotal);
}

// ---------------------------------------------------------------------------------------
// The timer heap (timer.hpp, timer.cpp). `call` timers fire without a scheduler: run_due
// calls t->call(t->call_arg, t->call_seq) on the calling thread, so call_seq carries each
// timer's id into a log of the firing order.

namespace {

using goro::detail::timer_heap;
using goro::detail::timer_kind;
using goro::detail::timer_state;

bool log_firing(void* arg, std::uint64_t id) noexcept {
  static_cast<std::vector<int>*>(arg)->push_back(static_cast<int>(id));
  return false;  // readied no goroutine: run_due wakes no worker
}

// n call timers that log to `fired`; the test keeps one reference to each (refs == 1).
struct timers {
  explicit timers(int n) {
    for (int i = 0; i < n; ++i) {
      auto* t = new timer_state;
      t->kind = timer_kind::call;
      t->call = log_firing;
      t->call_arg = &fired;
      t->call_seq = static_cast<std::uint64_t>(i);
      ts.push_back(t);
    }
  }
  ~timers() {
    for (timer_state* t : ts) goro::detail::timer_release(t);
  }
  timer_state* operator[](std::size_t i) const { return ts[i]; }
  std::vector<timer_state*> ts;
  std::vector<int> fired;
};

}  // namespace

TEST_CASE("timer_heap: fires in deadline order; earliest() is the first deadline") {
  timer_heap h;
  timers t(6);
  CHECK(h.earliest() == INT64_MAX);
  const std::int64_t deadlines[6] = {50, 20, 60, 10, 40, 30};
  bool first[6];
  for (int i = 0; i < 6; ++i) first[i] = h.add(t[i], deadlines[i], deadlines[i]);
  // add reports whether the timer became the first one.
  CHECK(first[0]);
  CHECK(first[1]);
  CHECK_FALSE(first[2]);
  CHECK(first[3]);
  CHECK_FALSE(first[4]);
  CHECK_FALSE(first[5]);
  CHECK(h.earliest() == 10);
  for (int i = 0; i < 6; ++i) {
    CHECK(t[i]->heap.load() == &h);  // t->heap is the heap holding t
    CHECK(t[i]->refs.load() == 2);   // the heap holds one reference
    CHECK(t[i]->when == deadlines[i]);
  }

  // Nothing is due before the first deadline; each run fires exactly the due ones.
  CHECK(h.run_due(9, false) == 0);
  CHECK(t.fired.empty());
  CHECK(h.run_due(35, false) == 3);
  CHECK(t.fired == std::vector<int>{3, 1, 5});
  CHECK(h.earliest() == 40);
  CHECK(t[3]->heap.load() == nullptr);
  CHECK(t[3]->refs.load() == 1);  // the popped timer's reference went to its delivery
  CHECK(t[4]->heap.load() == &h);
  CHECK(h.run_due(1000, false) == 3);
  CHECK(t.fired == std::vector<int>{3, 1, 5, 4, 0, 2});
  CHECK(h.earliest() == INT64_MAX);
  for (int i = 0; i < 6; ++i) {
    CHECK(t[i]->heap.load() == nullptr);
    CHECK(t[i]->refs.load() == 1);
  }
}

TEST_CASE("timer_heap: a timer fires past its `when` (coalesced), never before it") {
  timer_heap h;
  timers t(2);
  h.add(t[0], 100, 200);  // may fire from 100, must by 200
  h.add(t[1], 300, 400);
  CHECK(h.earliest() == 200);  // earliest is the deadline: when someone must run them
  CHECK(h.run_due(99, false) == 0);
  CHECK(h.run_due(150, false) == 1);  // past `when`, before the deadline: fires with others
  CHECK(t.fired == std::vector<int>{0});
  CHECK(h.run_due(299, false) == 0);
  CHECK(h.run_due(300, false) == 1);
  CHECK(t.fired == std::vector<int>{0, 1});
}

TEST_CASE("timer_heap: equal deadlines all fire, between the earlier and the later") {
  timer_heap h;
  timers t(8);
  h.add(t[0], 70, 70);
  for (int i = 1; i <= 6; ++i) h.add(t[i], 50, 50);
  h.add(t[7], 10, 10);
  CHECK(h.earliest() == 10);
  CHECK(h.run_due(50, false) == 7);
  REQUIRE(t.fired.size() == 7);
  CHECK(t.fired[0] == 7);
  std::vector<int> ties(t.fired.begin() + 1, t.fired.end());
  std::sort(ties.begin(), ties.end());
  CHECK(ties == std::vector<int>{1, 2, 3, 4, 5, 6});
  CHECK(h.earliest() == 70);
  CHECK(h.run_due(70, false) == 1);
  CHECK(t.fired.back() == 0);
}

TEST_CASE("timer_heap: remove from the middle, twice, and from another heap") {
  timer_heap h, other;
  timers t(40);
  // Deadlines in a scrambled order (7 and 40 are coprime): a 4-ary heap three levels deep.
  for (int i = 0; i < 40; ++i) h.add(t[i], (i * 7) % 40 * 10, (i * 7) % 40 * 10);
  std::set<int> removed;
  for (int i = 1; i < 40; i += 3) {
    CHECK(h.remove(t[i]));
    CHECK(t[i]->heap.load() == nullptr);
    CHECK(t[i]->refs.load() == 1);  // the heap's reference was dropped
    removed.insert(i);
  }
  CHECK_FALSE(h.remove(t[1]));      // not here any more
  CHECK_FALSE(other.remove(t[0]));  // held by another heap: untouched
  CHECK(t[0]->heap.load() == &h);
  CHECK(t[0]->refs.load() == 2);
  CHECK(h.earliest() == 0);  // t[0]'s deadline, the least

  CHECK(h.run_due(INT64_MAX - 1, false) == 40 - static_cast<int>(removed.size()));
  REQUIRE(t.fired.size() == 40 - removed.size());
  std::int64_t last = -1;
  for (int id : t.fired) {
    CHECK(removed.count(id) == 0);
    const std::int64_t d = (id * 7) % 40 * 10;
    CHECK(d >= last);
    last = d;
  }
}

TEST_CASE("timer_heap: a removed timer added again fires at its new deadline") {
  timer_heap h;
  timers t(5);
  for (int i = 0; i < 5; ++i) h.add(t[i], (i + 1) * 100, (i + 1) * 100);
  // Modify: t[0] from first to last, t[4] from last to first, t[2] in the middle to later.
  const std::uint32_t slot0 = t[0]->heap_slot;
  REQUIRE(h.remove(t[0]));
  CHECK(h.earliest() == 200);
  CHECK_FALSE(h.add(t[0], 900, 900));
  CHECK(t[0]->heap_slot == slot0);  // the freed slot is reused
  REQUIRE(h.remove(t[4]));
  CHECK(h.add(t[4], 50, 50));
  CHECK(h.earliest() == 50);
  REQUIRE(h.remove(t[2]));
  h.add(t[2], 450, 450);
  for (int i = 0; i < 5; ++i) CHECK(t[i]->refs.load() == 2);  // one reference each, no more
  CHECK(h.run_due(1000, false) == 5);
  CHECK(t.fired == std::vector<int>{4, 1, 3, 2, 0});
}

TEST_CASE("timer_heap: a firing armed before a stop (seq bumped) is popped, not delivered") {
  timer_heap h;
  timers t(2);
  h.add(t[0], 10, 10);
  h.add(t[1], 20, 20);
  t[0]->seq.fetch_add(1);  // what stop and reset do, under t->mu
  CHECK(h.run_due(100, false) == 2);
  CHECK(t.fired == std::vector<int>{1});
  CHECK(t[0]->heap.load() == nullptr);
  CHECK(t[0]->refs.load() == 1);
  CHECK(t[0]->sending.load() == 0);  // delivery finished
}

TEST_CASE("timer_heap: clear drops every timer without firing it") {
  timer_heap h;
  timers t(10);
  for (int i = 0; i < 10; ++i) h.add(t[i], i, i);
  h.clear();
  CHECK(h.earliest() == INT64_MAX);
  CHECK(h.run_due(INT64_MAX - 1, false) == 0);
  CHECK(t.fired.empty());
  for (int i = 0; i < 10; ++i) {
    CHECK(t[i]->heap.load() == nullptr);
    CHECK(t[i]->refs.load() == 1);
  }
  // The heap is usable again.
  CHECK(h.add(t[3], 5, 5));
  CHECK(h.run_due(5, false) == 1);
  CHECK(t.fired == std::vector<int>{3});
}

TEST_CASE("timer_heap: random adds, removes and re-adds keep the heap order") {
  timer_heap h;
  constexpr int kN = 500;
  timers t(kN);
  std::vector<std::int64_t> deadline(kN, -1);  // -1: not in the heap
  std::uint64_t rng = 12345;
  auto next = [&] {
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    return rng >> 33;
  };
  for (int op = 0; op < 5000; ++op) {
    const int i = static_cast<int>(next() % kN);
    if (deadline[i] < 0) {
      deadline[i] = static_cast<std::int64_t>(next() % 1000);  // many ties
      h.add(t[i], deadline[i], deadline[i]);
    } else if (next() % 2) {
      REQUIRE(h.remove(t[i]));
      deadline[i] = -1;
    } else {  // modify
      REQUIRE(h.remove(t[i]));
      deadline[i] = static_cast<std::int64_t>(next() % 1000);
      h.add(t[i], deadline[i], deadline[i]);
    }
    if (op % 500 == 0) {
      std::int64_t least = INT64_MAX;
      for (std::int64_t d : deadline)
        if (d >= 0) least = std::min(least, d);
      REQUIRE(h.earliest() == least);
    }
  }
  std::size_t in_heap = 0;
  for (int i = 0; i < kN; ++i) {
    CHECK((t[i]->heap.load() == &h) == (deadline[i] >= 0));
    in_heap += deadline[i] >= 0;
  }
  // Fire in steps: each step fires exactly the timers due by then, in deadline order.
  std::size_t fired = 0;
  for (std::int64_t now = 0; now < 1000; now += 37) {
    const std::size_t before = t.fired.size();
    h.run_due(now, false);
    for (std::size_t k = before; k < t.fired.size(); ++k) {
      CHECK(deadline[t.fired[k]] <= now);
      if (k > 0) CHECK(deadline[t.fired[k - 1]] <= deadline[t.fired[k]]);
    }
    CHECK(h.earliest() > now);
    fired = t.fired.size();
  }
  fired += static_cast<std::size_t>(h.run_due(1000, false));
  CHECK(fired == in_heap);
}

// ---------------------------------------------------------------------------------------
// The buffered channel's ring (chan_ring.hpp): a plain lock-free queue that knows nothing of
// channels or waiters, so it is driven here on memory of the test's own, on plain threads.
// What ties it to a channel's waiters (chan.cpp) is left to the channel tests, except the
// closed bit, which a channel's close sets.

namespace {

namespace ring = goro::detail::ring;
using goro::detail::elem_ops;
using goro::detail::elem_ops_for;
using goro::detail::ring_pos;
using ring::push_result;

// A ring of capacity cap of T, in memory this object owns.
struct test_ring {
  explicit test_ring(std::size_t cap, const elem_ops* ops)
      : slots(static_cast<std::byte*>(
            ::operator new(cap* ring::layout_of(ops).stride, std::align_val_t{64}))),
        q(ring::plain_mem{ring::create(&pos, slots, cap, ops), slots, cap, ring::layout_of(ops),
                          ops}) {}
  ~test_ring() {
    q.clear();
    ::operator delete(slots, std::align_val_t{64});
  }
  test_ring(const test_ring&) = delete;
  test_ring& operator=(const test_ring&) = delete;

  // ring_pos is constructed by ring::create.
  union {
    ring_pos pos;
  };
  std::byte* slots;
  ring::queue<ring::plain_mem> q;
};

struct int_ring : test_ring {
  explicit int_ring(std::size_t cap) : test_ring(cap, &elem_ops_for<int>) {}
  push_result push(int v) { return q.push(&v); }
};

// The invariant head <= tail <= head + cap, and size(), empty() and full() agreeing with it.
template <class Q>
void check_positions(const Q& q, std::size_t want_size) {
  const std::uint64_t h = q.positions()->head.load();
  const std::uint64_t t = q.positions()->tail.load() & ring::kPosMask;
  CHECK((h & ring::kIndexMask) < q.capacity());
  CHECK((t & ring::kIndexMask) < q.capacity());
  const std::int64_t d = ring::pos_diff(t, h);
  CHECK(d >= 0);
  CHECK(d <= static_cast<std::int64_t>(ring::kLap));  // within one lap
  CHECK(q.size() == want_size);
  CHECK(q.empty() == (want_size == 0));
  CHECK(q.full() == (want_size == q.capacity()));
}

// Counts its live objects, so that a test sees every element destroyed exactly once.
struct counted {
  static inline int live = 0;
  int v;
  explicit counted(int v) : v(v) { ++live; }
  counted(counted&& o) noexcept : v(o.v) {
    o.v = -1;
    ++live;
  }
  counted(const counted&) = delete;
  ~counted() { --live; }
};

}  // namespace

TEST_CASE("ring: positions and their arithmetic") {
  CHECK(ring::pos_diff(5, 3) == 2);
  CHECK(ring::pos_diff(3, 5) == -2);
  // Across the wrap of the 63 bits.
  CHECK(ring::pos_diff(1, ring::kPosMask) == 2);
  CHECK(ring::pos_diff(ring::kPosMask, 1) == -2);
  int_ring r(3);
  CHECK(r.q.capacity() == 3);
  // next_pos steps through the indexes, then to index 0 of the next lap, then wraps.
  const std::uint64_t p = ring::kFirstPos;
  CHECK(r.q.next_pos(p) == p + 1);
  CHECK(r.q.next_pos(p + 2) == p + ring::kLap);
  const std::uint64_t last_lap = ring::kPosMask & ~ring::kIndexMask;
  CHECK(r.q.next_pos(last_lap + 2) == 0);
  // A new ring starts at kFirstPos, every slot free for the push of the first lap.
  CHECK(r.pos.head.load() == ring::kFirstPos);
  CHECK(r.pos.tail.load() == ring::kFirstPos);
  for (std::uint64_t i = 0; i < 3; ++i) CHECK(r.q.seq_of(p + i).load() == p + i);
}

TEST_CASE("ring: the slot layout fits the element's size and alignment") {
  struct alignas(32) wide {
    char c[40];
  };
  const ring::layout li = ring::layout_of(&elem_ops_for<int>);
  CHECK(li.value_offset == 8);
  CHECK(li.stride == 16);
  const ring::layout lw = ring::layout_of(&elem_ops_for<wide>);
  CHECK(lw.value_offset == 32);
  CHECK(lw.stride == 96);
  const ring::layout lc = ring::layout_of(&elem_ops_for<char>);
  CHECK(lc.value_offset == 8);
  CHECK(lc.stride == 16);
}

TEST_CASE("ring: first in, first out; full at cap; empty after") {
  int_ring r(4);
  check_positions(r.q, 0);
  int out = -1;
  CHECK_FALSE(r.q.pop(&out));
  CHECK(out == -1);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(r.push(10 + i) == push_result::pushed);
    check_positions(r.q, static_cast<std::size_t>(i + 1));
  }
  CHECK(r.push(99) == push_result::full);
  check_positions(r.q, 4);
  // The slot sequence numbers: pos + 1, published for the pop at pos.
  for (std::uint64_t i = 0; i < 4; ++i)
    CHECK(r.q.seq_of(ring::kFirstPos + i).load() == ring::kFirstPos + i + 1);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(r.q.pop(&out));
    CHECK(out == 10 + i);
    check_positions(r.q, static_cast<std::size_t>(3 - i));
  }
  CHECK_FALSE(r.q.pop(&out));
  // Freed for the next lap's push.
  for (std::uint64_t i = 0; i < 4; ++i)
    CHECK(r.q.seq_of(ring::kFirstPos + i).load() == ring::kFirstPos + ring::kLap + i);
}

TEST_CASE("ring: wraps around its slots and the lap counter in order") {
  for (std::size_t cap : {1u, 3u, 8u}) {
    CAPTURE(cap);
    int_ring r(cap);
    int next_in = 0, next_out = 0;
    // Laps wrap after four (kFirstPos): run ten, with the ring alternately filled and
    // emptied, and kept part full.
    for (int round = 0; round < 10; ++round) {
      while (r.push(next_in) == push_result::pushed) ++next_in;
      check_positions(r.q, cap);
      int out = -1;
      const std::size_t keep = round % 2 ? cap / 2 : 0;
      while (r.q.size() > keep) {
        REQUIRE(r.q.pop(&out));
        REQUIRE(out == next_out++);
      }
      check_positions(r.q, keep);
    }
    // The positions went past the wrap of the lap counter.
    CHECK(r.pos.head.load() < ring::kFirstPos);
    int out = -1;
    while (r.q.pop(&out)) CHECK(out == next_out++);
    CHECK(next_out == next_in);
    CHECK(next_out > static_cast<int>(4 * cap));  // more than the laps before the wrap
  }
}

TEST_CASE("ring: one element at a time, across every slot and the lap wrap") {
  // The ring never holds more than one element, so head and tail move in step through
  // every index of every lap, with size() 0 and 1 in turn.
  int_ring r(5);
  for (int i = 0; i < 5 * 12; ++i) {
    REQUIRE(r.push(i) == push_result::pushed);
    check_positions(r.q, 1);
    int out = -1;
    REQUIRE(r.q.pop(&out));
    REQUIRE(out == i);
    check_positions(r.q, 0);
  }
  CHECK(r.pos.head.load() < ring::kFirstPos);  // wrapped
}

TEST_CASE("ring: a closed ring refuses pushes and still drains") {
  int_ring r(3);
  REQUIRE(r.push(1) == push_result::pushed);
  REQUIRE(r.push(2) == push_result::pushed);
  CHECK_FALSE(r.q.closed());
  r.q.close();
  CHECK(r.q.closed());
  CHECK((r.pos.tail.load() & ring::kClosed) != 0);
  CHECK(r.push(3) == push_result::closed);  // even with room
  check_positions(r.q, 2);
  int out = 0;
  REQUIRE(r.q.pop(&out));
  CHECK(out == 1);
  REQUIRE(r.q.pop(&out));
  CHECK(out == 2);
  CHECK_FALSE(r.q.pop(&out));
  check_positions(r.q, 0);
  CHECK(r.push(4) == push_result::closed);  // and when empty
}

TEST_CASE("ring: a channel's close sets its ring's closed bit; recv_finds_closed once drained") {
  goro::detail::chan_core* c = goro::detail::chan_make(&elem_ops_for<int>, 3);
  auto q = goro::detail::ring_of(c);
  int v = 1;
  REQUIRE(q.push(&v) == push_result::pushed);
  CHECK_FALSE(goro::detail::recv_finds_closed(c));
  goro::detail::chan_close(c);  // no waiters
  CHECK(q.closed());
  v = 2;
  CHECK(q.push(&v) == push_result::closed);
  CHECK_FALSE(goro::detail::recv_finds_closed(c));  // one element left
  int out = 0;
  REQUIRE(q.pop(&out));
  CHECK(out == 1);
  CHECK(goro::detail::recv_finds_closed(c));
  goro::detail::chan_release(c);
}

TEST_CASE("ring: elements are moved in and out, destroyed by pop(nullptr) and clear") {
  using elem = std::shared_ptr<int>;
  auto v = std::make_shared<int>(7);
  {
    test_ring r(4, &elem_ops_for<elem>);
    for (int i = 0; i < 3; ++i) {
      elem e = v;
      REQUIRE(r.q.push(&e) == push_result::pushed);
      CHECK(e == nullptr);  // moved from
    }
    CHECK(v.use_count() == 4);
    elem out;
    REQUIRE(r.q.pop(&out));
    CHECK(out == v);
    CHECK(v.use_count() == 4);  // moved out, and the slot's moved-from element destroyed
    out.reset();
    REQUIRE(r.q.pop(nullptr));  // destroyed in place
    CHECK(v.use_count() == 2);
  }  // the ring's owner clears it: the element still in it is destroyed
  CHECK(v.use_count() == 1);
}

TEST_CASE("ring: every element constructed in the ring is destroyed exactly once") {
  REQUIRE(counted::live == 0);
  {
    test_ring r(4, &elem_ops_for<counted>);
    for (int round = 0; round < 20; ++round) {  // across the lap wrap
      for (int i = 0; i < 3; ++i) {
        counted e(round * 10 + i);
        REQUIRE(r.q.push(&e) == push_result::pushed);
        CHECK(e.v == -1);  // moved from; destroyed at the end of the iteration
        CHECK(counted::live == i + 2);
      }
      CHECK(counted::live == 3);  // the three in the ring
      counted e(-7);
      REQUIRE(r.q.push(&e) == push_result::pushed);
      CHECK(r.q.push(&e) == push_result::full);  // untouched when refused
      CHECK(e.v == -1);
      alignas(counted) unsigned char raw[sizeof(counted)];
      CHECK(counted::live == 5);  // four in the ring, and e
      REQUIRE(r.q.pop(raw));      // moved into raw: one more live, the slot's destroyed
      auto* got = std::launder(reinterpret_cast<counted*>(raw));
      CHECK(got->v == round * 10);
      CHECK(counted::live == 5);
      got->~counted();
      REQUIRE(r.q.pop(nullptr));  // destroyed in its slot
      CHECK(counted::live == 3);
      CHECK(r.q.clear() == 2);
      CHECK(counted::live == 1);  // e
    }
    counted e(1);
    REQUIRE(r.q.push(&e) == push_result::pushed);
    CHECK(counted::live == 2);
  }  // ~test_ring clears it
  CHECK(counted::live == 0);
}

TEST_CASE("ring: move-only elements") {
  using elem = std::unique_ptr<int>;
  test_ring r(2, &elem_ops_for<elem>);
  for (int i = 0; i < 10; ++i) {  // across the lap wrap
    elem a = std::make_unique<int>(i);
    REQUIRE(r.q.push(&a) == push_result::pushed);
    CHECK(a == nullptr);
    elem b = std::make_unique<int>(-i);
    REQUIRE(r.q.push(&b) == push_result::pushed);
    elem c = std::make_unique<int>(100);
    CHECK(r.q.push(&c) == push_result::full);
    REQUIRE(c != nullptr);  // refused: still the caller's
    CHECK(*c == 100);
    goro::detail::slot<elem> out;
    REQUIRE(r.q.pop(&out.value));
    CHECK(*out.value == i);
    out.value.~elem();
    REQUIRE(r.q.pop(&out.value));
    CHECK(*out.value == -i);
    out.value.~elem();
  }
}

TEST_CASE("ring: concurrent pushers and poppers move every element exactly once") {
  constexpr int kPerSender = 20000;
  int_ring r(8);
  std::atomic<int> received{0};
  std::array<std::vector<int>, 2> got;
  std::vector<std::thread> ts;
  for (int s = 0; s < 2; ++s) {
    ts.emplace_back([&, s] {
      for (int i = 0; i < kPerSender; ++i) {
        while (r.push(s * kPerSender + i) != push_result::pushed) std::this_thread::yield();
      }
    });
  }
  for (int k = 0; k < 2; ++k) {
    ts.emplace_back([&, k] {
      int out;
      while (received.load() < 2 * kPerSender) {
        if (r.q.pop(&out)) {
          got[k].push_back(out);
          received.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<int> all(got[0]);
  all.insert(all.end(), got[1].begin(), got[1].end());
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == 2 * kPerSender);
  for (int i = 0; i < 2 * kPerSender; ++i) REQUIRE(all[i] == i);
  // Each popper saw each pusher's elements in the order pushed.
  for (auto& seen : got) {
    int last[2] = {-1, -1};
    for (int v : seen) {
      CHECK(v > last[v / kPerSender]);
      last[v / kPerSender] = v;
    }
  }
  check_positions(r.q, 0);
}

// ---------------------------------------------------------------------------------------
// detail::atomic (goro/detail/atomic.hpp): std::atomic's interface on the builtins.

TEST_CASE("atomic: load, store, exchange and arithmetic as std::atomic's") {
  goro::detail::atomic<std::uint64_t> a{5};
  CHECK(a.load() == 5);
  a.store(7, goro::detail::mo::release);
  CHECK(a.load(goro::detail::mo::acquire) == 7);
  CHECK(a.exchange(9) == 7);
  CHECK(a.fetch_add(3, std::memory_order_relaxed) == 9);  // std's orders are accepted
  CHECK(a.fetch_sub(2) == 12);
  CHECK(a.fetch_or(0x100) == 10);
  CHECK(a.load() == 0x10a);
  goro::detail::atomic<bool> b;  // value-initialised, as std::atomic<bool>{} is
  CHECK(!b.load());
  CHECK(!b.exchange(true, goro::detail::mo::acquire));
  CHECK(b.load(std::memory_order_relaxed));
}

TEST_CASE("atomic: compare_exchange reports the value it found") {
  goro::detail::atomic<std::uint32_t> a{1};
  std::uint32_t expected = 2;
  CHECK(!a.compare_exchange_strong(expected, 3, goro::detail::mo::acq_rel));
  CHECK(expected == 1);  // failed: expected now holds the value found
  CHECK(a.compare_exchange_strong(expected, 3, goro::detail::mo::acq_rel));
  CHECK(a.load() == 3);
  // The weak form may fail spuriously: retried, it succeeds.
  expected = 3;
  while (!a.compare_exchange_weak(expected, 4, std::memory_order_release)) {
    REQUIRE(expected == 3);
  }
  CHECK(a.load() == 4);
  int x = 0, y = 0;
  goro::detail::atomic<int*> p{&x};
  int* want = &x;
  CHECK(p.compare_exchange_strong(want, &y));
  CHECK(p.load() == &y);
}

TEST_CASE("atomic: concurrent fetch_add from threads loses no increment") {
  goro::detail::atomic<std::size_t> n{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&n] {
      for (int i = 0; i < 100000; ++i) n.fetch_add(1, goro::detail::mo::relaxed);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(n.load() == 400000);
}

// ---------------------------------------------------------------------------------------
// detail::shared_handle (goro/detail/shared_handle.hpp): a std::shared_ptr behind a wall.

namespace {
struct handle_base {
  virtual ~handle_base() = default;
};
struct handle_obj : handle_base {
  explicit handle_obj(int* live) : live(live) { ++*live; }
  ~handle_obj() override { --*live; }
  int* live;
};
}  // namespace

TEST_CASE("shared_handle: adopt owns the object; the last copy deletes it") {
  int live = 0;
  {
    auto h = goro::detail::shared_handle<handle_obj>::adopt(new handle_obj(&live));
    CHECK(live == 1);
    CHECK(h);
    CHECK(h.get()->live == &live);
    goro::detail::shared_handle<handle_obj> copy = h;
    CHECK(copy == h);
    goro::detail::shared_handle<handle_base> base = copy;  // to a base, as shared_ptr's
    CHECK(base.get() == static_cast<handle_base*>(h.get()));
    h = goro::detail::shared_handle<handle_obj>();
    copy = nullptr;
    CHECK(live == 1);  // base still owns it
  }
  CHECK(live == 0);
}

TEST_CASE("shared_handle: a moved-from handle is empty and owns nothing") {
  int live = 0;
  auto h = goro::detail::shared_handle<handle_obj>::adopt(new handle_obj(&live));
  goro::detail::shared_handle<handle_obj> moved = std::move(h);
  CHECK(!h);  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(h == nullptr);
  CHECK(moved);
  goro::detail::shared_handle<handle_obj> target;
  target = std::move(moved);
  CHECK(!moved);  // NOLINT(bugprone-use-after-move)
  CHECK(live == 1);
  target = goro::detail::shared_handle<handle_obj>();
  CHECK(live == 0);
}

TEST_CASE("shared_handle: to_handle and to_shared share one std::shared_ptr's ownership") {
  int live = 0;
  std::weak_ptr<handle_obj> weak;
  goro::detail::shared_handle<handle_obj> h;
  {
    auto p = std::make_shared<handle_obj>(&live);
    weak = p;
    h = goro::detail::to_handle(p);
    CHECK(weak.use_count() == 2);
  }
  CHECK(live == 1);  // the handle keeps it
  std::shared_ptr<handle_obj> back = goro::detail::to_shared(h);
  CHECK(back.get() == h.get());
  CHECK(weak.use_count() == 2);
  h = nullptr;
  back.reset();
  CHECK(weak.expired());  // weak pointers see the handle's ownership end
  CHECK(live == 0);
}
