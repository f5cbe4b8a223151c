// The netpoller (Go's runtime/netpoll.go and netpoll_epoll.go): goroutines park on a file
// descriptor's readiness, and the workers collect the readiness themselves, with no thread
// of their own. This header is the API that the net layer is built on; netpoll.cpp holds
// the invariants of the poll descriptor itself.
//
// What a caller must keep (Go's internal/poll keeps the same):
// - fd is non-blocking, owned by the caller, and stays open until poll_close(pd) returns;
//   pd is valid from poll_open until poll_close, and never after (it is recycled).
// - At most one goroutine or thread waits per descriptor and direction (a second one is a
//   fatal error): the net layer serialises its readers, and its writers, as Go's fdMutex.
// - poll_close comes after poll_evict has woken the waiters and none waits any more.
// - Every call may come from any goroutine or plain thread of the running runtime.
//
// The protocol, as Go's internal/poll uses it: every operation tries its system call
// first and waits only on EAGAIN, so a ready socket costs no trip through the poller.
//
//   poll_desc* pd = poll_open(fd);                      // once, after socket()/accept()
//                                                       // a read:
//   if (poll_result r = poll_prepare(pd, poll_mode::read); r != poll_result::ready)
//     return error(r);                                  // closed, or the deadline passed
//   for (;;) {
//     ssize_t n = ::read(fd, buf, len);
//     if (n >= 0) return n;
//     if (errno != EAGAIN) return error(errno);
//     if (poll_result r = poll_wait(pd, poll_mode::read); r != poll_result::ready)
//       return error(r);
//   }
//   poll_set_deadline(pd, poll_mode::read_write, t);    // any time, from any goroutine
//   poll_evict(pd);        // close(): wakes the waiters with `closed`, fails later waits
//   poll_close(pd);        // once no goroutine waits on pd any more; then ::close(fd)
//
// With the io_uring back end (netpoll.cpp: chosen when the poller opens, where the kernel
// allows it and GORO_NETPOLL does not say epoll), a stream socket's recv and send may go
// through the ring instead: where poll_completes(pd) says so, poll_io(pd, mode, buf, len,
// res) queues the operation, parks until its completion and returns its result, with
// prepare's and wait's errors. Such a descriptor is opened with poll_register::on_wait: it
// joins epoll only when something first waits for its readiness (a connect, a plain
// thread's read).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

#include "goroutine.hpp"

