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
#include "netpoll.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <goro/detail/spinlock.hpp>

#include "sched.hpp"
#include "timer.hpp"

namespace goro::detail {

namespace {

constexpr std::uintptr_t kEmpty = 0, kReady = 1, kWaiting = 2;
constexpr std::uint8_t kClosing = 1, kReadExpired = 2, kWriteExpired = 4;
constexpr std::uint64_t kBreakData = 0;  // the eventfd's epoll data: no descriptor is at 0
constexpr int kRead = 0, kWrite = 1;

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
    constexpr int kBlock = 64;
    auto* block = new poll_desc[kBlock];
    c.blocks.push_back(block);
    for (int i = 0; i < kBlock; ++i) {
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
bool block(poll_desc* pd, int d, g* gp) {
  std::atomic<std::uintptr_t>& slot = pd->slot[d];
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

poll_desc* poll_open(int fd) {
  runtime* rt = current_runtime();
  if (!rt) throw std::logic_error("goro: poll_open outside goro::run");
  if (fd < 0) throw std::system_error(EBADF, std::system_category(), "goro: poll_open");
  rt->poll.open();
  poll_desc* pd = desc_alloc();
  {
    std::lock_guard<spinlock> lock(pd->lock);
    pd->fd = fd;
    pd->poller_id = rt->poll.id();
    pd->info.store(0, std::memory_order_seq_cst);
    pd->slot[kRead].store(kEmpty, std::memory_order_relaxed);
    pd->slot[kWrite].store(kEmpty, std::memory_order_relaxed);
    for (int d : {kRead, kWrite}) disarm_locked(pd, d);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = event_data(pd);
  if (epoll_ctl(rt->poll.epoll_fd(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    pd->tag.fetch_add(1, std::memory_order_release);
    desc_free(pd);
    throw std::system_error(err, std::system_category(), "goro: epoll_ctl add");
  }
  return pd;
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

poll_result poll_wait(poll_desc* pd, poll_mode mode) {
  const int d = mode == poll_mode::write ? kWrite : kRead;
  g* gp = current_g();
  for (;;) {
    if (poll_result r = error_of(pd, d); r != poll_result::ready) return r;
    const bool edge = block(pd, d, gp);
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
  }
  runtime* rt = current_runtime();
  // A poller of an earlier run is closed, and its epoll fd's number may be reused since.
  if (rt && rt->poll.opened() && rt->poll.id() == pd->poller_id) {
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
// The poller

namespace {
std::atomic<std::uint64_t> next_poller_id{1};
}

netpoller::~netpoller() {
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
  epoll_event events[128];
  const int n = wait(events, 128, until);
  last_poll_.store(nanotime(), std::memory_order_relaxed);
  auto take = [&](g* gp) {
    if (gp) readied.push_back(gp, gp);
  };
  for (int i = 0; i < n; ++i) {
    const std::uint32_t ev = events[i].events;
    if (events[i].data.u64 == kBreakData) {
      // Only the poll that waits consumes a wake-up: it was meant for that one.
      if (until != 0) {
        std::uint64_t count;
        while (::read(eventfd_, &count, sizeof count) > 0) {
        }
        wake_sent_.store(false, std::memory_order_release);
      }
      continue;
    }
    poll_desc* pd = event_desc(events[i].data.u64);
    if (!pd) continue;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) take(unblock(pd, kRead, true));
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
