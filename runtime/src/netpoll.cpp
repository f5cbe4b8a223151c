// Poll descriptors and the epoll poller (Go's netpoll.go, netpoll_epoll.go).
//
// Invariants of a poll_desc (read these first):
// - Its memory is never freed while the process lives: descriptors are recycled through a
//   free list (Go's pollCache), because an epoll event or a deadline timer may still name a
//   descriptor after it was closed, and reading it must stay safe.
// - Its fd is registered once, edge-triggered for reading and writing, with its address and
//   its 16-bit `tag` as the event's data. `tag` changes whenever the descriptor is
//   recycled, so an event meant for an earlier use is dropped (Go's fdseq).
// - slot[d], one per direction, is kEmpty, kReady (an edge came that no waiter consumed),
//   kWaiting (a goroutine is on its way to parking) or the g* of a parked goroutine (Go's
//   pdReady/pdWait/G). Only the waiter moves it kEmpty -> kWaiting -> g* (the last step
//   after it is off its stack) and takes kReady; an edge sets kReady, a deadline or
//   poll_evict sets kEmpty; whoever takes a g* out of the slot readies that goroutine.
// - `info` (closing, read expired, write expired) is written under `lock`, read without.
//   A waiter publishes kWaiting and then reads `info`; an error setter writes `info` and
//   then empties the slot: one of the two sees the other (all seq_cst), so a close or a
//   deadline never misses a waiter.
// - deadline[d] and seq[d] are under `lock`. seq[d] changes whenever deadline d is set and
//   when the descriptor is evicted or recycled; a deadline timer carries the seq it was
//   armed for and does nothing if it changed (Go's rseq/wseq).
//
// The io_uring completion back end (bench/RESULTS.md, "io_uring: measured, and the
// decision": raw io_uring spent 19-28% less CPU per request than raw epoll, by making
// ~0.05 system calls per ping-pong request instead of 3). open() chooses it by default
// where the kernel lets it set up a ring (GORO_NETPOLL=auto, see kDefaultBackend; =uring
// insists; =epoll declines it), and only the
// recv and send of stream sockets (net's conns) use it; everything else stays on readiness
// through the same epoll instance: accept, connect, datagrams, goro::io's waits, a plain
// thread's read. One shared ring (uring.hpp), not one per worker: a goroutine parked on a
// recv may be resumed by whichever worker reaps the CQE, as epoll's events are taken by
// whichever worker polls. Its invariants, on top of those above:
// - op[d] names the io_op in flight in direction d (under `lock`), from the moment its SQE
//   is queued until its goroutine, woken by the CQE, takes it out. The SQE is queued under
//   `lock` after `info` was checked, and an error setter (deadline, poll_evict) writes `info`
//   and then cancels op[d] under the same lock: no op starts after its error, and none that
//   started misses its cancel. The cancel is submitted at once, behind the op's SQE.
// - A goroutine returns from poll_io only once its op is kOpDone (the kernel is done with
//   the buffer on its stack): after a cancel it still parks until the cancelled CQE. If
//   shutdown resumes it before that, it cancels and reaps the ring itself until it is.
// - An -ECANCELED result with no error in `info` (a deadline re-armed, or the submitting
//   thread went away) is not an error: the op is queued again.
// - The worker that sleeps in the poller sleeps in the ring (uring::wait, until the
//   nearest timer); a POLL_ADD on the epoll descriptor, re-armed by every poll, turns
//   epoll's events, and wake()'s eventfd among them, into a CQE that ends the sleep. Any
//   poll may reap that CQE; one that does not wait re-arms and submits at once, so that
//   the sleeper is never left asleep with its CQE taken and nothing armed.
// - Batching: an op's SQE is only queued; the worker submits when it runs out of
//   goroutines (find_runnable), when it polls, or when the oldest SQE waited 100 us, so a
//   worker's whole batch of recvs and sends costs one io_uring_enter.
// - A descriptor opened with poll_register::on_wait joins epoll at its first poll_wait
//   (`registered`): its data would otherwise raise epoll events nobody waits for. Adding
//   an edge-triggered descriptor reports its present readiness, so nothing is missed.
#include "netpoll.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <goro/detail/spinlock.hpp>

#include "sched.hpp"
#include "stack_shrink.hpp"
#include "timer.hpp"
#include "uring.hpp"

