// Channel operations: Go's chansend, chanrecv and closechan (chan.go), and what select
// (select.cpp) does to a buffered channel. This file is the only one that moves elements
// between a buffered channel's ring (chan_ring.hpp, a plain lock-free queue) and its
// parked waiters (waitq.hpp).
//
// Invariants:
// - The wait queues are read and written under c->lock; only their `first` is also peeked
//   without it (has_waiter, and the Dekker pair below).
// - A closed channel has no waiters: close takes every one out under the lock, and every
//   enqueue checks `closed` under the same lock first.
// - Unbuffered: a goroutine parks on one side only after dequeue found no live waiter on the
//   other, so at least one of sendq and recvq holds no live waiter (the other may hold
//   select waiters that another case has claimed and not yet unlinked, or a kept waiter,
//   select.cpp), except for one select blocked on both sending and receiving.
// - Buffered: a receiver is parked only while the ring is empty, a sender only while it is
//   full, once every operation in flight has finished its look at the queues. Not at every
//   moment (so not asserted): the ring moves without the lock, so a push may fill the
//   ring under a parked receiver; the operation that filled or emptied the ring then serves
//   the other side under the lock (serve_parked_locked).
// - Buffered and closed: the ring's closed bit is set under the lock, with closed_, so from
//   then on no push succeeds and parked waiters are never added; the ring drains by pops.
//
// Buffered send (chan_send_now, then send_buffered), in chan.go's order:
//   1. A receiver is parked: it parked on an empty ring, so hand it the value directly
//      (under the lock: open, ring still empty, one dequeued) instead of a push, a lock and
//      a pop. Go checks "closed" first; here the lock checks it, and so does the push.
//   2. Room in the ring: push without the lock. The ring refuses when closed (panic).
//   3. After a push, a receiver may have parked before the element was there, having
//      looked at the ring too early: serve it (serve_parked).
//   Steps 1-3 are inline in chan.hpp (chan_send_now), for chan_send, chan_try_send and
//   select's first pass; the rare parts (hand_to_parked_receiver, serve_parked) are here.
//   4. Full: take the lock (closed: panic), enqueue, take a last look at the ring (push)
//      and park if there is still no room. Woken: sent, closed (panic), or told to retry.
// Buffered receive (chan_recv_now, then recv_buffered):
//   1. Pop without the lock; then serve a sender that parked on the full ring: its value
//      goes into the room (Go's "take the head, put the sender's value at the tail").
//   2. Empty, and closed: false (closed and drained is permanent).
//   3. Empty: take the lock, enqueue, last look (pop, or closed), park.
// The two looks are a Dekker pair of seq_cst operations: the ring's position CAS and then
// the load of the other side's `first` (has_waiter_sc) on one side; the store of `first`
// (publish_first) and then the loads of the positions on the other. At least one of the
// two sees the other, so no waiter parks for an element or a room that nobody will hand it.
// A waiter that serve_parked_locked took out of its queue for an element (room) that a
// lock-free operation got first is woken to try again (waiter::retry): a select may be
// claimed by then, so it cannot be put back.
#include "chan.hpp"

#include <algorithm>
#include <atomic>
#include <new>

#include <goro/chan.hpp>

#include "assert.hpp"
#include "sched.hpp"
#include "synctest.hpp"
#include "waitq.hpp"

