// select: Go's selectgo (select.go).
//
// select_impl shuffles the poll order of the cases once; select_once then runs these passes,
// and runs them again from the start when its goroutine is woken to try again.
//
// Pass 0: try the cases in poll order, a buffered channel's on its ring without a lock, an
//   unbuffered one under its own channel's lock, skipped if a lock-free peek shows it
//   cannot proceed. The first that can proceed now (a parked partner, room or elements in
//   the buffer, a closed channel) is performed. (Go goes straight to pass 1; this spares
//   the locks of channels that are not ready, such as a done channel shared by every
//   goroutine of a pipeline.)
// Pass 1: lock every channel, each once, in address order, and try the cases again: only
//   with every lock held is "none can proceed" true at one moment. A buffered channel's
//   ring still moves without its lock, so before taking a default the select reads the
//   rings' positions twice (rings_held_still) and goes round pass 1 again if one moved.
// Pass 2: no default: enqueue one waiter per case (or revive the kept waiter, below), take
//   a last look at the rings of the buffered cases (back to pass 1 if one became ready),
//   release the locks and park (park_unlocked in sched.hpp). A waker completes the select
//   by winning the CAS on its select_done (see waitq.hpp) and records the waiter it
//   completed in st.param.
// Pass 3: on waking, dequeue the waiters that did not fire, each under its own channel's
//   lock, except one receive waiter that stays queued for the next select (the kept
//   waiter): Go locks everything again here. A waiter woken to try again (waiter::retry)
//   starts the select over at pass 0.
// No polling loop and no helper goroutine: a select costs what the channel ops cost.
#include <algorithm>
#include <atomic>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <goro/select.hpp>

#include "assert.hpp"
#include "chan.hpp"
#include "sched.hpp"
#include "synctest.hpp"
#include "waitq.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Buffers that live on the selecting goroutine's stack for small selects.
template <class T, std::size_t N>
class small_array {
 public:
  explicit small_array(std::size_t n) : n_(n) {
    if (n > N) heap_ = std::make_unique<T[]>(n);
  }
  T* data() noexcept { return heap_ ? heap_.get() : inline_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + n_; }
  std::size_t size() const noexcept { return n_; }

 private:
  std::size_t n_;
  T inline_[N];
  std::unique_ptr<T[]> heap_;
};

// A select's channels' locks, taken in address order. The thread-safety analysis cannot
// count locks in a loop: lock_set's functions and the select that holds one opt out.
struct lock_set {
  chan_core** chans;  // in address order, each once
  std::size_t n;
  void lock() noexcept GORO_NO_THREAD_SAFETY_ANALYSIS {
    for (std::size_t i = 0; i < n; ++i) chans[i]->lock.lock_eager();
  }
  void unlock() noexcept GORO_NO_THREAD_SAFETY_ANALYSIS {
    for (std::size_t i = n; i-- > 0;) chans[i]->lock.unlock();
  }
};

[[noreturn]] void block_forever(g* gp, wait_reason why) {
  for (;;) {
    park(
        gp, [](void*) {}, nullptr, why);
    if (must_unwind(gp)) throw goroutine_exit{};
  }
}

// A buffered channel's case, with the lock held: chan.cpp moves the element and serves the
// waiters parked on the other side. (Its channel's lock is in a lock_set, which the
// thread-safety analysis cannot follow, nor, below, try_case_locked.)
bool try_buffered_case_locked(case_state* cs, lock_set& locks) GORO_NO_THREAD_SAFETY_ANALYSIS {
  chan_core* c = cs->chan;
  wake_list woken;
  if (cs->kind == case_kind::recv) {
    bool ok = false;
    if (!chan_recv_locked(c, cs->elem, &ok, woken)) return false;
    cs->ok = cs->has_value = ok;
  } else {
    const ring::push_result r = chan_send_locked(c, cs->elem, woken);
    if (r == ring::push_result::closed) {
      locks.unlock();
      throw panic_error("send on closed channel");
    }
    if (r == ring::push_result::full) return false;
  }
  locks.unlock();
  wake_all(woken);
  return true;
}