namespace goro::detail {

struct poll_desc;  // one registered descriptor (Go's pollDesc); see netpoll.cpp
struct runtime;
class uring;

enum class poll_mode : std::uint8_t { read = 1, write = 2, read_write = 3 };
enum class poll_result : std::uint8_t { ready, closed, timeout };
// When poll_open adds the descriptor to epoll: at once, or at its first poll_wait (for a
// descriptor whose reads and writes go through the ring, so that its data does not also
// raise epoll events nobody waits for).
enum class poll_register : std::uint8_t { now, on_wait };

// Registers `fd` with the running runtime's poller, edge-triggered for reading and writing.
// fd must be non-blocking and stay open until poll_close. Never blocks. Throws
// std::system_error (EPERM: fd cannot be polled, e.g. a regular file; EBADF; EEXIST: fd is
// registered already), std::logic_error outside goro::run. Thread-safe.
poll_desc* poll_open(int fd, poll_register when = poll_register::now);

// Whether the caller may read and write pd with poll_io: the poller runs the io_uring back
// end, pd was opened with poll_register::on_wait, and the caller is a goroutine (a plain
// thread waits on readiness: nothing would submit its operation while it blocks).
bool poll_completes(const poll_desc* pd) noexcept;

// Whether a short read of pd's stream socket may be taken to have drained it, so that the
// next read can wait for an edge without trying recv(2) first (net's netfd::read): with
// edge triggering, whatever arrives after a read that found the receive queue empty raises
// a new edge. False once an event on pd said that the peer ended the stream, hung up, failed
// or sent urgent data (EPOLLRDHUP, EPOLLHUP, EPOLLERR, EPOLLPRI): TCP's read also stops
// short at a FIN or an urgent mark with that edge already spent, and nothing follows it.
// Set by the poller before it records the edge, so a waiter that consumed such an edge sees
// it (seq_cst). Never blocks; thread-safe.
bool poll_drain_hint_ok(const poll_desc* pd) noexcept;

// A recv (mode read) or send (mode write, MSG_NOSIGNAL) of pd's stream socket through the
// ring: `ready` with the system call's result in `res` (bytes, or -errno), or `closed` /
// `timeout` as poll_prepare and poll_wait say them. A deadline or poll_evict cancels the
// operation in flight; either way the call returns only once the kernel is done with buf.
// Parks the goroutine (dump state "IO wait"). Only where poll_completes(pd); one caller per
// direction at once, as poll_wait.
poll_result poll_io(poll_desc* pd, poll_mode mode, void* buf, std::size_t len, long& res);

// Before each attempt of an operation (Go's pollDesc.prepare): `closed` after poll_evict,
// `timeout` if the deadline of a direction in `mode` passed, else `ready`, forgetting a
// readiness edge that came before: the attempt about to be made sees what it announced.
// Never blocks; thread-safe.
poll_result poll_prepare(poll_desc* pd, poll_mode mode) noexcept;

// After an attempt failed with EAGAIN: parks the calling goroutine (dump state "IO wait"),
// or blocks a plain thread, until an edge in direction `mode` (read or write), the
// direction's deadline (`timeout`) or poll_evict (`closed`). Throws only what every blocking
// call throws when shutdown unwinds the goroutine. `scratch`: memory whose contents the
// caller does not need back (the buffer of the read that waits: Go's io.Reader may use all
// of it as scratch space); if the wait lasts long enough for the idle sweep to shrink the
// goroutine's stack, the part of it on that stack may read as zeros afterwards.
poll_result poll_wait(poll_desc* pd, poll_mode mode, std::span<std::byte> scratch = {});

// The idle sweep (Go's stack shrinking at GC, for stacks that cannot move): a goroutine
// that allowed it (goro::allow_stack_shrink) and has waited in the poller for
// `shrink_after` (1 s; GORO_SHRINK_IDLE_MS sets it, 0 turns the sweep off) gets the pages
// of its stack below the top one given back to the kernel, their live bytes kept in a heap
// block of their own size (stack_shrink.hpp), and restored when it next runs. Its read
// waiting long on the ring is first turned into a wait for readiness (a POLL_ADD), so that
// its buffer is not the kernel's while it waits. Called by a worker that found nothing to
// run, before it parks; does nothing unless goroutines wait that no sweep has settled, and
// one of them may have waited long enough. True if it readied goroutines (onto the
// caller's queue). `now`: a recent nanotime().
bool sweep_idle_waiters(runtime* rt, std::int64_t now) noexcept;
// When the next sweep is due (a nanotime; INT64_MAX: none), for the sleeping worker.
std::int64_t next_idle_sweep(runtime* rt) noexcept;
// Undoes the sweep's work on a goroutine about to run (restores its stack).
void end_idle(runtime* rt, g_on_stack& st) noexcept;

// Sets the deadline of the direction(s) in `mode`: a nanotime() value, 0 for none. One that
// has passed fails the pending and later waits at once with `timeout`; setting another
// re-arms. Never blocks; thread-safe. Throws std::bad_alloc (a first deadline makes a timer).
void poll_set_deadline(poll_desc* pd, poll_mode mode, std::int64_t deadline);

// Marks pd closing (Go's pollUnblock): the waiters wake with `closed`, and so does every
// later prepare and wait. Never blocks; idempotent; thread-safe.
void poll_evict(poll_desc* pd) noexcept;

// Deregisters fd and recycles pd (Go's pollClose), before the caller closes fd. No
// goroutine may be waiting on pd (poll_evict first wakes them). Never blocks.
void poll_close(poll_desc* pd) noexcept;

// ---------------------------------------------------------------------------------------
// The scheduler's side (worker.cpp, idle.cpp): one poller per runtime, opened by the first
// poll_open.

class netpoller {
 public:
  netpoller() = default;
  netpoller(const netpoller&) = delete;
  netpoller& operator=(const netpoller&) = delete;
  ~netpoller();