namespace goro::detail {

namespace {

// park's unlock callback: it releases a lock that another function took, which the
// thread-safety analysis cannot follow (so neither can it follow the functions that hand
// c->lock to park below).
void unlock_chan(void* c) GORO_NO_THREAD_SAFETY_ANALYSIS {
  static_cast<chan_core*>(c)->lock.unlock();
}

// A nil channel: block forever (until shutdown unwinds the goroutine).
[[noreturn]] void block_forever(wait_reason why) {
  g* gp = current_g();
  for (;;) {
    park(
        gp, [](void*) {}, nullptr, why);
    if (must_unwind(gp)) throw goroutine_exit{};
  }
}

// After park returns: a waiter still queued was not completed, which happens only when
// shutdown unwinds the goroutine. Dequeue it and unwind. A completed one unwinds too if
// main_fn has returned (unwind_if_exiting).
void unwind_if_incomplete(chan_core* c, waitq& q, waiter& w) {
  // A waker unlinks the waiter before it readies us, so this read is ordered after its
  // write; only shutdown resumes a goroutine whose waiter is still queued.
  if (w.queued) {
    // Locked by hand, not by a guard: a guard in scope would be one more landing pad for
    // the unwinder to stop at and resume from (~15% of a goroutine's unwinding).
    c->lock.lock();
    const bool incomplete = w.queued;
    if (incomplete) unlink(q, &w);
    c->lock.unlock();
    if (incomplete) throw goroutine_exit{};
  }
  unwind_if_exiting(w.gp);
}

// A buffered channel starts on a cache line, its ring positions take a line each and its
// slots start on a line of their own: senders writing slots next to the header made every
// other operation miss on the header's read-mostly fields (cap, ops, buf). An unbuffered
// channel stays a plain allocation.
constexpr std::size_t kCacheLine = 64;
std::size_t chan_alignment(const elem_ops* ops, std::size_t cap) noexcept {
  return std::max({ops->align, alignof(chan_core), cap > 0 ? kCacheLine : std::size_t{1}});
}
// (A power of two: a mask, not a division.)
std::size_t round_up(std::size_t n, std::size_t align) noexcept {
  return (n + align - 1) & ~(align - 1);
}

// A waiter for the current goroutine on c, with its value (or room for one) at elem.
waiter waiter_for(chan_core* c, void* elem) noexcept {
  waiter w;
  w.gp = current_g();
  w.gp->on_stack().param = nullptr;
  w.elem = elem;
  w.c = c;
  return w;
}

// Every waiter of chan_send and chan_recv goes in through here (select's go in in its pass
// 2, which asserts the same): a closed channel must have none.
void enqueue_waiter(chan_core* c, waitq& q, waiter* w) noexcept GORO_REQUIRES(c->lock) {
  GORO_ASSERT(!c->closed(), "a waiter enqueued on a closed channel");
  enqueue(q, w);
}

// Buffered, with c's lock held: gives elements of the ring to parked receivers and room to
// parked senders, as long as both are there (a pop makes room for a sender, and that
// sender's push brings an element for a receiver). A waiter taken out of its queue for an
// element (room) that a lock-free operation took first is woken to try again.
void serve_parked_locked(chan_core* c, wake_list& woken) noexcept GORO_REQUIRES(c->lock) {
  auto r = ring_of(c);
  auto complete = [&woken](waiter* w, bool success) {
    w->success = success;
    w->retry = !success;
    woken.add(w);
    return success;
  };
  for (bool moved = true; moved;) {
    moved = false;
    while (!empty(c->recvq) && !r.empty()) {
      waiter* w = dequeue(c->recvq);
      if (!w || !complete(w, r.pop(w->elem))) break;
      moved = true;
    }
    while (!empty(c->sendq) && !r.full()) {
      waiter* w = dequeue(c->sendq);
      if (!w) break;
      const ring::push_result pushed = r.push(w->elem);
      // Close empties sendq under this lock, so the ring cannot be closed under a sender.
      GORO_ASSERT(pushed != ring::push_result::closed, "a parked sender on a closed channel");
      if (!complete(w, pushed == ring::push_result::pushed)) break;
      moved = true;
    }
  }
}

// Parks the current goroutine in q (a buffered channel's, with c's lock held) after a last
// look at the ring: `ready` says whether the operation can proceed now. Returns false,
// with the lock held and the waiter dequeued, if it can; true once woken.
template <class Ready>
bool park_after_last_look(chan_core* c, waitq& q, waiter& me, wait_reason why,
                          Ready ready) GORO_NO_THREAD_SAFETY_ANALYSIS {  // park unlocks
  enqueue_waiter(c, q, &me);
  // This side of the Dekker pair (see the top): show the waiter, then look at the ring.
  publish_first(q);
  if (ready()) {
    unlink(q, &me);
    return false;
  }
  park(me.gp, &unlock_chan, c, why);
  unwind_if_incomplete(c, q, me);
  return true;
}

void send_buffered(chan_core* c, void* value) GORO_NO_THREAD_SAFETY_ANALYSIS {  // park
  for (;;) {
    // Steps 1-3 (the top of the file).
    switch (chan_send_now(c, value)) {
      case ring::push_result::pushed:
        return;
      case ring::push_result::closed:
        throw panic_error("send on closed channel");
      case ring::push_result::full:
        break;
    }
    // Step 4: park.
    c->lock.lock();
    if (c->closed()) {
      c->lock.unlock();
      throw panic_error("send on closed channel");
    }
    waiter me = waiter_for(c, value);
    bool pushed = false;
    const wait_reason why = c->bub ? wait_reason::chan_send_durable : wait_reason::chan_send;
    const bool parked = park_after_last_look(c, c->sendq, me, why, [&] {
      return pushed = ring_of(c).push(value) == ring::push_result::pushed;
    });
    if (!parked) {
      // Pushed under the lock: a receiver that parked earlier is still in recvq.
      wake_list woken;
      if (pushed) serve_parked_locked(c, woken);
      c->lock.unlock();
      wake_all(woken);
      return;
    }
    if (me.retry) continue;
    if (!me.success) throw panic_error("send on closed channel");
    return;
  }
}

bool recv_buffered(chan_core* c, void* out) GORO_NO_THREAD_SAFETY_ANALYSIS {  // park
  for (;;) {
    // Steps 1-2.
    if (chan_recv_now(c, out)) return true;
    if (recv_finds_closed(c)) return false;
    // Step 3: park.
    c->lock.lock();
    waiter me = waiter_for(c, out);
    bool popped = false;
    if (c->closed()) {
      // Closed between the look and the lock: no parking on a closed channel, and with the
      // lock held closed stays closed, so an empty ring is drained for good.
      popped = ring_of(c).pop(out);
    } else {
      const wait_reason why =
          c->bub ? wait_reason::chan_receive_durable : wait_reason::chan_receive;
      const bool parked = park_after_last_look(c, c->recvq, me, why, [&] {
        return popped = ring_of(c).pop(out);  // (open: checked above, under this lock)
      });
      if (parked) {
        if (me.retry) continue;
        return me.success;
      }
    }
    wake_list woken;
    if (popped) serve_parked_locked(c, woken);  // room for a parked sender
    c->lock.unlock();
    wake_all(woken);
    return popped;
  }
}

}  // namespace

void serve_parked(chan_core* c) noexcept {
  wake_list woken;
  {
    spin_guard hold(c->lock);
    serve_parked_locked(c, woken);
  }
  wake_all(woken);
}

bool hand_to_parked_receiver(chan_core* c, void* value) noexcept {
  waiter* w = nullptr;
  {
    spin_guard hold(c->lock);
    if (!c->closed() && ring_of(c).empty()) w = dequeue(c->recvq);
  }
  if (!w) return false;
  c->ops->move_construct(w->elem, value);
  wake(w, true);
  return true;
}

chan_core* chan_make(const elem_ops* ops, std::size_t cap) {
  const std::size_t align = chan_alignment(ops, cap);
  const ring::layout slots = ring::layout_of(ops);
  const std::size_t header = round_up(sizeof(chan_core), align);
  const std::size_t ring_bytes = cap > 0 ? round_up(sizeof(ring_pos), align) : 0;
  // (Without a division: it was a third of the cost of making a small channel.)
  std::size_t bytes = 0;
  if (cap > ring::kMaxCap || __builtin_mul_overflow(cap, slots.stride, &bytes) ||
      bytes > (std::size_t{1} << 40))
    throw panic_error("makechan: size out of range");
  // Aligned by hand: operator new with an alignment goes through memalign, which made
  // creating a small channel twice as slow.
  void* raw = ::operator new(header + ring_bytes + bytes + align - 1);
  auto* mem = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(raw) + align - 1) &
                                           ~(std::uintptr_t{align} - 1));
  auto* c = ::new (mem) chan_core();
  c->allocation = raw;
  c->ops = ops;
  c->cap = cap;
  if (synctest_bubbles.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    c->bub = current_bubble();
  }
  if (cap > 0) {
    c->slots = slots;
    c->buf = mem + header + ring_bytes;
    c->ring = ring::create(mem + header, c->buf, cap, ops);
  }
  return c;
}