namespace goro::detail {

namespace {

constexpr std::uintptr_t kEmpty = 0, kReady = 1, kWaiting = 2;
constexpr std::uint8_t kClosing = 1, kReadExpired = 2, kWriteExpired = 4;
constexpr std::uint64_t kBreakData = 0;  // the eventfd's epoll data: no descriptor is at 0
constexpr int kRead = 0, kWrite = 1;
constexpr int kDescBlock = 64;  // descriptors allocated at once (desc_alloc)

constexpr std::uint8_t expired_bit(int d) noexcept {
  return d == kRead ? kReadExpired : kWriteExpired;
}

}  // namespace

struct poll_desc {
  spinlock lock;
  int fd = -1;
  std::atomic<std::uint16_t> tag{0};
  std::uint64_t poller_id = 0;  // the netpoller this fd is registered with
  std::atomic<std::uint8_t> info{0};
  std::atomic<std::uintptr_t> slot[2] = {kEmpty, kEmpty};
  std::int64_t deadline[2] = {0, 0};
  std::uint64_t seq[2] = {0, 0};
  timer_state* timer[2] = {nullptr, nullptr};  // made by the first deadline, kept for reuse
  poll_desc* next_free = nullptr;
  io_op* op[2] = {nullptr, nullptr};    // under lock: the ring operation in flight
  uring* ring = nullptr;                // the ring poll_io uses (on_wait only), else null
  std::atomic<bool> registered{false};  // fd is in the poller's epoll set
  // An event said end of stream, hang-up, error or urgent data (see poll_drain_hint_ok):
  // set before the edge is recorded in the slot, reset by poll_open.
  std::atomic<bool> ended_or_urgent{false};
  // The waiter's scratch memory in each direction (poll_wait's), for the idle sweep:
  // written by the waiter before it publishes its wait, read by the sweep while it holds the
  // waiter.
  std::byte* scratch[2] = {nullptr, nullptr};
  std::size_t scratch_len[2] = {0, 0};
  // The POLL_ADD of a ring read that has waited long (poll_io's idle wait). Here, not on the
  // goroutine's stack, so that the reaper's writes never land in a stack the sweep shrank.
  io_op idle_op;
};

namespace {

// ---------------------------------------------------------------------------------------
// The descriptors' free list

struct desc_cache {
  spinlock lock;
  poll_desc* free = nullptr;
  std::vector<poll_desc*> blocks;  // keeps every block reachable (no leak report)
};

desc_cache& cache() {
  static desc_cache* c = new desc_cache;  // never destroyed: late events may read descs
  return *c;
}

poll_desc* desc_alloc() {
  desc_cache& c = cache();
  std::lock_guard<spinlock> lock(c.lock);
  if (!c.free) {
    auto* block = new poll_desc[kDescBlock];
    c.blocks.push_back(block);
    for (int i = 0; i < kDescBlock; ++i) {
      block[i].next_free = c.free;
      c.free = &block[i];
    }
  }
  poll_desc* pd = c.free;
  c.free = pd->next_free;
  return pd;
}

void desc_free(poll_desc* pd) noexcept {
  desc_cache& c = cache();
  std::lock_guard<spinlock> lock(c.lock);
  pd->next_free = c.free;
  c.free = pd;
}

std::uint64_t event_data(poll_desc* pd) noexcept {
  return reinterpret_cast<std::uintptr_t>(pd) |
         std::uint64_t{pd->tag.load(std::memory_order_relaxed)} << 48;
}

// The descriptor an event names, or null if it was recycled since.
poll_desc* event_desc(std::uint64_t data) noexcept {
  auto* pd = reinterpret_cast<poll_desc*>(data & ((std::uint64_t{1} << 48) - 1));
  if (pd->tag.load(std::memory_order_acquire) != static_cast<std::uint16_t>(data >> 48)) {
    return nullptr;
  }
  return pd;
}

// ---------------------------------------------------------------------------------------
// Slots

// Go's netpollunblock: an edge (`edge`) leaves kReady, an error leaves kEmpty. Returns the
// goroutine parked there, for the caller to ready, or null.
g* unblock(poll_desc* pd, int d, bool edge) noexcept {
  std::atomic<std::uintptr_t>& slot = pd->slot[d];
  std::uintptr_t old = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (old == kReady) return nullptr;
    if (old == kEmpty && !edge) return nullptr;
    if (slot.compare_exchange_weak(old, edge ? kReady : kEmpty, std::memory_order_seq_cst)) {
      return old == kWaiting || old == kEmpty ? nullptr : reinterpret_cast<g*>(old);
    }
  }
}

poll_result error_of(const poll_desc* pd, int d) noexcept {
  const std::uint8_t info = pd->info.load(std::memory_order_seq_cst);
  if (info & kClosing) return poll_result::closed;
  if (info & expired_bit(d)) return poll_result::timeout;
  return poll_result::ready;
}

// Under pd->lock, after `info` says why: cancels the ring operation in flight in
// direction d. Its goroutine wakes with the cancelled CQE (or the op's own, if it won).
void cancel_locked(poll_desc* pd, int d) noexcept {
  io_op* op = pd->op[d];
  if (!op || op->cancel_sent) return;
  op->cancel_sent = true;
  pd->ring->cancel(op);
}

struct commit_args {
  std::atomic<std::uintptr_t>* slot;
  g* gp;
};

// park's unlock, once the waiter is off its stack (Go's netpollblockcommit): kWaiting
// becomes the goroutine. If an edge or an error came meanwhile, the goroutine is readied
// at once instead.
void commit(void* arg) noexcept {
  auto* a = static_cast<commit_args*>(arg);
  g* gp = a->gp;
  std::uintptr_t waiting = kWaiting;
  if (!a->slot->compare_exchange_strong(waiting, reinterpret_cast<std::uintptr_t>(gp),
                                        std::memory_order_seq_cst)) {
    ready(gp);
  }
}

// Go's netpollblock: waits for an edge in direction d. True if one came (and is consumed),
// false if woken by an error or by shutdown.
bool block(poll_desc* pd, int d, g* gp, std::span<std::byte> scratch) {
  std::atomic<std::uintptr_t>& slot = pd->slot[d];
  pd->scratch[d] = scratch.data();  // published by the seq_cst CAS to kWaiting
  pd->scratch_len[d] = scratch.size();
  std::uintptr_t old = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (old == kReady) {
      if (slot.compare_exchange_weak(old, kEmpty, std::memory_order_seq_cst)) return true;
    } else if (old == kEmpty) {
      if (slot.compare_exchange_weak(old, kWaiting, std::memory_order_seq_cst)) break;
    } else {
      fatal("goro: two goroutines wait on one descriptor in one direction");
    }
  }
  if (error_of(pd, d) == poll_result::ready) {
    netpoller& np = current_runtime()->poll;
    np.add_waiter(1);
    commit_args a{&slot, gp};
    park(gp, &commit, &a, wait_reason::io_wait);
    np.add_waiter(-1);
  }
  // Woken by an edge (kReady), an error (kEmpty), or by shutdown (still our g*): clear it.
  return slot.exchange(kEmpty, std::memory_order_seq_cst) == kReady;
}

