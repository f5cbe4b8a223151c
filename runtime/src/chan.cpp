// Channel operations: Go's chansend, chanrecv and closechan (chan.go).
#include "chan.hpp"
#include "chan_ring.hpp"

#include <algorithm>
#include <new>

#include <goro/chan.hpp>

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
std::size_t round_up(std::size_t n, std::size_t align) noexcept {
  return (n + align - 1) / align * align;
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

// Parks the current goroutine in q (a buffered channel's, with c's lock held) after a last
// look at the ring: `ready` says whether the operation can proceed now. Returns false,
// with the lock held and the waiter dequeued, if it can; true once woken.
template <class Ready>
bool park_after_last_look(chan_core* c, waitq& q, waiter& me, wait_reason why,
                          Ready ready) GORO_NO_THREAD_SAFETY_ANALYSIS {
  enqueue(q, &me);
  // The Dekker pair with a lock-free operation that filled or emptied the ring (see
  // chan_ring.hpp): it looks at this queue after its operation (after_ring_op); this side
  // looks at the ring after showing itself in the queue.
  publish_first(q);
  if (ready()) {
    unlink(q, &me);
    return false;
  }
  park(me.gp, &unlock_chan, c, why);
  unwind_if_incomplete(c, q, me);
  return true;
}

void send_buffered(chan_core* c, void* value) GORO_NO_THREAD_SAFETY_ANALYSIS {
  for (;;) {
    switch (ring::send_now(c, value)) {
      case ring::push_result::pushed:
        return;
      case ring::push_result::closed:
        throw panic_error("send on closed channel");
      case ring::push_result::full:
        break;
    }
    c->lock.lock();
    if (c->closed()) {
      c->lock.unlock();
      throw panic_error("send on closed channel");
    }
    waiter me = waiter_for(c, value);
    bool pushed = false;
    const wait_reason why = c->bub ? wait_reason::chan_send_durable : wait_reason::chan_send;
    const bool parked = park_after_last_look(c, c->sendq, me, why, [&] {
      return pushed = ring::push(c, value) == ring::push_result::pushed;
    });
    if (!parked) {
      // Pushed under the lock: a receiver that parked earlier is still in recvq.
      waiter* woken = pushed ? handoff_locked(c) : nullptr;
      c->lock.unlock();
      wake_all(woken);
      return;
    }
    if (me.retry) continue;
    if (!me.success) throw panic_error("send on closed channel");
    return;
  }
}

bool recv_buffered(chan_core* c, void* out) GORO_NO_THREAD_SAFETY_ANALYSIS {
  for (;;) {
    if (ring::recv_now(c, out)) return true;
    if (recv_finds_closed(c)) return false;
    c->lock.lock();
    waiter me = waiter_for(c, out);
    bool popped = false;
    const wait_reason why = c->bub ? wait_reason::chan_receive_durable : wait_reason::chan_receive;
    const bool parked = park_after_last_look(
        c, c->recvq, me, why, [&] { return (popped = ring::pop(c, out)) || c->closed(); });
    if (!parked) {
      // With the lock held, closed stays closed: an empty ring is drained for good.
      waiter* woken = popped ? handoff_locked(c) : nullptr;
      c->lock.unlock();
      wake_all(woken);
      return popped;
    }
    if (me.retry) continue;
    return me.success;
  }
}

}  // namespace