// The last reference is gone: nobody else can touch c. Waiters may still be queued, and
// that is not asserted against: a goroutine that reached c by reference (a main_fn local
// that a [&] lambda captured, the Go shape) holds no handle, and main_fn's locals die
// while it is parked; from then on it is released at exit and never runs again, so its
// waiter is never touched (samples/chat does this). Within a run, the same is the
// program's use-after-free, as with any object captured by reference.
void chan_destroy(chan_core* c) noexcept GORO_NO_THREAD_SAFETY_ANALYSIS {
  if (c->ticker) {
    // After the stop, no firing of the ticker touches c (timer.cpp: stop bumps its seq, a
    // firing under way finishes first, as stop waits for its lock).
    timer_stop(c->ticker);
    timer_release(c->ticker);
  }
  // (The peek first: most channels die empty, and the drain's loop is not free to set up.)
  if (c->cap > 0 && !c->ring->empty()) ring_of(c).clear();
  void* raw = c->allocation;
  c->~chan_core();
  ::operator delete(raw);
}

// Select's pass 1: as chan_send_now and chan_recv_now, with the lock held, so the queues
// are settled and serving them needs no Dekker pair.
ring::push_result chan_send_locked(chan_core* c, void* value, wake_list& woken) noexcept {
  if (c->closed()) return ring::push_result::closed;
  const ring::push_result r = ring_of(c).push(value);
  if (r == ring::push_result::pushed) serve_parked_locked(c, woken);
  return r;
}