// Performs the case if it can proceed now, with `locks` (which include its channel's) held;
// returns whether it did, having released them. A send on a closed channel throws once they
// are released.
bool try_case_locked(case_state* cs, lock_set& locks) GORO_NO_THREAD_SAFETY_ANALYSIS {
  chan_core* c = cs->chan;
  if (c->cap > 0) return try_buffered_case_locked(cs, locks);
  if (cs->kind == case_kind::recv) {
    if (waiter* s = dequeue(c->sendq)) {
      locks.unlock();
      c->ops->move_construct(cs->elem, s->elem);
      wake(s, true);
      cs->ok = cs->has_value = true;
      return true;
    }
    if (c->closed()) {
      locks.unlock();
      return true;
    }
    return false;
  }
  if (c->closed()) {
    locks.unlock();
    throw panic_error("send on closed channel");
  }
  if (waiter* r = dequeue(c->recvq)) {
    locks.unlock();
    c->ops->move_construct(r->elem, cs->elem);
    wake(r, true);
    return true;
  }
  return false;
}

// Pass 0 for a buffered channel: without the lock. Whether the case happened.
bool try_buffered_case_unlocked(case_state* cs) {
  chan_core* c = cs->chan;
  if (cs->kind == case_kind::recv) {
    if (!chan_recv_now(c, cs->elem)) return recv_finds_closed(c);
    cs->ok = cs->has_value = true;
    return true;
  }
  const ring::push_result r = chan_send_now(c, cs->elem);
  if (r == ring::push_result::closed) throw panic_error("send on closed channel");
  return r == ring::push_result::pushed;
}

// The queue a case's waiter goes into.
waitq& queue_of(const case_state* cs) noexcept {
  return cs->kind == case_kind::recv ? cs->chan->recvq : cs->chan->sendq;
}

// A select waiting on a channel that rarely fires, such as the done channel of a pipeline,
// would lock it twice every time: to enqueue its waiter, and after waking through another
// case, to unlink it again. With every goroutine of the pipeline doing so from every
// thread, that one lock was most of the contention of a pipeline with a done channel. So a
// goroutine keeps one waiter queued: when its select wakes, one receive waiter that did not
// fire, on an unbuffered channel, moves into g_on_stack::kept instead of being unlinked, and stays
// in the queue. Its generation is over, so no waker can complete anything through it
// (dequeue skips it); the goroutine's next select on that channel revives it in place in
// pass 2, under the lock that pass 1 took anyway. Only unbuffered channels: kept_chan holds a
// reference, which must not keep buffered elements alive past the last handle.

// Pass 3 for one waiter that did not fire: keep it (see above) or unlink it.
void leave_queue(g* gp, waiter* w, case_kind kind) noexcept {
  g_on_stack& st = gp->on_stack();
  if (w == &st.kept || !is_queued(w)) return;
  const bool keep = !gp->is_thread && kind == case_kind::recv && w->c->cap == 0 &&
                    (st.kept_chan == nullptr || !is_queued(&st.kept));
  if (keep && st.kept_chan != w->c) {
    chan_retain(w->c);
    if (st.kept_chan) chan_release(st.kept_chan);
    st.kept_chan = w->c;
  }
  spin_guard lock(w->c->lock);
  if (!is_queued(w)) return;
  if (keep) {
    st.kept = *w;  // in w's place in the queue
    replace(w->c->recvq, w, &st.kept);
  } else {
    unlink(kind == case_kind::recv ? w->c->recvq : w->c->sendq, w);
  }
}

// Before a select takes its default: pass 1 found every case unable to proceed, but the
// buffered ones each at a moment of its own, since rings move without their locks. Reading
// their positions twice and finding them unchanged, and none of the rings ready, shows one
// moment (between the two reads) at which no case could proceed, as Go's locks do.
// Positions only grow, so equal values mean no operation in between.
bool rings_held_still(case_state* const* cases, small_array<std::uint32_t, 16>& order) {
  small_array<std::uint64_t, 32> seen(2 * order.size());
  std::size_t k = 0;
  for (std::uint32_t i : order) {
    const chan_core* c = cases[i]->chan;
    if (c->cap == 0) continue;
    seen[k++] = c->ring->head.load(std::memory_order_seq_cst);
    seen[k++] = c->ring->tail.load(std::memory_order_seq_cst);
  }
  k = 0;
  for (std::uint32_t i : order) {
    const chan_core* c = cases[i]->chan;
    if (c->cap == 0) continue;
    const std::uint64_t head = seen[k++];
    const std::uint64_t tail = seen[k++];
    if (c->ring->head.load(std::memory_order_seq_cst) != head ||
        c->ring->tail.load(std::memory_order_seq_cst) != tail)
      return false;
    // (Closed channels took pass 1 already: their lock is held.)
    const bool ready = cases[i]->kind == case_kind::recv ? !ring_pos::empty(head, tail)
                                                         : !ring_pos::full(head, tail);
    if (ready) return false;
  }
  return true;
}

