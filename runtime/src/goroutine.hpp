// A goroutine (Go's g) and a parked waiter (Go's sudog).
//
// A goroutine's g comes from a g_pool, with its closure inside it when the closure is small;
// its stack is taken when it first runs (a bigger closure is put near the top of the stack,
// which is then taken at spawn). The state that only a running or parked goroutine needs
// (g_on_stack) lives at the top of its stack, so the g itself stays at 160 bytes. A plain
// OS thread that blocks on a channel is represented by a g too (a plain_thread_g, no stack), woken
// through its parker: the channel and sync code never needs to know which kind of waiter
// it holds.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <source_location>

#include "assert.hpp"
#include "fiber.hpp"
#include "parker.hpp"
#include "stack.hpp"

namespace goro::detail {

struct worker;
struct chan_core;
struct shrunk_stack;

// Why a goroutine is parked, in the words of Go's goroutine dumps.
enum class wait_reason : std::uint8_t {
  none,
  chan_receive,
  chan_send,
  chan_receive_nil,
  chan_send_nil,
  select,
  select_no_cases,
  sleep,
  wait_group,
  mutex,
  rw_mutex_read,
  rw_mutex_write,
  io_wait,  // poll_wait: a descriptor's readiness
  syscall,  // goro::blocking: a call running on a helper thread
  // A goroutine of a synctest bubble durably blocked (synctest.hpp): on a channel or wait
  // group of its own bubble, or in synctest::wait. Go 1.25 prints these with "(durable)".
  chan_receive_durable,
  chan_send_durable,
  select_durable,
  wait_group_durable,
  synctest_run,   // synctest::run's caller, while the bubble runs (not in the bubble)
  synctest_wait,  // synctest::wait
};
const char* wait_reason_text(wait_reason r) noexcept;

// A goroutine's status, and its legal moves (Go's casgstatus), which set_status checks:
//   runnable -> running     a worker switches to it (execute, switch_away)
//   running  -> waiting     it parks (park)
//   running  -> runnable    it yields
//   waiting  -> runnable    it is readied (ready, ready_polled)
//   waiting  -> running     shutdown resumes it to unwind (drain, unwind_at_exit only)
//   running  -> dead        it has exited (free_goroutine), just before its g is freed
//   any but dead -> released  main_fn returned and it was abandoned (release in run.cpp);
//                             it never runs again
// A plain thread's stand-in only moves between runnable and waiting, both ways.
enum class g_status : std::uint8_t { runnable, running, waiting, dead, released };

constexpr bool legal_move(g_status from, g_status to) noexcept {
  using s = g_status;
  switch (to) {
    case s::running:
      return from == s::runnable || from == s::waiting;
    case s::waiting:
      return from == s::running;
    case s::runnable:
      return from == s::running || from == s::waiting;
    case s::dead:
      return from == s::running;
    case s::released:
      return from != s::dead;
  }
  return false;
}

// The C++ runtime's per-thread exception state (libsupc++'s __cxa_eh_globals): which
// exceptions are being handled and how many are in flight. Each goroutine keeps its own.
struct eh_state {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

// A goroutine waiting on a channel, select case or sync object. It lives on the waiting
// goroutine's stack for the duration of the wait (or in its g: g::kept).
struct g;
struct waiter {
  g* gp = nullptr;
  void* elem = nullptr;  // send: the value to take; recv: where to put the value
  waiter* prev = nullptr;
  waiter* next = nullptr;
  chan_core* c = nullptr;
  std::uint64_t gen = 0;  // select: the generation of the select it belongs to
  std::uint32_t case_index = 0;
  bool is_select = false;
  // Linked in some queue. Written under the queue's lock, as the last write to the waiter
  // by whoever unlinks it; read without the lock by its own select (select.cpp).
  bool queued = false;
  bool success = false;  // completed by a communication; false: by close (or not at all)
  // Woken to try again: a buffered channel's waker took it out of the queue for an element
  // (or room) that a lock-free operation got first (chan.cpp's serve_parked_locked).
  bool retry = false;
};

// The part of a goroutine's state that only a started goroutine needs: how it switches,
// what it waits for, its select bookkeeping. It lives at the top of the goroutine's stack
// (make_context puts it there), in the page that the goroutine's first frames touch anyway,
// so a parked goroutine costs one stack page plus its small g. A plain thread's lives in
// its plain_thread_g.
struct alignas(16) g_on_stack {
  struct switch_request {
    enum kind_t : std::uint8_t { park, yield, exit } kind;
    g* gp;
    worker* w;
    void (*unlock)(void*);
    void* arg;
  };

  worker* w = nullptr;  // the worker running it (valid while it runs)
  fiber_stack fstack;
  eh_state eh;
  // What to do once this goroutine is off its stack. Above the goroutine's frames: an
  // exiting goroutine's frames (and the sanitizers' shadow copies of them) may be gone
  // before the request is read, this stays until its stack is given back.
  switch_request request{};
  std::atomic<std::int64_t> waiting_since{0};  // about when it parked (worker::coarse_now)
  int unwind_attempts = 0;

  // select: each select that waits opens a new generation: select_done = ++select_gen. A
  // waker claims the select by CAS select_done: its waiter's gen -> 0, so a waiter left over
  // from an earlier select (kept) can never complete a later one. param is the waiter
  // that completed the wait (null: woken without one, e.g. for shutdown).
  std::atomic<std::uint64_t> select_done{0};
  std::uint64_t select_gen = 0;
  waiter* param = nullptr;
  // A durable park of a synctest bubble's goroutine: the unlock and argument that the
  // bubble's wrapper runs (synctest.cpp, bubble_parking).
  void (*bubble_unlock)(void*) = nullptr;
  void* bubble_arg = nullptr;
  // goro::blocking: the job (on this goroutine's stack) of the call it waits for, or null.
  void* blocking_job = nullptr;
  // park_unlocked's handshake with wake(): see parking_state in sched.hpp.
  std::atomic<std::uint8_t> parking{0};
  // A select's receive waiter on an unbuffered channel, left queued there when another case
  // fires, and reused by the next select on that channel (see select.cpp). kept_chan holds
  // a reference to its channel, or is null.
  waiter kept;
  chan_core* kept_chan = nullptr;