bool chan_recv_locked(chan_core* c, void* out, bool* ok, wake_list& woken) noexcept {
  *ok = ring_of(c).pop(out);
  if (!*ok && !c->closed()) return false;  // (closed, with the lock held: drained for good)
  serve_parked_locked(c, woken);
  return true;
}

void wake_all(const wake_list& list) noexcept {
  for (waiter* w = list.first; w;) {
    waiter* next = w->next;
    wake(w, w->success);
    w = next;
  }
}

void wake(waiter* w, bool success) noexcept {
  w->success = success;
  g* gp = w->gp;
  g_on_stack& st = gp->on_stack();
  st.param = w;
  // A select still on its way to parking (park_unlocked) readies itself once parked (the
  // parking handshake, sched.hpp). Only selects park so.
  if (w->is_select && wake_while_parking(st)) return;
  ready(gp);
}

void chan_send(chan_core* c, void* value) GORO_NO_THREAD_SAFETY_ANALYSIS {  // park unlocks
  if (!c) block_forever(wait_reason::chan_send_nil);
  if (c->bub) [[unlikely]] {
    bubble_check_chan(c->bub, "send on synctest channel from outside bubble");
  }
  if (c->cap > 0) return send_buffered(c, value);
  // Unbuffered (chansend without a buffer): closed, a parked receiver, or park.
  c->lock.lock();
  if (c->closed()) {
    c->lock.unlock();
    throw panic_error("send on closed channel");
  }
  if (waiter* r = dequeue(c->recvq)) {
    c->lock.unlock();
    c->ops->move_construct(r->elem, value);
    wake(r, true);
    return;
  }
  GORO_ASSERT(empty(c->recvq), "dequeue left a waiter behind");
  waiter me = waiter_for(c, value);
  enqueue_waiter(c, c->sendq, &me);
  park(me.gp, &unlock_chan, c, c->bub ? wait_reason::chan_send_durable : wait_reason::chan_send);
  unwind_if_incomplete(c, c->sendq, me);
  if (!me.success) throw panic_error("send on closed channel");
}