// Pass 2's last look: a buffered case whose ring has an element (recv) or room (send).
bool buffered_case_ready(case_state* const* cases, small_array<std::uint32_t, 16>& order) {
  for (std::uint32_t i : order) {
    chan_core* c = cases[i]->chan;
    if (c->cap == 0) continue;
    if (cases[i]->kind == case_kind::recv ? !c->ring->empty() : !c->ring->full()) return true;
  }
  return false;
}

// A select on a synctest bubble's channel must come from that bubble (Go's check).
void check_bubbles(case_state* const* cases, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (cases[i]->kind == case_kind::fallback || !cases[i]->chan) continue;
    if (const bubble* b = cases[i]->chan->bub) {
      bubble_check_chan(b, "select on synctest channel from outside bubble");
    }
  }
}

// Passes 0-3 (the comment at the top) once. kNone: the select was woken to try again (a
// buffered channel's waker had taken its waiter for an element that a lock-free receive
// got first), so it starts over.
std::size_t select_once(case_state* const* cases, small_array<std::uint32_t, 16>& order,
                        std::size_t fallback) GORO_NO_THREAD_SAFETY_ANALYSIS {  // a lock_set
  const std::size_t active = order.size();
  // Pass 0: a case that can proceed now, under its own channel's lock only (a buffered
  // channel's ring needs none). A case that a lock-free peek shows cannot proceed is
  // skipped without touching its channel, so in `select(on_recv(in), on_recv(done))` the
  // shared done channel stays read-only until the select has to wait. Each attempt is a
  // linearisation point of its own; only "none can proceed" needs every lock at once
  // (pass 1).
  // One case and a default (Go's selectnbsend/selectnbrecv): the failed attempt (or the
  // peek) alone is the moment at which nothing could proceed.
  const bool nonblocking = active == 1 && fallback != kNone;
  for (std::uint32_t i : order) {
    chan_core* c = cases[i]->chan;
    if (c->cap > 0) {
      // No peek first: the attempt takes no lock, and the peek would read the other side's
      // position too, one more cache line that the other thread writes.
      if (try_buffered_case_unlocked(cases[i])) return i;
      if (nonblocking) return fallback;
      continue;
    }
    if (cases[i]->kind == case_kind::recv ? recv_would_block(c) : send_would_block(c)) {
      if (nonblocking) return fallback;
      continue;
    }
    c->lock.lock();
    lock_set one{&c, 1};
    if (try_case_locked(cases[i], one)) return i;
    c->lock.unlock();
  }

  // Lock order: by address, each channel once, so that two selects cannot deadlock.
  small_array<chan_core*, 16> chans(active);
  for (std::size_t i = 0; i < active; ++i) chans[i] = cases[order[i]]->chan;
  std::sort(chans.begin(), chans.end());
  lock_set locks{chans.data(),
                 static_cast<std::size_t>(std::unique(chans.begin(), chans.end()) - chans.begin())};

  g* gp = current_g();
  g_on_stack& st = gp->on_stack();
  small_array<waiter, 8> own(active);
  small_array<waiter*, 8> waiters(active);
  locks.lock();
  bool all_bubble = true;  // a synctest bubble's select on its own channels: durable
  for (;;) {
    // Pass 1: the same under every lock, which pass 2 keeps.
    for (std::uint32_t i : order) {
      if (try_case_locked(cases[i], locks)) return i;
    }
    if (fallback != kNone) {
      if (!rings_held_still(cases, order)) continue;  // a buffered case may proceed now
      locks.unlock();
      return fallback;
    }

    // Pass 2: a waiter on every channel, then park.
    const std::uint64_t gen = ++st.select_gen;
    st.select_done.store(gen, std::memory_order_relaxed);
    st.param = nullptr;
    bool kept_taken = false;
    bool buffered = false;
    all_bubble = true;
    for (std::size_t k2 = 0; k2 < active; ++k2) {
      const std::uint32_t i = order[k2];
      case_state* cs = cases[i];
      waiter* w = &own[k2];
      if (cs->chan == st.kept_chan && cs->kind == case_kind::recv && !kept_taken) {
        w = &st.kept;
        kept_taken = true;
      }
      w->gp = gp;
      w->elem = cs->elem;
      w->c = cs->chan;
      w->gen = gen;
      w->case_index = i;
      w->is_select = true;
      w->retry = false;
      waiters[k2] = w;
      buffered |= w->c->cap > 0;
      // Pass 1 found every channel open, under the locks still held (chan.cpp's invariant:
      // a closed channel has no waiters).
      GORO_ASSERT(!cs->chan->closed(), "a select waiter enqueued on a closed channel");
      all_bubble &= w->c->bub != nullptr;
      // A kept waiter still queued from an earlier select keeps its place in the queue.
      if (!is_queued(w)) enqueue(queue_of(cs), w);
    }
    // A buffered channel's ring moves without its lock: a last look at it, the Dekker pair
    // with a lock-free send or receive (see the top of chan.cpp). If a case became ready,
    // take the waiters out again (nobody can have claimed the select: that needs a lock held
    // here) and go back to pass 1.
    if (!buffered) break;
    for (waiter* w : waiters) {
      if (w->c->cap > 0) publish_first(queue_of(cases[w->case_index]));
    }
    if (!buffered_case_ready(cases, order)) break;
    for (std::size_t k2 = 0; k2 < active; ++k2) {
      waiter* w = waiters[k2];
      if (is_queued(w)) unlink(queue_of(cases[w->case_index]), w);
    }
    st.select_done.store(0, std::memory_order_relaxed);
  }
  park_unlocked(
      gp, [&locks] { locks.unlock(); },
      all_bubble ? wait_reason::select_durable : wait_reason::select);

  // Pass 3: dequeue the waiters that did not fire, each under its own channel's lock (the
  // select is claimed: nothing else can complete it now), or keep one queued.
  waiter* fired = st.param;
  st.param = nullptr;
  // Read before pass 3, which may reuse the kept waiter if it is the one that fired.
  const std::uint32_t index = fired ? fired->case_index : 0;
  const bool success = fired && fired->success;
  const bool retry = fired && fired->retry;
  for (waiter* w : waiters) {
    if (w != fired) leave_queue(gp, w, cases[w->case_index]->kind);
  }
  st.select_done.store(0, std::memory_order_relaxed);
  if (!fired) throw goroutine_exit{};  // only shutdown wakes a select without a waiter
  unwind_if_exiting(gp);
  if (retry) return kNone;

  case_state* cs = cases[index];
  if (cs->kind == case_kind::recv) {
    cs->ok = cs->has_value = success;
  } else if (!success) {
    throw panic_error("send on closed channel");
  }
  return index;
}

}  // namespace