  // Whether a descriptor was ever registered in this run: from then on, the idle worker that
  // watches the timers sleeps in the poller instead of on its parker.
  bool opened() const noexcept { return opened_.load(std::memory_order_seq_cst); }
  // Opens the epoll instance, and the io_uring ring where it is chosen, if not yet done.
  // Throws std::system_error (also when GORO_NETPOLL=uring and the ring cannot be set
  // up). Thread-safe.
  void open();
  int epoll_fd() const noexcept { return epfd_.load(std::memory_order_relaxed); }
  // The io_uring ring when the completion back end runs, else null. Set by open().
  uring* ring() const noexcept { return ring_ptr_.load(std::memory_order_acquire); }
  // Submits the operations goroutines queued on the ring, if the oldest was queued at or
  // before `queued_by` (a nanotime; INT64_MAX: all). Cheap when none is. Thread-safe.
  void flush(std::int64_t queued_by = INT64_MAX) noexcept;
  // Which run of the runtime this poller belongs to, so that a descriptor that outlives its
  // runtime is not deregistered from another one's epoll instance.
  std::uint64_t id() const noexcept { return id_; }

  // Appends to `readied` (linked through g::schedlink) the goroutines whose descriptors
  // became ready, waiting at most until `until` (a nanotime; 0: not at all, INT64_MAX:
  // until wake()). The caller readies them. Only one thread may wait (until != 0) at once.
  void poll(std::int64_t until, g_list& readied) noexcept;
  // Ends a poll that waits, or the next one if none waits now.
  void wake() noexcept;

  // Goroutines and threads parked in poll_wait: while there are any, the program is not
  // deadlocked (something outside it may make their descriptor ready), and a worker that
  // finds no work polls before it steals.
  int waiters() const noexcept { return waiters_.load(std::memory_order_acquire); }
  void add_waiter(int n) noexcept { waiters_.fetch_add(n, std::memory_order_acq_rel); }
  // When poll() last ran (a nanotime): busy workers poll if nobody did for a while.
  std::int64_t last_poll() const noexcept { return last_poll_.load(std::memory_order_relaxed); }

  // The idle sweep's state (sweep_idle_waiters): how long a goroutine waits before the sweep
  // shrinks its stack (0: never), when the next sweep is due, whether one runs, and how many
  // waiters it has settled (shrunk, or left as is) that have not run since.
  std::int64_t shrink_after() const noexcept { return shrink_after_; }
  std::atomic<std::int64_t> next_sweep{INT64_MAX};
  std::atomic<bool> sweeping{false};
  std::atomic<int> settled{0};

 private:
  int wait(void* events, int max, std::int64_t until) noexcept;
  // Takes epoll's events, waiting as wait() does until `until`. The poll that may sleep
  // (`sleeper`) also consumes a wake-up it finds.
  void poll_epoll(std::int64_t until, bool sleeper, g_list& readied) noexcept;
  void consume_wake() noexcept;  // reads the eventfd: the wake-up was seen

  std::atomic<bool> opened_{false};
  std::mutex open_mu_;
  // Written once by open(), before opened_; atomic so that every reader is safe whatever
  // chain of flags ordered it after open() (a waker reaches eventfd_ through poll_sleeper).
  std::atomic<int> epfd_{-1};
  std::atomic<int> eventfd_{-1};
  std::uint64_t id_ = 0;
  std::atomic<bool> wake_sent_{false};  // an eventfd write not yet consumed (Go's netpollWakeSig)
  std::atomic<int> waiters_{0};
  std::atomic<std::int64_t> last_poll_{0};
  std::int64_t shrink_after_ = 0;  // set by open(), before opened_
  // Owned (deleted by the destructor); written once by open(), before opened_.
  std::atomic<uring*> ring_ptr_{nullptr};
};

// Which back end GORO_NETPOLL asks for: "epoll"; "uring" (forced: open() throws if the ring
// cannot be set up); "auto" (`automatic`: io_uring where the kernel allows it, else epoll).
// Unset or anything else: the default, `automatic` (netpoll.cpp's kDefaultBackend says
// why). Read by each open().
enum class poll_backend : std::uint8_t { automatic, epoll, uring };
poll_backend requested_backend() noexcept;

}  // namespace goro::detail