chan_core* chan_make(const elem_ops* ops, std::size_t cap) {
  const std::size_t align = chan_alignment(ops, cap);
  // A slot: the sequence number, then the element.
  const std::size_t value_offset = round_up(sizeof(std::uint64_t), ops->align);
  const std::size_t stride =
      round_up(value_offset + ops->size, std::max(ops->align, alignof(std::uint64_t)));
  const std::size_t header = round_up(sizeof(chan_core), align);
  const std::size_t ring_bytes = cap > 0 ? round_up(sizeof(ring_pos), align) : 0;
  // (Without a division: it was a third of the cost of making a small channel.)
  std::size_t bytes = 0;
  if (cap > ring::kMaxCap || __builtin_mul_overflow(cap, stride, &bytes) ||
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
  c->stride = stride;
  c->value_offset = value_offset;
  c->buf = mem + header + ring_bytes;
  if (synctest_bubbles.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    c->bub = current_bubble();
  }
  if (cap > 0) {
    c->ring = ::new (mem + header) ring_pos(ring::kFirstPos);
    for (std::size_t i = 0; i < cap; ++i)
      ::new (c->ring_slot(i)) std::atomic<std::uint64_t>(ring::kFirstPos + i);
  }
  return c;
}

void chan_destroy(chan_core* c) noexcept {
  if (c->ticker) {
    // After the stop, no firing of the ticker touches c (timer.cpp: stop bumps its seq, a
    // firing under way finishes first, as stop waits for its lock).
    timer_stop(c->ticker);
    timer_release(c->ticker);
  }
  if (c->cap > 0) {
    while (ring::pop(c, nullptr)) {
    }
  }
  void* raw = c->allocation;
  c->~chan_core();
  ::operator delete(raw);
}

// A receiver is parked, so the ring was empty: hand it the value directly, as Go's chansend
// does, instead of through the ring (a push, then a pop under the lock). False: go through
// the ring (which also tells a closed channel).
bool hand_to_parked_receiver(chan_core* c, void* value) noexcept {
  c->lock.lock();
  waiter* r = !c->closed() && c->ring->empty() ? dequeue(c->recvq) : nullptr;
  c->lock.unlock();
  if (!r) return false;
  c->ops->move_construct(r->elem, value);
  wake(r, true);
  return true;
}

waiter* handoff_locked(chan_core* c) noexcept {
  waiter* woken = nullptr;
  waiter** tail = &woken;
  auto complete = [&tail](waiter* w, bool success) {
    w->success = success;
    w->retry = !success;
    w->next = nullptr;
    *tail = w;
    tail = &w->next;
    return success;
  };
  // A pop makes room for a sender and a push brings an element for a receiver, so go on
  // until one side is served. A waiter taken out of its queue for an element (room) that a
  // lock-free operation took first is woken to try again: a select may be claimed by then.
  for (bool moved = true; moved;) {
    moved = false;
    while (!empty(c->recvq) && !c->ring->empty()) {
      waiter* r = dequeue(c->recvq);
      if (!r || !complete(r, ring::pop(c, r->elem))) break;
      moved = true;
    }
    while (!empty(c->sendq) && !c->ring->full()) {
      waiter* s = dequeue(c->sendq);
      if (!s || !complete(s, ring::push(c, s->elem) == ring::push_result::pushed)) break;
      moved = true;
    }
  }
  return woken;
}

void handoff(chan_core* c) noexcept {
  c->lock.lock();
  waiter* woken = handoff_locked(c);
  c->lock.unlock();
  wake_all(woken);
}

void wake_all(waiter* list) noexcept {
  while (list) {
    waiter* next = list->next;
    wake(list, list->success);
    list = next;
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

void chan_send(chan_core* c, void* value) GORO_NO_THREAD_SAFETY_ANALYSIS {
  if (!c) block_forever(wait_reason::chan_send_nil);
  if (c->bub) [[unlikely]] {
    bubble_check_chan(c->bub, "send on synctest channel from outside bubble");
  }
  if (c->cap > 0) return send_buffered(c, value);
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
  waiter me = waiter_for(c, value);
  enqueue(c->sendq, &me);
  park(me.gp, &unlock_chan, c, c->bub ? wait_reason::chan_send_durable : wait_reason::chan_send);
  unwind_if_incomplete(c, c->sendq, me);
  if (!me.success) throw panic_error("send on closed channel");
}

bool chan_recv(chan_core* c, void* out) GORO_NO_THREAD_SAFETY_ANALYSIS {
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
  waiter me = waiter_for(c, out);
  enqueue(c->recvq, &me);
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
  c->lock.lock();
  if (c->closed()) {
    c->lock.unlock();
    throw panic_error("close of closed channel");
  }
  c->closed_.store(true, std::memory_order_release);
  if (c->cap > 0) c->ring->tail.fetch_or(ring_pos::kClosed, std::memory_order_acq_rel);
  // Collect every waiter, then wake them with the lock released. A parked receiver of a
  // buffered channel may still get an element: one whose send claimed its slot before the
  // close and is publishing it now (pop waits for it), or one that the lock-free send's
  // handoff has not reached yet.
  waiter* woken = nullptr;
  waiter** tail = &woken;
  for (waitq* q : {&c->sendq, &c->recvq}) {
    while (waiter* w = dequeue(*q)) {
      w->success = q == &c->recvq && c->cap > 0 && ring::pop(c, w->elem);
      *tail = w;
      tail = &w->next;
    }
  }
  *tail = nullptr;
  c->lock.unlock();
  wake_all(woken);
}

bool chan_try_send(chan_core* c, void* value) noexcept {
  if (c->cap > 0) return ring::send_now(c, value) == ring::push_result::pushed;
  c->lock.lock();
  if (c->closed()) {
    c->lock.unlock();
    return false;
  }
  waiter* r = dequeue(c->recvq);
  c->lock.unlock();
  if (!r) return false;
  c->ops->move_construct(r->elem, value);
  wake(r, true);
  return true;
}

std::size_t chan_drain(chan_core* c) noexcept {
  if (c->cap == 0) return 0;
  std::size_t n = 0;
  while (ring::pop(c, nullptr)) ++n;
  if (n > 0) after_ring_op(c, c->sendq);
  return n;
}

std::size_t chan_len(const chan_core* c) noexcept {
  return c->cap > 0 && !c->timer ? ring::size(c) : 0;
}

std::size_t chan_cap(const chan_core* c) noexcept {
  return c->timer ? 0 : c->cap;
}

}  // namespace goro::detail