std::size_t select_impl(case_state* const* cases, std::size_t n) {
  // A recv case reused from an earlier select may still hold a value nobody took.
  std::size_t fallback = kNone;
  std::size_t active = 0;
  for (std::size_t i = 0; i < n; ++i) {
    case_state* c = cases[i];
    if (c->has_value) {
      c->chan->ops->destroy(c->elem);
      c->has_value = false;
    }
    c->ok = false;
    if (c->kind == case_kind::fallback) {
      if (fallback != kNone) throw panic_error("select: multiple default cases");
      fallback = i;
    } else if (c->chan) {
      ++active;
    }
  }
  if (active == 0) {
    if (fallback != kNone) return fallback;
    g* gp = current_g();
    block_forever(gp, n == 0            ? wait_reason::select_no_cases
                      : gp->bubble_slot ? wait_reason::select_durable
                                        : wait_reason::select);
  }
  // Poll order: a random permutation of the active cases (Fisher-Yates).
  small_array<std::uint32_t, 16> order(active);
  std::size_t k = 0;
  std::uintptr_t any_bubble = 0;  // without a branch per case: see check_bubbles
  for (std::size_t i = 0; i < n; ++i) {
    if (cases[i]->kind == case_kind::fallback || !cases[i]->chan) continue;
    std::size_t j = fastrand() % (k + 1);
    if (j != k) order[k] = order[j];
    order[j] = static_cast<std::uint32_t>(i);
    any_bubble |= reinterpret_cast<std::uintptr_t>(cases[i]->chan->bub);
    ++k;
  }
  if (any_bubble != 0) [[unlikely]]
    check_bubbles(cases, n);
  for (;;) {
    const std::size_t i = select_once(cases, order, fallback);
    if (i != kNone) return i;
  }
}

void release_kept_waiter(g* gp) noexcept {
  g_on_stack& st = gp->on_stack();
  chan_core* c = std::exchange(st.kept_chan, nullptr);
  if (!c) return;
  if (is_queued(&st.kept)) {
    spin_guard lock(c->lock);
    if (is_queued(&st.kept)) unlink(c->recvq, &st.kept);
  }
  chan_release(c);
}

}  // namespace goro::detail

namespace goro {

std::size_t select(std::span<select_case> cases) {
  detail::small_array<detail::case_state*, 16> ptrs(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) ptrs[i] = &cases[i].s_;
  const std::size_t i = detail::select_impl(ptrs.data(), cases.size());
  if (ptrs[i]->ops) ptrs[i]->ops->complete(*ptrs[i]);
  return i;
}

}  // namespace goro