template <class F>
void for_each_dir(poll_mode mode, F f) {
  if (static_cast<int>(mode) & static_cast<int>(poll_mode::read)) f(kRead);
  if (static_cast<int>(mode) & static_cast<int>(poll_mode::write)) f(kWrite);
}

// A deadline timer fired (Go's netpolldeadlineimpl). `data` is the seq it was armed for,
// shifted, with the direction in the low bit.
bool deadline_fired(void* arg, std::uint64_t data) noexcept {
  auto* pd = static_cast<poll_desc*>(arg);
  const int d = static_cast<int>(data & 1);
  g* gp;
  {
    std::lock_guard<spinlock> lock(pd->lock);
    if (pd->seq[d] != data >> 1) return false;  // set again, evicted or recycled since
    pd->deadline[d] = -1;
    pd->info.fetch_or(expired_bit(d), std::memory_order_seq_cst);
    gp = unblock(pd, d, false);
    cancel_locked(pd, d);
  }
  if (gp) ready(gp, /*wake_idle=*/false);
  return gp != nullptr;
}

timer_state* deadline_timer(poll_desc* pd, int d) {
  if (!pd->timer[d]) {
    auto* t = new timer_state;
    t->kind = timer_kind::call;
    t->call = &deadline_fired;
    t->call_arg = pd;
    pd->timer[d] = t;
  }
  return pd->timer[d];
}

