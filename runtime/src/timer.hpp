// Timers: per-worker heaps of timer_state (Go keeps one heap per P).
//
// A goroutine's timers go to the heap of the worker it runs on; a plain thread's (and any
// armed while the runtime drains) go to a heap served by one background thread. Each time a
// worker looks for work it fires the due timers of every worker's heap, not only its own
// (run_due_timers in worker.cpp): the owner may be busy in a long computation or blocked in
// a system call. When the workers go idle, one of them, the timer sleeper, sleeps until the
// earliest timer of all heaps (in the poller once it is open) and the rest until woken, so
// a program whose goroutines only sleep uses no CPU in between.
//
// Coalescing. A timer may fire a little late, never early: its `deadline` is `when` plus a
// slack of 1/1024 of its delay, at most 1 ms (Go's idle timers have about 1 ms of slack
// too: epoll_wait counts milliseconds). A heap is ordered by deadline, and whoever fires the
// timers past their deadline also fires those past their `when`. So 10,000 goroutines that
// went to sleep for 2 s over a few milliseconds wake in a few batches, not 10,000 wake-ups.
//
// Invariants:
// - t->heap is the heap holding t (null if none), written only under that heap's lock.
//   A timer is in at most one heap. A heap's arrays are GORO_GUARDED_BY its lock (checked by
//   the thread-safety build); a timer's heap_slot and when, guarded by the lock of whichever
//   heap holds it, cannot be written so and are not annotated.
// - t->mu serialises arming, stop, reset and delivery. A heap entry records t->seq as it was
//   when t was armed (under t->mu), and a firing delivers only if seq is unchanged once it
//   holds t->mu; stop and reset bump seq, so nothing armed before them is delivered after
//   them (Go 1.23). Reading seq when the entry is popped instead was a race: a stop could
//   bump it just before the pop (its removal then fails, the entry being in flight), and the
//   firing would carry the new value and deliver after the stop, to a tick() channel that
//   the stop's caller was freeing.
// - A heap holds one reference to each of its timers; a popped timer's reference passes to
//   its delivery.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include <goro/detail/spinlock.hpp>
#include <goro/detail/task.hpp>
#include <goro/detail/timer_core.hpp>

namespace goro::detail {

struct g;
struct chan_core;
struct bubble;
class timer_heap;

enum class timer_kind : std::uint8_t { wake, send_time, run_func, call };

// A `call` timer's function: runs on the thread that fires the timer, with no lock held, so
// it must not block. Returns whether it readied a goroutine (see timer_heap::run_due).
using timer_call = bool (*)(void* arg, std::uint64_t seq) noexcept;

struct timer_state {
  std::atomic<int> refs{1};
  spinlock mu;
  std::atomic<timer_heap*> heap{nullptr};
  std::uint32_t heap_slot = 0;  // its slot in `heap` (see timer_heap; under the heap's lock)
  std::int64_t when = 0;        // steady-clock ns: not before (under the heap's lock)
  std::atomic<std::uint64_t> seq{0};
  std::atomic<int> sending{0};  // popped, delivery not finished
  std::int64_t period = 0;      // ns; 0: one-shot (under mu)
  timer_kind kind = timer_kind::wake;
  bool fired = false;         // wake: delivered (under mu)
  g* gp = nullptr;            // wake: the sleeper
  chan_core* c = nullptr;     // send_time: counted reference, unless c_owns_timer
  bool c_owns_timer = false;  // tick(): c owns this timer and points to it (chan_core::ticker)
  task f;                     // run_func
  timer_call call = nullptr;  // call: call(call_arg, call_seq)
  void* call_arg = nullptr;
  std::uint64_t call_seq = 0;  // under mu
  // The synctest bubble it was made in (synctest.hpp), or null: a bubble's timers go to
  // the bubble's own heap and count its fake time.
  bubble* bub = nullptr;
};

class timer_heap {
 public:
  timer_heap() = default;
  timer_heap(const timer_heap&) = delete;
  timer_heap& operator=(const timer_heap&) = delete;

  // Adds t (not in any heap) to fire between `when` and `deadline`; takes a reference.
  // Returns true if t is now the first timer here.
  bool add(timer_state* t, std::int64_t when, std::int64_t deadline);
  // Removes t if this heap still holds it; drops the heap's reference. True if removed.
  bool remove(timer_state* t) noexcept;
  // The earliest deadline here (when someone must run the timers), or INT64_MAX. seq_cst,
  // as is publish()'s store: with the timer sleeper's flags they form a Dekker pair (see
  // sleep_idle in idle.cpp); on x86 such a load costs what an acquire load does.
  std::int64_t earliest() const noexcept { return earliest_.load(std::memory_order_seq_cst); }
  // Fires every timer past its deadline at `now`, and with them those past their `when`.
  // `shared`: several threads serve this heap, and if one of them is firing its timers
  // already, this call leaves them to it. Returns how many fired.
  int run_due(std::int64_t now, bool shared);
  // Drops every timer without firing it (shutdown).
  void clear() noexcept;

 private:
  // Where each timer sits in heap_ is kept here, in pos_, not in the timer: a sift moves a
  // dozen entries, and a timer lives on its goroutine's stack, a page of its own, so writing
  // the position into each moved timer cost a TLB and cache miss per move (most of the
  // firing of 10,000 sleepers). A timer keeps only its slot, written once when it is added.
  struct entry {
    std::int64_t deadline;  // not after: when + slack
    std::int64_t when;      // not before
    timer_state* t;
    std::uint32_t slot;  // pos_[slot] is this entry's index
    std::uint32_t seq;   // t->seq when armed (its low half: 2^32 stops apart never happen)
  };
  static constexpr std::size_t kArity = 4;
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;

  void place(std::size_t i, const entry& e) noexcept GORO_REQUIRES(lock_) {
    heap_[i] = e;
    pos_[e.slot] = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i) noexcept GORO_REQUIRES(lock_);
  void sift_down(std::size_t i) noexcept GORO_REQUIRES(lock_);
  void remove_at(std::size_t i) noexcept GORO_REQUIRES(lock_);
  void publish() noexcept GORO_REQUIRES(lock_);

  spinlock lock_;
  std::vector<entry> heap_ GORO_GUARDED_BY(lock_);
  // slot -> index in heap_; a free slot holds the next free one (kNoSlot ends the list).
  std::vector<std::uint32_t> pos_ GORO_GUARDED_BY(lock_);
  std::uint32_t free_slot_ GORO_GUARDED_BY(lock_) = kNoSlot;
  std::atomic<std::int64_t> earliest_{INT64_MAX};
};

// The background thread that serves plain threads' timers: whether it exists, and whether
// any timer is pending there.
bool background_timer_thread_started() noexcept;
bool background_timers_pending() noexcept;

// Arms t on the calling worker's heap (or the background thread's) to fire after `delay_ns`.
void timer_arm(timer_state* t, std::int64_t delay_ns);

// A `call` timer (t->call and t->call_arg set): stops it, and unless `when` is 0 re-arms it
// to call t->call(t->call_arg, seq) at `when` (a nanotime). A firing armed before this call
// does nothing after it. Never blocks.
void timer_set_call(timer_state* t, std::int64_t when, std::uint64_t seq);

}  // namespace goro::detail
