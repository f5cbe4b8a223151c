// synctest bubbles: Go 1.25's testing/synctest (runtime/synctest.go). The invariants are at
// the top of synctest.hpp.
//
// Go's design, in goro's terms: each goroutine records its bubble; a bubble counts its
// goroutines that are not durably blocked, and when that count (with the parks still
// releasing their locks) reaches zero, the root (synctest::run's caller) runs: it fires the
// timers due at the bubble's time, else wakes synctest::wait's caller, else moves the clock
// to the next timer and fires it, else reports a deadlock. Everything here runs only for
// bubbles: outside them the scheduler pays one branch on g::bubble_slot per park, ready, spawn and
// exit, channels one on chan_core::bub per operation, and now() one relaxed load.
#include "synctest.hpp"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <string>

#include <goro/panic.hpp>
#include <goro/synctest.hpp>

#include "sched.hpp"

namespace goro::detail {

atomic<unsigned> synctest_bubbles{0};
std::atomic<bubble*> bubble_table[kMaxBubbles];

namespace {

// Go's bubbles start at 2000-01-01 00:00:00 UTC.
constexpr std::int64_t kEpoch2000 = 946'684'800'000'000'000;

std::atomic<std::uint64_t> next_bubble_id{1};

// bubble_table's free slots are those holding null; taken and given back under this lock
// (once per synctest::run).
std::mutex table_lock;

std::uint32_t take_slot(bubble* b) {
  std::lock_guard<std::mutex> hold(table_lock);
  for (std::uint32_t i = 1; i < kMaxBubbles; ++i) {
    if (!bubble_table[i].load(std::memory_order_relaxed)) {
      bubble_table[i].store(b, std::memory_order_relaxed);
      return i;
    }
  }
  throw panic_error("synctest.Run: too many bubbles at once");
}

void give_slot(std::uint32_t i) noexcept {
  std::lock_guard<std::mutex> hold(table_lock);
  bubble_table[i].store(nullptr, std::memory_order_relaxed);
}

void unlock_bubble(void* b) GORO_NO_THREAD_SAFETY_ANALYSIS {
  static_cast<bubble*>(b)->mu.unlock();
}

// Under b->mu: if the bubble just became idle and the root waits for that, the root to ready
// (once the lock is released).
g* idle_wake_locked(bubble* b) GORO_REQUIRES(b->mu) {
  if (b->running != 0 || b->active != 0 || !b->root_parked) return nullptr;
  b->root_parked = false;
  return b->root;
}

// park's unlock for a durable park: the original unlock, then gp counts as durably blocked.
void after_durable_park(void* arg) noexcept {
  auto* gp = static_cast<g*>(arg);
  bubble* b = bubble_of(gp);
  g_on_stack& st = gp->on_stack();
  void (*unlock)(void*) = st.bubble_unlock;
  void* unlock_arg = st.bubble_arg;
  unlock(unlock_arg);  // from here on gp may run again, even exit: only b is used below
  g* wake;
  {
    spin_guard hold(b->mu);
    --b->active;
    wake = idle_wake_locked(b);
  }
  if (wake) ready(wake);
}

// The root waits until the bubble is idle; park releases b->mu once the root is off its
// stack (the analysis cannot follow the lock into park's unlock).
void park_root(g* root, bubble* b) GORO_RELEASE(b->mu) GORO_NO_THREAD_SAFETY_ANALYSIS {
  b->root_parked = true;
  park(root, &unlock_bubble, b, wait_reason::synctest_run);
}

std::string describe_blocked(bubble* b) {
  std::string out;
  runtime* rt = current_runtime();
  if (!rt) return out;
  rt->all.for_each([&](g* gp) {
    if (gp->bubble_slot != b->slot) return;
    char line[256];
    std::snprintf(line, sizeof line,
                  "\n\ngoroutine %" PRIu64 " [%s, synctest bubble %" PRIu64 "]:", gp->id,
                  wait_reason_text(gp->reason.load(std::memory_order_relaxed)), b->id);
    out += line;
    if (gp->created.line() != 0) {
      std::snprintf(line, sizeof line, "\ncreated by %s:%u", gp->created.file_name(),
                    static_cast<unsigned>(gp->created.line()));
      out += line;
    }
  });
  return out;
}

}  // namespace

bubble* current_bubble() noexcept {
  if (synctest_bubbles.load(std::memory_order_relaxed) == 0) return nullptr;
  worker* w = current_worker();
  g* gp = w ? w->running() : nullptr;
  return gp ? bubble_of(gp) : nullptr;
}

std::chrono::steady_clock::time_point synctest_now() noexcept {
  if (bubble* b = current_bubble()) {
    return std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(b->now.load(std::memory_order_relaxed)));
  }
  return std::chrono::steady_clock::now();
}

std::int64_t bubble_nanotime(const bubble* b) noexcept {
  return b ? b->now.load(std::memory_order_relaxed) : nanotime();
}