// Under pd->lock: forgets deadline d and any firing of its timer still to come.
void disarm_locked(poll_desc* pd, int d) {
  ++pd->seq[d];
  pd->deadline[d] = 0;
  if (pd->timer[d]) timer_set_call(pd->timer[d], 0, 0);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The descriptor API (netpoll.hpp)

namespace {

int epoll_add(int epfd, poll_desc* pd) noexcept {
  epoll_event ev{};
  // EPOLLPRI: urgent data, after which a short read is no sign of a drained socket.
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  ev.data.u64 = event_data(pd);
  return epoll_ctl(epfd, EPOLL_CTL_ADD, pd->fd, &ev) == 0 ? 0 : errno;
}

// A poll_register::on_wait descriptor joins epoll before its first wait.
void ensure_registered(poll_desc* pd) {
  if (pd->registered.load(std::memory_order_acquire)) return;
  std::lock_guard<spinlock> lock(pd->lock);
  if (pd->registered.load(std::memory_order_relaxed)) return;
  if (int err = epoll_add(current_runtime()->poll.epoll_fd(), pd)) {
    throw std::system_error(err, std::system_category(), "goro: epoll_ctl add");
  }
  pd->registered.store(true, std::memory_order_release);
}

}  // namespace

poll_desc* poll_open(int fd, poll_register when) {
  runtime* rt = current_runtime();
  if (!rt) throw std::logic_error("goro: poll_open outside goro::run");
  if (fd < 0) throw std::system_error(EBADF, std::system_category(), "goro: poll_open");
  rt->poll.open();
  uring* ring = when == poll_register::on_wait ? rt->poll.ring() : nullptr;
  poll_desc* pd = desc_alloc();
  {
    std::lock_guard<spinlock> lock(pd->lock);
    pd->fd = fd;
    pd->poller_id = rt->poll.id();
    pd->ring = ring;
    pd->op[kRead] = pd->op[kWrite] = nullptr;
    pd->registered.store(false, std::memory_order_relaxed);
    pd->ended_or_urgent.store(false, std::memory_order_relaxed);
    pd->info.store(0, std::memory_order_seq_cst);
    pd->slot[kRead].store(kEmpty, std::memory_order_relaxed);
    pd->slot[kWrite].store(kEmpty, std::memory_order_relaxed);
    for (int d : {kRead, kWrite}) disarm_locked(pd, d);
  }
  if (ring) return pd;  // epoll only if it ever waits (ensure_registered)
  if (int err = epoll_add(rt->poll.epoll_fd(), pd)) {
    pd->tag.fetch_add(1, std::memory_order_release);
    desc_free(pd);
    throw std::system_error(err, std::system_category(), "goro: epoll_ctl add");
  }
  pd->registered.store(true, std::memory_order_release);
  return pd;
}

bool poll_completes(const poll_desc* pd) noexcept {
  if (!pd->ring) return false;
  const g* gp = current_g();
  runtime* rt = current_runtime();
  // A descriptor kept from an earlier run names that run's ring, which is gone.
  return gp && !gp->is_thread && rt && rt->poll.id() == pd->poller_id;
}

namespace {

// park's unlock for a ring op, once the goroutine is off its stack: kOpQueued becomes the
// g*, unless the CQE came meanwhile; then the goroutine is readied at once (as commit).
void commit_op(void* arg) noexcept {
  auto* a = static_cast<std::pair<io_op*, g*>*>(arg);
  std::uintptr_t queued = kOpQueued;
  if (!a->first->state.compare_exchange_strong(queued, reinterpret_cast<std::uintptr_t>(a->second),
                                               std::memory_order_acq_rel)) {
    ready(a->second);
  }
}

// Shutdown resumed gp while its op is in flight: cancel it and reap the ring here until its
// CQE came (no worker polls any more). The goroutines completed meanwhile are not readied:
// shutdown resumes each of them itself.
void finish_at_shutdown(poll_desc* pd, int d, io_op& op, g* gp) noexcept {
  std::uintptr_t parked = reinterpret_cast<std::uintptr_t>(gp);
  if (!op.state.compare_exchange_strong(parked, kOpSync, std::memory_order_acq_rel)) return;
  {
    std::lock_guard<spinlock> lock(pd->lock);
    cancel_locked(pd, d);
  }
  while (op.state.load(std::memory_order_acquire) != kOpDone) {
    pd->ring->reap(nullptr);
    if (op.state.load(std::memory_order_acquire) == kOpDone) break;
    pd->ring->wait(nanotime() + 1'000'000);
  }
}

}  // namespace

namespace {

// Queues op on the ring and parks until its CQE (or, if shutdown resumes the goroutine
// first, until the op is done all the same). `closed` or `timeout` at once, with nothing
// queued, if direction d has failed already.
poll_result ring_wait(poll_desc* pd, int d, io_kind kind, void* buf, std::size_t len, io_op& op,
                      g* gp) {
  netpoller& np = current_runtime()->poll;
  {
    std::lock_guard<spinlock> lock(pd->lock);
    if (poll_result r = error_of(pd, d); r != poll_result::ready) return r;
    GORO_ASSERT(!pd->op[d], "two goroutines use one descriptor in one direction");
    pd->op[d] = &op;
    pd->ring->queue(kind, pd->fd, buf, len, &op);
  }
  np.add_waiter(1);
  std::pair<io_op*, g*> a{&op, gp};
  park(gp, &commit_op, &a, wait_reason::io_wait);
  np.add_waiter(-1);
  if (op.state.load(std::memory_order_acquire) != kOpDone) finish_at_shutdown(pd, d, op, gp);
  {
    std::lock_guard<spinlock> lock(pd->lock);
    pd->op[d] = nullptr;
  }
  unwind_if_exiting(gp);
  return poll_result::ready;
}

// A ring read that the idle sweep cancelled because it waited long waits for readiness
// instead, with pd's POLL_ADD: the kernel then holds nothing on the goroutine's stack, and
// the sweep may shrink it, the read's buffer being scratch meanwhile. Whatever ends the
// poll (data, an error, a cancel), the caller goes on to queue its read again.
poll_result idle_wait(poll_desc* pd, void* buf, std::size_t len, g* gp) {
  io_op& op = pd->idle_op;  // done with (kOpDone) by its last use
  op.state.store(kOpQueued, std::memory_order_relaxed);
  op.res = 0;
  op.cancel_sent = false;
  op.go_idle = false;
  pd->scratch[kRead] = static_cast<std::byte*>(buf);  // published by ring_wait's lock
  pd->scratch_len[kRead] = len;
  return ring_wait(pd, kRead, io_kind::poll_in, nullptr, 0, op, gp);
}

}  // namespace

poll_result poll_io(poll_desc* pd, poll_mode mode, void* buf, std::size_t len, long& res) {
  const int d = mode == poll_mode::write ? kWrite : kRead;
  g* gp = current_g();
  for (;;) {
    io_op op;
    const io_kind kind = d == kRead ? io_kind::recv : io_kind::send;
    if (poll_result r = ring_wait(pd, d, kind, buf, len, op, gp); r != poll_result::ready) return r;
    if (op.res == -ECANCELED) {
      if (poll_result r = error_of(pd, d); r != poll_result::ready) return r;
      if (op.go_idle) {
        if (poll_result r = idle_wait(pd, buf, len, gp); r != poll_result::ready) return r;
      }
      continue;  // a cancel without an error (a deadline re-armed since, the sweep): again
    }
    res = op.res;
    return poll_result::ready;
  }
}

bool poll_drain_hint_ok(const poll_desc* pd) noexcept {
  return !pd->ended_or_urgent.load(std::memory_order_seq_cst);
}

poll_result poll_prepare(poll_desc* pd, poll_mode mode) noexcept {
  poll_result r = poll_result::ready;
  for_each_dir(mode, [&](int d) {
    if (r == poll_result::ready) r = error_of(pd, d);
  });
  if (r != poll_result::ready) return r;
  for_each_dir(mode, [&](int d) {
    std::uintptr_t ready_edge = kReady;
    pd->slot[d].compare_exchange_strong(ready_edge, kEmpty, std::memory_order_seq_cst);
  });
  return r;
}

poll_result poll_wait(poll_desc* pd, poll_mode mode, std::span<std::byte> scratch) {
  const int d = mode == poll_mode::write ? kWrite : kRead;
  g* gp = current_g();
  ensure_registered(pd);
  for (;;) {
    if (poll_result r = error_of(pd, d); r != poll_result::ready) return r;
    const bool edge = block(pd, d, gp, scratch);
    unwind_if_exiting(gp);
    if (edge) return poll_result::ready;
    // Woken for an error, or for a deadline that was re-armed before we ran: look again.
  }
}

void poll_set_deadline(poll_desc* pd, poll_mode mode, std::int64_t deadline) {
  g* wake[2] = {nullptr, nullptr};
  const std::int64_t now = nanotime();
  {
    std::lock_guard<spinlock> lock(pd->lock);
    for_each_dir(mode, [&](int d) {
      disarm_locked(pd, d);
      if (deadline != 0 && deadline <= now) {
        pd->deadline[d] = -1;
        pd->info.fetch_or(expired_bit(d), std::memory_order_seq_cst);
        wake[d] = unblock(pd, d, false);
        cancel_locked(pd, d);
        return;
      }
      pd->info.fetch_and(static_cast<std::uint8_t>(~expired_bit(d)), std::memory_order_seq_cst);
      if (deadline == 0) return;
      pd->deadline[d] = deadline;
      timer_set_call(deadline_timer(pd, d), deadline, pd->seq[d] << 1 | static_cast<unsigned>(d));
    });
  }
  for (g* gp : wake) {
    if (gp) ready(gp);
  }
}

void poll_evict(poll_desc* pd) noexcept {
  g* wake[2] = {nullptr, nullptr};
  {
    std::lock_guard<spinlock> lock(pd->lock);
    pd->info.fetch_or(kClosing, std::memory_order_seq_cst);
    for (int d : {kRead, kWrite}) {
      disarm_locked(pd, d);
      wake[d] = unblock(pd, d, false);
      cancel_locked(pd, d);
    }
  }
  for (g* gp : wake) {
    if (gp) ready(gp);
  }
}

void poll_close(poll_desc* pd) noexcept {
  for (int d : {kRead, kWrite}) {
    const std::uintptr_t s = pd->slot[d].load(std::memory_order_seq_cst);
    if (s != kEmpty && s != kReady) fatal("goro: poll_close while a goroutine waits on it");
    GORO_ASSERT(!pd->op[d], "poll_close while a ring operation is in flight");
  }
  runtime* rt = current_runtime();
  // A poller of an earlier run is closed, and its epoll fd's number may be reused since.
  if (rt && rt->poll.opened() && rt->poll.id() == pd->poller_id &&
      pd->registered.load(std::memory_order_acquire)) {
    epoll_ctl(rt->poll.epoll_fd(), EPOLL_CTL_DEL, pd->fd, nullptr);
  }
  {
    std::lock_guard<spinlock> lock(pd->lock);
    for (int d : {kRead, kWrite}) disarm_locked(pd, d);
    pd->fd = -1;
  }
  pd->tag.fetch_add(1, std::memory_order_release);
  desc_free(pd);
}

// ---------------------------------------------------------------------------------------
// The idle sweep (netpoll.hpp's sweep_idle_waiters)
//
// It walks every poll descriptor and takes each parked waiter in turn out of the reach of
// its wakers, as a waiter on its way to parking: a slot's g* becomes kWaiting, a ring op's
// g* kOpQueued. An edge, error or CQE that comes meanwhile leaves its mark there without
// readying anybody, and the sweep puts the g* back as park's commit does, or readies the
// goroutine if that mark is there. While it holds a waiter, the sweep:
// - leaves it alone if it has waited less than shrink_after (and notes when it will have);
// - if the goroutine allowed it (g_on_stack::may_shrink), shrinks its stack
//   (stack_shrink.hpp) if it waits for readiness: a slot's waiter, or a ring read's
//   POLL_ADD (pd->idle_op), both of which keep their state in pd; or cancels its ring
//   read (a recv holds the read's buffer, maybe on the goroutine's stack, for the kernel to
//   write at any time), marked go_idle: the goroutine wakes, waits with a POLL_ADD instead
//   (poll_io), and a later sweep shrinks it;
// - settles anything else as it is (a goroutine that did not allow it, a ring send, a
//   stack that would not shrink), so that the sweeps stop until it has run again.
// `settled` counts the settled waiters (g_on_stack::idle_settled); a sweep is due only
// while the poller has waiters that are not, so a program whose goroutines all wait
// settles and then sleeps for good.

namespace {

constexpr std::int64_t kShrinkAfterNs = 1'000'000'000;

std::int64_t shrink_after_from_env() noexcept {
  const char* v = std::getenv("GORO_SHRINK_IDLE_MS");
  if (!v || !*v) return kShrinkAfterNs;
  char* end = nullptr;
  const long long ms = std::strtoll(v, &end, 10);
  if (*end || ms < 0) return kShrinkAfterNs;
  return std::min<long long>(ms, 1'000'000'000) * 1'000'000;  // at most ~11 days
}

// A waiter the sweep holds: `word` (a slot, or a ring op's state) held the g* `held`,
// and holds `hold` (kWaiting, kOpQueued) until release().
struct held_waiter {
  std::atomic<std::uintptr_t>* word;
  std::uintptr_t held;
  std::uintptr_t hold;
  g* gp() const noexcept { return reinterpret_cast<g*>(held); }
};

// Stacks whose pages go back in one system call (give_back_saved): IOV_MAX.
constexpr std::size_t kSweepBatch = 1024;

// Whether some goroutine or thread waits in the poller that no sweep has settled.
bool any_unsettled(const netpoller& np) noexcept {
  return np.opened() && np.waiters() > np.settled.load(std::memory_order_acquire);
}

struct sweep_state {
  netpoller& np;
  std::int64_t now;
  std::int64_t next = INT64_MAX;  // when a waiter seen young will have waited long enough
  g_list readied;
  // Waiters whose stacks are saved, held until their pages are given back (flush()), at
  // most kSweepBatch: reserved before the sweep starts, so that adding one never allocates.
  std::vector<held_waiter> saved;
  std::vector<g*> saved_g;
  bool cancelled = false;  // ring cancels queued, to submit
};

// Puts the g* back, as park's commit does; if an edge, error or CQE came meanwhile, the
// goroutine is readied instead.
void release(sweep_state& sw, const held_waiter& h) noexcept {
  std::uintptr_t hold = h.hold;
  if (!h.word->compare_exchange_strong(hold, h.held, std::memory_order_seq_cst)) {
    sw.readied.push_back(h.gp(), h.gp());
  }
}

// Whether gp, held by the sweep, has waited long enough to be settled now; if not, notes
// when it will have.
bool waited_long(sweep_state& sw, g* gp) noexcept {
  g_on_stack& st = gp->on_stack();
  if (st.idle_settled) return false;
  const std::int64_t due = st.waiting_since.load(std::memory_order_relaxed) + sw.np.shrink_after();
  if (due <= sw.now) return true;
  sw.next = std::min(sw.next, due);
  return false;
}

void settle(sweep_state& sw, g* gp) noexcept {
  gp->on_stack().idle_settled = true;
  sw.np.settled.fetch_add(1, std::memory_order_acq_rel);
}

// Gives back the pages of the saved stacks, settles them, and lets their waiters go.
void flush(sweep_state& sw) noexcept {
  give_back_saved(sw.saved_g);
  for (const held_waiter& h : sw.saved) {
    settle(sw, h.gp());
    release(sw, h);
  }
  sw.saved.clear();
  sw.saved_g.clear();
}

// Settles a held goroutine that waits for readiness: saves its stack (and keeps holding it
// until flush) or leaves it as is.
void settle_waiting(sweep_state& sw, const held_waiter& h, std::span<std::byte> scratch) noexcept {
  if (h.gp()->on_stack().may_shrink && save_stack(h.gp(), scratch)) {
    sw.saved.push_back(h);  // within the reserved capacity
    sw.saved_g.push_back(h.gp());
    if (sw.saved.size() == kSweepBatch) flush(sw);
    return;
  }
  settle(sw, h.gp());
  release(sw, h);
}

std::span<std::byte> scratch_of(const poll_desc* pd, int d) noexcept {
  return {pd->scratch[d], pd->scratch_len[d]};
}

// The goroutine (or plain thread) parked in slot d of pd.
void sweep_slot(sweep_state& sw, poll_desc* pd, int d) noexcept {
  std::atomic<std::uintptr_t>& slot = pd->slot[d];
  const std::uintptr_t held = slot.load(std::memory_order_seq_cst);
  if (held == kEmpty || held == kReady || held == kWaiting) return;
  std::uintptr_t expected = held;
  if (!slot.compare_exchange_strong(expected, kWaiting, std::memory_order_seq_cst)) return;
  const held_waiter h{&slot, held, kWaiting};
  g* gp = h.gp();  // ours until we let it go
  if (gp->is_thread) {
    // A plain thread has no stack of ours, and is never settled: look again later.
    sw.next = std::min(sw.next, sw.now + sw.np.shrink_after());
  } else if (gp->status.load(std::memory_order_relaxed) == g_status::waiting &&
             waited_long(sw, gp)) {  // (not released at the exit of an earlier run)
    settle_waiting(sw, h, scratch_of(pd, d));
    return;
  }
  release(sw, h);
}

// The goroutine parked on pd's ring op in direction d.
void sweep_op(sweep_state& sw, poll_desc* pd, int d) noexcept {
  io_op* op;
  std::uintptr_t held;
  {
    std::lock_guard<spinlock> lock(pd->lock);
    op = pd->op[d];  // alive while we hold the lock, or its goroutine
    if (!op) return;
    held = op->state.load(std::memory_order_acquire);
    if (held == kOpQueued || held == kOpDone || held == kOpSync) return;
    if (!op->state.compare_exchange_strong(held, kOpQueued, std::memory_order_acq_rel)) return;
  }
  const held_waiter h{&op->state, held, kOpQueued};
  g* gp = h.gp();
  if (gp->status.load(std::memory_order_relaxed) == g_status::waiting && waited_long(sw, gp)) {
    if (op == &pd->idle_op) {  // a POLL_ADD: nothing of the stack is the kernel's
      settle_waiting(sw, h, scratch_of(pd, d));
      return;
    }
    if (d == kRead && gp->on_stack().may_shrink) {  // a recv: wait for readiness instead
      std::lock_guard<spinlock> lock(pd->lock);
      if (!op->cancel_sent) {  // else a deadline or close ends it anyway
        op->go_idle = true;
        op->cancel_sent = true;
        pd->ring->cancel(op, /*submit_now=*/false);
        sw.cancelled = true;
      }
    } else {
      settle(sw, gp);
    }
  }
  release(sw, h);  // the last touch of a recv's op, which may be gone once it is done
}

}  // namespace

bool sweep_idle_waiters(runtime* rt, std::int64_t now) noexcept {
  netpoller& np = rt->poll;
  if (!any_unsettled(np) || np.shrink_after() == 0) return false;  // opened() first
  std::int64_t due = np.next_sweep.load(std::memory_order_acquire);
  if (due == INT64_MAX) {
    // Goroutines parked since the last sweep (or there was none): they may have waited long
    // enough by shrink_after from now. No clock is read when a goroutine parks.
    np.next_sweep.compare_exchange_strong(due, now + np.shrink_after(), std::memory_order_acq_rel);
    return false;
  }
  if (now < due || np.sweeping.exchange(true, std::memory_order_acquire)) return false;
  sweep_state sw{np, now, INT64_MAX, {}, {}, {}, false};
  std::vector<poll_desc*> blocks;
  try {
    sw.saved.reserve(kSweepBatch);
    sw.saved_g.reserve(kSweepBatch);
    desc_cache& c = cache();
    std::lock_guard<spinlock> lock(c.lock);
    blocks = c.blocks;
  } catch (const std::bad_alloc&) {
    np.sweeping.store(false, std::memory_order_release);
    return false;  // the next idle moment tries again
  }
  for (poll_desc* block : blocks) {
    for (int i = 0; i < kDescBlock; ++i) {
      poll_desc* pd = &block[i];
      for (int d : {kRead, kWrite}) {
        sweep_slot(sw, pd, d);
        sweep_op(sw, pd, d);
      }
    }
  }
  flush(sw);
  if (sw.cancelled) np.flush();
  // Each sweep looks at every descriptor: at most four a shrink_after, however spread out
  // the waiters' due times are (a goroutine is shrunk after 1 to 1.25 shrink_after).
  if (sw.next != INT64_MAX) sw.next = std::max(sw.next, now + np.shrink_after() / 4);
  np.next_sweep.store(sw.next, std::memory_order_release);
  np.sweeping.store(false, std::memory_order_release);
  const bool any = !sw.readied.empty();
  while (g* gp = sw.readied.pop_front()) ready(gp);
  return any;
}

std::int64_t next_idle_sweep(runtime* rt) noexcept {
  netpoller& np = rt->poll;
  return any_unsettled(np) ? np.next_sweep.load(std::memory_order_acquire) : INT64_MAX;
}

void end_idle(runtime* rt, g_on_stack& st) noexcept {
  if (st.shrunk) restore_stack(st);
  st.idle_settled = false;
  rt->poll.settled.fetch_sub(1, std::memory_order_acq_rel);
}

// ---------------------------------------------------------------------------------------
// The poller

namespace {
std::atomic<std::uint64_t> next_poller_id{1};
}

// The back end when GORO_NETPOLL does not choose one: io_uring where the kernel allows it,
// else epoll. With COOP_TASKRUN (uring::init), in two runs paired against epoll
// (bench/RESULTS.md, "io_uring by default" and "five reps"), it served 7-24% more requests
// per second on pingpong-1000 and stream-4x16 at one worker, for 10-20% less CPU, and 5-9%
// more on pingpong-1000 at two workers; stream at two workers was level in req/s, at 1-8%
// more CPU, and one connection at one worker 6% slower. Before COOP_TASKRUN it lost on the
// idle machine ("The rerun on a quiet machine").
constexpr poll_backend kDefaultBackend = poll_backend::automatic;

poll_backend requested_backend() noexcept {
  const char* v = std::getenv("GORO_NETPOLL");
  if (!v) return kDefaultBackend;
  if (std::strcmp(v, "epoll") == 0) return poll_backend::epoll;
  if (std::strcmp(v, "uring") == 0) return poll_backend::uring;
  if (std::strcmp(v, "auto") == 0) return poll_backend::automatic;
  return kDefaultBackend;
}

netpoller::~netpoller() {
  delete ring();  // before the descriptors: the ring's POLL_ADD names the epoll fd
  if (eventfd_ >= 0) ::close(eventfd_);
  if (epfd_ >= 0) ::close(epfd_);
}

namespace {

std::system_error os_error(const char* what) {
  return std::system_error(errno, std::system_category(), what);
}

}  // namespace

void netpoller::open() {
  if (opened()) return;
  std::lock_guard<std::mutex> lock(open_mu_);
  if (opened_.load(std::memory_order_relaxed)) return;
  if (epfd_ < 0) epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw os_error("goro: epoll_create1");
  if (eventfd_ < 0) eventfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventfd_ < 0) throw os_error("goro: eventfd");
  // Level-triggered, so that a poll that does not wait sees a wake-up without taking it
  // from the one that waits (Go's netpollBreakRd).
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kBreakData;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) != 0 && errno != EEXIST) {
    throw os_error("goro: epoll_ctl add eventfd");
  }
  const poll_backend want = requested_backend();
  if (want != poll_backend::epoll && !ring()) {
    auto r = std::make_unique<uring>();
    if (r->init()) {
      ring_ptr_.store(r.release(), std::memory_order_release);
    } else if (want == poll_backend::uring) {
      throw os_error("goro: GORO_NETPOLL=uring, but io_uring cannot be set up");
    }
  }
  shrink_after_ = shrink_after_from_env();
  id_ = next_poller_id.fetch_add(1, std::memory_order_relaxed);
  opened_.store(true, std::memory_order_seq_cst);
  wake_timer_sleeper(current_runtime());  // it sleeps on its parker: it must move here
}

