// Channel operations: Go's chansend, chanrecv and closechan (chan.go).
#include "chan.hpp"

#include <algorithm>
#include <new>

#include <goro/chan.hpp>

#include "sched.hpp"
#include "waitq.hpp"

namespace goro::detail {

namespace {

void unlock_chan(void* c) {
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
// shutdown unwinds the goroutine. Dequeue it and unwind.
void unwind_if_incomplete(chan_core* c, waitq& q, waiter& w) {
  // A waker unlinks the waiter before it readies us, so this read is ordered after its
  // write; only shutdown resumes a goroutine whose waiter is still queued.
  if (!w.queued) return;
  std::lock_guard<spinlock> lock(c->lock);
  if (!w.queued) return;
  unlink(q, &w);
  throw goroutine_exit{};
}

// A buffered channel starts on a cache line and its buffer on a line of its own: senders
// writing slots next to the header made every other operation miss on the header's
// read-mostly fields (cap, ops, buf). An unbuffered channel stays a plain allocation.
constexpr std::size_t kCacheLine = 64;
std::size_t chan_alignment(const elem_ops* ops, std::size_t cap) noexcept {
  return std::max({ops->align, alignof(chan_core), cap > 0 ? kCacheLine : std::size_t{1}});
}

}  // namespace

chan_core* chan_make(const elem_ops* ops, std::size_t cap) {
  const std::size_t align = chan_alignment(ops, cap);
  const std::size_t stride = (ops->size + ops->align - 1) / ops->align * ops->align;
  const std::size_t header = (sizeof(chan_core) + align - 1) / align * align;
  if (cap > (std::size_t{1} << 40) / (stride ? stride : 1))
    throw panic_error("makechan: size out of range");
  // Aligned by hand: operator new with an alignment goes through memalign, which made
  // creating a small channel twice as slow.
  void* raw = ::operator new(header + cap * stride + align - 1);
  void* mem = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(raw) + align - 1) &
                                      ~(std::uintptr_t{align} - 1));
  auto* c = ::new (mem) chan_core();
  c->allocation = raw;
  c->ops = ops;
  c->cap = cap;
  c->stride = stride;
  c->buf = static_cast<std::byte*>(mem) + header;
  return c;
}

void chan_destroy(chan_core* c) noexcept {
  for (std::size_t i = 0, n = c->count(); i < n; ++i)
    c->ops->destroy(c->slot((c->recvx + i) % c->cap));
  void* raw = c->allocation;
  c->~chan_core();
  ::operator delete(raw);
}

void put_in_buffer_locked(chan_core* c, void* value) noexcept {
  c->ops->move_construct(c->slot(c->sendx), value);
  if (++c->sendx == c->cap) c->sendx = 0;
  c->set_count(c->count() + 1);
}

void take_from_buffer_locked(chan_core* c, void* out) noexcept {
  void* s = c->slot(c->recvx);
  c->ops->move_construct(out, s);
  c->ops->destroy(s);
  if (++c->recvx == c->cap) c->recvx = 0;
  c->set_count(c->count() - 1);
}

void rotate_with_sender_locked(chan_core* c, void* out, waiter* sender) noexcept {
  void* s = c->slot(c->recvx);
  c->ops->move_construct(out, s);
  c->ops->destroy(s);
  c->ops->move_construct(s, sender->elem);
  if (++c->recvx == c->cap) c->recvx = 0;
  c->sendx = c->recvx;
}

void wake(waiter* w, bool success) noexcept {
  w->success = success;
  g* gp = w->gp;
  gp->param = w;
  // A select still on its way to parking (park_unlocked) readies itself once parked. Only
  // selects park so; the load first, since most are parked already and a failed CAS costs
  // as much as a good one.
  std::uint8_t parking = 1;
  if (w->is_select && gp->parking.load(std::memory_order_acquire) == 1 &&
      gp->parking.compare_exchange_strong(parking, 2, std::memory_order_acq_rel)) {
    return;
  }
  ready(gp);
}

void chan_send(chan_core* c, void* value) {
  if (!c) block_forever(wait_reason::chan_send_nil);
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
  if (c->count() < c->cap) {
    put_in_buffer_locked(c, value);
    c->lock.unlock();
    return;
  }
  g* gp = current_g();
  waiter me;
  me.gp = gp;
  me.elem = value;
  me.c = c;
  gp->param = nullptr;
  enqueue(c->sendq, &me);
  park(gp, &unlock_chan, c, wait_reason::chan_send);
  unwind_if_incomplete(c, c->sendq, me);
  if (!me.success) throw panic_error("send on closed channel");
}

bool chan_recv(chan_core* c, void* out) {
  if (!c) block_forever(wait_reason::chan_receive_nil);
  // Closed and drained is forever (nothing can be sent after close): no lock needed. The
  // acquire pairs with close's release, so what was written before close is visible.
  if (recv_finds_closed(c)) return false;
  c->lock.lock();
  if (c->closed() && c->count() == 0) {
    c->lock.unlock();
    return false;
  }
  if (waiter* s = dequeue(c->sendq)) {
    if (c->cap == 0) {
      c->lock.unlock();
      c->ops->move_construct(out, s->elem);
    } else {
      rotate_with_sender_locked(c, out, s);
      c->lock.unlock();
    }
    wake(s, true);
    return true;
  }
  if (c->count() > 0) {
    take_from_buffer_locked(c, out);
    c->lock.unlock();
    return true;
  }
  g* gp = current_g();
  waiter me;
  me.gp = gp;
  me.elem = out;
  me.c = c;
  gp->param = nullptr;
  enqueue(c->recvq, &me);
  park(gp, &unlock_chan, c, wait_reason::chan_receive);
  unwind_if_incomplete(c, c->recvq, me);
  return me.success;
}

void chan_close(chan_core* c) {
  if (!c) throw panic_error("close of nil channel");
  c->lock.lock();
  if (c->closed()) {
    c->lock.unlock();
    throw panic_error("close of closed channel");
  }
  c->closed_.store(true, std::memory_order_release);
  // Collect every waiter, then wake them with the lock released.
  waiter* woken = nullptr;
  waiter** tail = &woken;
  for (waitq* q : {&c->recvq, &c->sendq}) {
    while (waiter* w = dequeue(*q)) {
      *tail = w;
      tail = &w->next;
    }
  }
  c->lock.unlock();
  while (woken) {
    waiter* next = woken->next;
    wake(woken, false);
    woken = next;
  }
}

bool chan_try_send(chan_core* c, void* value) noexcept {
  c->lock.lock();
  if (c->closed()) {
    c->lock.unlock();
    return false;
  }
  if (waiter* r = dequeue(c->recvq)) {
    c->lock.unlock();
    c->ops->move_construct(r->elem, value);
    wake(r, true);
    return true;
  }
  bool room = c->count() < c->cap;
  if (room) put_in_buffer_locked(c, value);
  c->lock.unlock();
  return room;
}

std::size_t chan_drain(chan_core* c) noexcept {
  std::lock_guard<spinlock> lock(c->lock);
  const std::size_t n = c->count();
  for (std::size_t i = 0; i < n; ++i) c->ops->destroy(c->slot((c->recvx + i) % c->cap));
  c->set_count(0);
  c->sendx = c->recvx;
  return n;
}

std::size_t chan_len(const chan_core* c) noexcept {
  auto* m = const_cast<chan_core*>(c);
  std::lock_guard<spinlock> lock(m->lock);
  return m->count();
}

std::size_t chan_cap(const chan_core* c) noexcept {
  return c->cap;
}

}  // namespace goro::detail