  char name[32] = {};  // goro::set_goroutine_name's; written and read under its registry lock

  // The idle sweep (netpoll.cpp) settled this wait: it shrank the stack (`shrunk` holds the
  // saved bytes, stack_shrink.hpp), or left it as is (not allowed, or not worth it). Undone
  // just before the goroutine next runs (begin_running). Written by the sweep while it
  // holds the parked goroutine, read by whoever resumes it.
  bool idle_settled = false;
  // goro::allow_stack_shrink: nothing but the goroutine touches its stack while it waits,
  // so the sweep may shrink it. Written by the goroutine, read by the sweep while it holds
  // the goroutine parked.
  bool may_shrink = false;
  shrunk_stack* shrunk = nullptr;
};

// A goroutine: what the scheduler, the registry and the dumps need, from its spawn on.
// Kept small (one g_pool slot of 160 bytes): a goroutine that has not run yet is only this,
// and every spawned goroutine holds one until it ends.
struct g {
  using switch_request = g_on_stack::switch_request;

  // Switching. `ctx` is valid while the goroutine is not running.
  fiber_context ctx = nullptr;
  // Null until the goroutine first runs (make_context). Atomic for the dumps, which read
  // the names of goroutines that other workers are starting.
  std::atomic<g_on_stack*> on_stack_ptr{nullptr};
  g* schedlink = nullptr;  // g_list link (a worker's debug_migrate inbox)

  std::uint64_t id = 0;
  // Runs the closure and then destroys it, or (run == false) only destroys it: a goroutine
  // that shutdown ends before it ever ran.
  void (*body)(void* closure, bool run) = nullptr;
  void* closure = nullptr;       // closure_buf, or near the top of the stack
  stack_mem stack;               // none (size 0) until the goroutine first runs
  std::source_location created;  // where go(...) was called; empty for the main goroutine

  std::atomic<g_status> status{g_status::runnable};
  // Written by the goroutine as it parks; atomic because dumps read them from other threads.
  std::atomic<wait_reason> reason{wait_reason::none};
  bool started = false;
  bool unwinding = false;  // shutdown: the next blocking call throws goroutine_exit
  bool is_main = false;
  bool is_thread = false;  // a plain thread's stand-in: a plain_thread_g

  // Where the registry of live goroutines keeps it.
  std::uint8_t registry_shard = 0;
  std::uint32_t registry_slot = 0;
  // The synctest bubble it belongs to (synctest.hpp: its slot in the table of bubbles,
  // 4 bytes where a pointer would not fit), inherited by the goroutines it starts; 0
  // outside bubbles. Set before the goroutine is queued, never changed after (but for
  // synctest::run's caller while it fires the bubble's timers).
  std::uint32_t bubble_slot = 0;

  // Room for a small closure (a function and a few arguments), so that a goroutine that
  // has not run yet needs no stack.
  static constexpr std::size_t kClosureBytes = 64;
  alignas(16) std::byte closure_buf[kClosureBytes];

  // The started part; only for a goroutine that has started, or a thread's stand-in.
  g_on_stack& on_stack() noexcept { return *on_stack_ptr.load(std::memory_order_relaxed); }
};
static_assert(sizeof(g) == 160, "a g is one 160-byte g_pool slot: keep it small (goroutine.hpp)");

// Moves gp to `to`; debug builds check that the move is one of the legal ones above. The
// store is relaxed: whoever hands gp on (a queue, a lock, the switch) publishes it.
inline void set_status(g* gp, g_status to) noexcept {
  [[maybe_unused]] const g_status from = gp->status.load(std::memory_order_relaxed);
  GORO_ASSERT(legal_move(from, to) || (gp->is_thread && to != g_status::running),
              "an illegal change of a goroutine's status (see g_status)");
  gp->status.store(to, std::memory_order_relaxed);
}

// A plain thread that blocks on a channel or sync object waits as this stand-in g, woken
// through its parker instead of a worker (made by thread_g() in tls.cpp).
struct plain_thread_g : g {
  parker thread_parker;
  g_on_stack state;

  plain_thread_g() noexcept {
    is_thread = true;
    started = true;
    on_stack_ptr.store(&state, std::memory_order_relaxed);
  }
  static plain_thread_g& of(g* gp) noexcept { return *static_cast<plain_thread_g*>(gp); }
};

// A FIFO of goroutines linked through g::schedlink (a worker's debug_migrate inbox).
// Callers hold the lock that guards it.
struct g_list {
  g* head = nullptr;
  g* tail = nullptr;

  bool empty() const noexcept { return head == nullptr; }
  // Appends the chain first..last (already linked through schedlink).
  void push_back(g* first, g* last) noexcept {
    last->schedlink = nullptr;
    if (tail) {
      tail->schedlink = first;
    } else {
      head = first;
    }
    tail = last;
  }
  g* pop_front() noexcept {
    g* gp = head;
    if (gp) {
      head = gp->schedlink;
      if (!head) tail = nullptr;
    }
    return gp;
  }
};

// Thrown from a blocking call of a goroutine that shutdown is unwinding; caught at the
// goroutine's entry. Not a std::exception, so `catch (const std::exception&)` passes it by.
struct goroutine_exit {};

}  // namespace goro::detail