bool chan_recv(chan_core* c, void* out) GORO_NO_THREAD_SAFETY_ANALYSIS {  // park unlocks
  if (!c) block_forever(wait_reason::chan_receive_nil);
  if (c->bub) [[unlikely]] {
    bubble_check_chan(c->bub, "receive on synctest channel from outside bubble");
  }
  if (c->cap > 0) return recv_buffered(c, out);
  // Closed is forever (nothing can be sent after close): no lock needed. The acquire pairs
  // with close's release, so what was written before close is visible.
  if (recv_finds_closed(c)) return false;
  c->lock.lock();
  if (c->closed()) {
    c->lock.unlock();
    return false;
  }
  if (waiter* s = dequeue(c->sendq)) {
    c->lock.unlock();
    c->ops->move_construct(out, s->elem);
    wake(s, true);
    return true;
  }
  GORO_ASSERT(empty(c->sendq), "dequeue left a waiter behind");
  waiter me = waiter_for(c, out);
  enqueue_waiter(c, c->recvq, &me);
  park(me.gp, &unlock_chan, c,
       c->bub ? wait_reason::chan_receive_durable : wait_reason::chan_receive);
  unwind_if_incomplete(c, c->recvq, me);
  return me.success;
}

void chan_close(chan_core* c) {
  if (!c) throw panic_error("close of nil channel");
  if (c->bub) [[unlikely]] {
    bubble_check_chan(c->bub, "close of synctest channel from outside bubble");
  }
  wake_list woken;
  {
    spin_guard hold(c->lock);
    if (c->closed()) throw panic_error("close of closed channel");
    c->closed_.store(true, std::memory_order_release);
    if (c->cap > 0) ring_of(c).close();
    // Collect every waiter, then wake them with the lock released. A parked receiver of a
    // buffered channel may still get an element: one whose push claimed its slot before the
    // close and is publishing it now (pop waits for it), or one whose pusher has not served
    // the parked receivers yet (step 3 of the send).
    for (waitq* q : {&c->sendq, &c->recvq}) {
      while (waiter* w = dequeue(*q)) {
        w->success = q == &c->recvq && c->cap > 0 && ring_of(c).pop(w->elem);
        woken.add(w);
      }
    }
    GORO_ASSERT(empty(c->sendq) && empty(c->recvq), "a closed channel with waiters");
  }
  wake_all(woken);
}

bool chan_try_send(chan_core* c, void* value) noexcept {
  if (c->cap > 0) return chan_send_now(c, value) == ring::push_result::pushed;
  waiter* r = nullptr;
  {
    spin_guard hold(c->lock);
    if (!c->closed()) r = dequeue(c->recvq);
  }
  if (!r) return false;
  c->ops->move_construct(r->elem, value);
  wake(r, true);
  return true;
}

std::size_t chan_drain(chan_core* c) noexcept {
  if (c->cap == 0) return 0;
  const std::size_t n = ring_of(c).clear();
  // Room for senders that parked on the full ring (the same look as chan_recv_now's).
  if (n > 0 && has_waiter_sc(&c->sendq)) serve_parked(c);
  return n;
}

std::size_t chan_len(const chan_core* c) noexcept {
  return c->cap > 0 && !c->timer ? ring_of(const_cast<chan_core*>(c)).size() : 0;
}

std::size_t chan_cap(const chan_core* c) noexcept {
  return c->timer ? 0 : c->cap;
}

}  // namespace goro::detail