int netpoller::wait(void* events, int max, std::int64_t until) noexcept {
  auto* evs = static_cast<epoll_event*>(events);
  if (until == 0) return epoll_wait(epfd_, evs, max, 0);
  if (until == INT64_MAX) return epoll_wait(epfd_, evs, max, -1);
  const std::int64_t left = std::max<std::int64_t>(until - nanotime(), 0);
  // epoll_pwait2 (Linux 5.11) sleeps to the nanosecond; epoll_wait counts milliseconds,
  // rounded up here so that a timer is never served early.
  static std::atomic<bool> no_pwait2{false};
  if (!no_pwait2.load(std::memory_order_relaxed)) {
    const timespec ts{static_cast<time_t>(left / 1'000'000'000),
                      static_cast<long>(left % 1'000'000'000)};
    const int n = epoll_pwait2(epfd_, evs, max, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    no_pwait2.store(true, std::memory_order_relaxed);
  }
  const std::int64_t ms = std::min<std::int64_t>((left + 999'999) / 1'000'000, INT_MAX);
  return epoll_wait(epfd_, evs, max, static_cast<int>(ms));
}

void netpoller::poll(std::int64_t until, g_list& readied) noexcept {
  uring* r = ring();
  if (!r) {
    poll_epoll(until, until != 0, readied);
    return;
  }
  // Every poll re-arms the POLL_ADD on the epoll fd, so that whoever polls next (or the
  // sleeper below) learns of epoll's events; it costs nothing while it stays armed.
  r->arm_poll(epfd_.load(std::memory_order_relaxed));
  r->submit();
  bool epoll_fired = r->reap(&readied);
  if (until != 0 && readied.empty() && !epoll_fired) {
    r->wait(until);
    epoll_fired = r->reap(&readied);
  }
  if (epoll_fired) {
    // Not waiting in epoll, but still the poll that may sleep: it takes the wake-up it
    // finds. Were it left to the check below, which trusts wake_sent_, a wake() whose write
    // lands after consume_wake cleared the flag would leave the eventfd readable with the
    // flag down: every re-armed POLL_ADD would complete at once and the sleeper would spin
    // (netpoll_test's idle CPU test caught it under ThreadSanitizer).
    poll_epoll(0, until != 0, readied);
    // A poll that does not wait may have taken the CQE that was to end the sleeper's wait
    // (for a wake-up, say, which only the sleeper consumes): the sleeper checked the CQ
    // before we took it and now sleeps in the kernel with nothing armed. Re-arm at once: a
    // POLL_ADD on an epoll fd that still has events (the eventfd is level-triggered)
    // completes as it is submitted, and its CQE ends that sleep.
    if (until == 0) {
      r->arm_poll(epfd_.load(std::memory_order_relaxed));
      r->submit();
    }
  }
  // The poll that may wait consumes a wake-up (see poll_epoll), whatever ended it.
  if (until != 0 && wake_sent_.load(std::memory_order_acquire)) consume_wake();
  last_poll_.store(nanotime(), std::memory_order_relaxed);
}

void netpoller::flush(std::int64_t queued_by) noexcept {
  uring* r = ring();
  if (!r) return;
  const std::int64_t since = r->pending_since();
  if (since != 0 && since <= queued_by) r->submit();
}

void netpoller::consume_wake() noexcept {
  std::uint64_t count;
  while (::read(eventfd_, &count, sizeof count) > 0) {
  }
  wake_sent_.store(false, std::memory_order_release);
}

void netpoller::poll_epoll(std::int64_t until, bool sleeper, g_list& readied) noexcept {
  epoll_event events[128];
  const int n = wait(events, 128, until);
  last_poll_.store(nanotime(), std::memory_order_relaxed);
  auto take = [&](g* gp) {
    if (gp) readied.push_back(gp, gp);
  };
  for (int i = 0; i < n; ++i) {
    const std::uint32_t ev = events[i].events;
    if (events[i].data.u64 == kBreakData) {
      // Only the poll that may sleep consumes a wake-up: it was meant for that one.
      if (sleeper) consume_wake();
      continue;
    }
    poll_desc* pd = event_desc(events[i].data.u64);
    if (!pd) continue;
    // Before the edge goes into the slot: whoever consumes it then sees the flag.
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) {
      pd->ended_or_urgent.store(true, std::memory_order_seq_cst);
    }
    if (ev & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      take(unblock(pd, kRead, true));
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) take(unblock(pd, kWrite, true));
  }
}

void netpoller::wake() noexcept {
  bool sent = false;
  if (!wake_sent_.compare_exchange_strong(sent, true, std::memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  while (::write(eventfd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

}  // namespace goro::detail