void bubble_started(g* parent, g* gp) noexcept {
  bubble* b = bubble_of(parent);
  gp->bubble_slot = parent->bubble_slot;
  spin_guard hold(b->mu);
  ++b->total;
  ++b->running;
}

void bubble_exiting(g* gp) noexcept {
  bubble* b = bubble_of(gp);
  g* wake;
  {
    spin_guard hold(b->mu);
    --b->total;
    --b->running;
    wake = idle_wake_locked(b);
  }
  if (wake) ready(wake);
}

void bubble_parking(g* gp, wait_reason why, void (*&unlock)(void*), void*& arg) noexcept {
  if (!is_durable(why)) return;
  bubble* b = bubble_of(gp);
  {
    spin_guard hold(b->mu);
    --b->running;
    ++b->active;  // idle only once the unlock has run: after_durable_park
  }
  g_on_stack& st = gp->on_stack();
  st.bubble_unlock = unlock;
  st.bubble_arg = arg;
  unlock = &after_durable_park;
  arg = gp;
}

void bubble_readied(g* gp) noexcept {
  if (!is_durable(gp->reason.load(std::memory_order_relaxed))) return;
  bubble* b = bubble_of(gp);
  spin_guard hold(b->mu);
  ++b->running;
}

void bubble_check_chan(const bubble* b, const char* message) {
  if (current_bubble() != b) throw panic_error(message);
}

// The root: starts f in the bubble, then serves the bubble each time it becomes idle.
void synctest_run(void (*body)(void*), void* arg, const std::source_location& where) {
  worker* w = current_worker();
  g* root = w ? w->running() : nullptr;
  if (!root)
    throw panic_error("synctest.Run: not called from a goroutine (call it inside goro::run)");
  if (root->bubble_slot) throw panic_error("synctest.Run called from within a synctest bubble");

  auto* b = new bubble;
  try {
    b->slot = take_slot(b);
  } catch (...) {
    delete b;
    throw;
  }
  b->id = next_bubble_id.fetch_add(1, std::memory_order_relaxed);
  b->now.store(kEpoch2000, std::memory_order_relaxed);
  b->root = root;
  synctest_bubbles.fetch_add(1, std::memory_order_relaxed);

  struct main_closure {
    bubble* b;
    void (*body)(void*);
    void* arg;
    void operator()() const {
      body(arg);
      spin_guard hold(b->mu);
      b->done = true;
    }
  };
  root->bubble_slot = b->slot;  // so that the goroutine started here joins the bubble
  try {
    spawn(0, where, main_closure{b, body, arg});  // named after run's caller
  } catch (...) {
    root->bubble_slot = 0;
    synctest_bubbles.fetch_sub(1, std::memory_order_relaxed);
    give_slot(b->slot);
    delete b;
    throw;
  }
  root->bubble_slot = 0;

  b->mu.lock();
  for (;;) {
    if (b->running != 0 || b->active != 0) {
      park_root(root, b);
      b->mu.lock();
      continue;
    }
    if (b->total == 0) break;
    const std::int64_t now = b->now.load(std::memory_order_relaxed);
    const std::int64_t next = b->timers.earliest();
    const bool due = next <= now;
    if (next != INT64_MAX && !b->done && (due || !b->waiter)) {
      if (!due) b->now.store(next, std::memory_order_relaxed);
      b->mu.unlock();
      root->bubble_slot = b->slot;  // what the timers start (after_func) joins the bubble
      b->timers.run_due(b->now.load(std::memory_order_relaxed), /*shared=*/false);
      root->bubble_slot = 0;
      b->mu.lock();
      continue;
    }
    if (g* waiter = b->waiter) {
      b->waiter = nullptr;
      b->mu.unlock();
      ready(waiter);
      b->mu.lock();
      continue;
    }
    const bool done = b->done;
    b->mu.unlock();
    // Deadlocked: its goroutines stay parked, pointing to b, which is never freed.
    synctest_bubbles.fetch_sub(1, std::memory_order_relaxed);
    std::string msg =
        done ? "deadlock: main bubble goroutine has exited but blocked goroutines remain"
             : "deadlock: all goroutines in bubble are blocked";
    msg += describe_blocked(b);
    throw panic_error(msg);
  }
  b->mu.unlock();
  b->timers.clear();  // timers that never fired: Go drops them too
  synctest_bubbles.fetch_sub(1, std::memory_order_relaxed);
  give_slot(b->slot);
  delete b;
}

}  // namespace goro::detail

namespace goro::synctest {

void wait() {
  detail::bubble* b = detail::current_bubble();
  if (!b) throw panic_error("goroutine is not in a bubble");
  detail::g* gp = detail::current_g();
  {
    detail::spin_guard hold(b->mu);
    if (b->waiter) throw panic_error("wait already in progress");
    b->waiter = gp;
  }
  // The root cannot ready us before this park's unlock has run: until then we count as
  // running (bubble_parking, after_durable_park).
  detail::park(
      gp, [](void*) {}, nullptr, detail::wait_reason::synctest_wait);
  detail::unwind_if_exiting(gp);
}

}  // namespace goro::synctest
