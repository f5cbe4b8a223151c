// The io_uring ring (see uring.hpp for its invariants; netpoll.cpp uses it).
#include "uring.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "sched.hpp"

#if GORO_HAVE_LIBURING
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace goro::detail {

#if GORO_HAVE_LIBURING

namespace {
constexpr std::uint64_t kCancelData = 1, kEpollData = 2;
}  // namespace

// SQ: room for what a worker's batch queues between two submits (a full SQ is submitted on
// the spot). CQ: every recv of an idle connection is in flight, and a burst (all peers
// closing) completes them at once; the kernel keeps what overflows (FEAT_NODROP) until the
// next enter, but the CQ is cheap (16 bytes an entry).
constexpr unsigned kSqEntries = 1024, kCqEntries = 16384;

struct uring::impl {
  io_uring ring{};
  bool ok = false;
  std::mutex sq_mu;
  bool submitting = false;  // under sq_mu: a thread is in submit()'s loop (see there)
  // A POLL_ADD on the epoll fd is in flight: set under sq_mu, cleared by the reaper.
  std::atomic<bool> poll_armed{false};
  std::mutex cq_mu;

  // Under sq_mu: an SQE, submitting the full SQ first if need be.
  io_uring_sqe* sqe() noexcept {
    for (;;) {
      if (io_uring_sqe* s = io_uring_get_sqe(&ring)) return s;
      enter(publish_locked());
    }
  }
  // Under sq_mu: SQEs queued but not yet published to the kernel.
  unsigned unpublished() const noexcept { return ring.sq.sqe_tail - ring.sq.sqe_head; }
  // Under sq_mu: hands the SQEs queued so far to the kernel (the SQ tail, as liburing's
  // submit does before it enters) and returns how many the kernel has not consumed yet.
  // liburing set up the SQ array as the identity at init, so the tail is all it takes.
  unsigned publish_locked() noexcept {
    io_uring_sq& sq = ring.sq;
    if (sq.sqe_head != sq.sqe_tail) {
      sq.sqe_head = sq.sqe_tail;
      io_uring_smp_store_release(sq.ktail, sq.sqe_tail);
    }
    // khead moves under another thread's enter: a stale value only over-asks, and the
    // kernel consumes at most what the ring holds.
    return sq.sqe_tail - io_uring_smp_load_acquire(sq.khead);
  }
  // Has the kernel consume up to n published SQEs; needs no lock (the kernel serialises
  // concurrent enters on its own).
  void enter(unsigned n) noexcept {
    if (n == 0) return;
    // Overflowed CQEs must be flushed for the submission to go on (liburing does the same).
    const unsigned flags =
        (IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) ? IORING_ENTER_GETEVENTS : 0u;
    const int rc = io_uring_enter(ring.ring_fd, n, 0, flags, nullptr);
    // EBUSY/EAGAIN (overflowed CQEs the kernel holds) and a short count leave SQEs in the
    // ring: submit() sees them and has the next submit retry.
    if (rc < 0 && rc != -EBUSY && rc != -EAGAIN && rc != -EINTR) fatal("goro: io_uring_enter");
  }
};

uring::uring() : impl_(std::make_unique<impl>()) {}

uring::~uring() {
  if (impl_->ok) io_uring_queue_exit(&impl_->ring);
}

bool uring::init() noexcept {
  // COOP_TASKRUN: without it, a recv armed on an empty socket has its task work signalled to
  // the submitting worker the moment data lands, with an IPI if that worker is running; on
  // loopback the work then runs while the sender's core still holds the socket's lock, and
  // spins on it. With it the work waits for the worker's next entry into the kernel (a
  // sleeping worker is still woken for it): pingpong-1000 at one worker went from 13.8 to
  // 8.2 us of CPU per request (bench/RESULTS.md, "The rerun on a quiet machine"). Kernels
  // before 5.19 refuse the flag (EINVAL): the ring is then set up without it.
  io_uring_params p{};
  int rc = -EINVAL;
  for (const unsigned coop : {unsigned{IORING_SETUP_COOP_TASKRUN}, 0u}) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | coop;
    p.cq_entries = kCqEntries;
    rc = io_uring_queue_init_params(kSqEntries, &impl_->ring, &p);
    if (rc != -EINVAL) break;
  }
  if (rc < 0) {
    errno = -rc;
    return false;
  }
  // EXT_ARG: wait() sleeps with a timeout without a timeout SQE; NODROP: no CQE is lost.
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP)) {
    io_uring_queue_exit(&impl_->ring);
    errno = EOPNOTSUPP;
    return false;
  }
  impl_->ok = true;
  return true;
}

// Under sq_mu, after queuing an SQE: the first one since the SQ was last published starts
// the wait that pending_since() reports.
void uring::mark_queued() noexcept {
  if (impl_->unpublished() == 1) pending_since_.store(nanotime(), std::memory_order_relaxed);
}

void uring::queue(io_kind kind, int fd, void* buf, std::size_t len, io_op* op) noexcept {
  std::lock_guard lock(impl_->sq_mu);
  io_uring_sqe* s = impl_->sqe();
  switch (kind) {
    case io_kind::recv:
      io_uring_prep_recv(s, fd, buf, len, 0);
      break;
    case io_kind::send:
      io_uring_prep_send(s, fd, buf, len, MSG_NOSIGNAL);
      break;
    case io_kind::poll_in:
      io_uring_prep_poll_add(s, fd, POLLIN);
      break;
  }
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uintptr_t>(op));
  // The kernel hands op from this SQE to the reaper's CQE, an order that ThreadSanitizer
  // cannot see: this release and the reaper's acquire load state it.
  op->state.store(kOpQueued, std::memory_order_release);
  mark_queued();
}

void uring::cancel(io_op* op, bool submit_now) noexcept {
  std::unique_lock lock(impl_->sq_mu);
  io_uring_sqe* s = impl_->sqe();
  io_uring_prep_cancel64(s, reinterpret_cast<std::uintptr_t>(op), 0);
  io_uring_sqe_set_data64(s, kCancelData);
  mark_queued();
  lock.unlock();
  // Now, not at the next batch. The SQ is consumed in order, so the op it names (queued
  // before it) is in the kernel first, whoever enters.
  if (submit_now) submit();
}

void uring::arm_poll(int fd) noexcept {
  std::lock_guard lock(impl_->sq_mu);
  if (impl_->poll_armed.load(std::memory_order_acquire)) return;
  impl_->poll_armed.store(true, std::memory_order_release);
  io_uring_sqe* s = impl_->sqe();
  io_uring_prep_poll_add(s, fd, POLLIN);
  io_uring_sqe_set_data64(s, kEpollData);
  mark_queued();
}

// One thread at a time enters the kernel for the SQ, without sq_mu: the enter runs every
// queued send's TCP path (on loopback, the receiver's too), several microseconds during
// which the other workers must still be able to queue. A thread that finds another one
// submitting leaves its SQEs to it and goes back to its goroutines instead of waiting:
// the submitter looks again when its enter returns and enters once more for what was
// queued meanwhile. (With the lock held across the enter, stream-4x16 at two workers spent
// ~11% of the server's CPU in futex waits and wakes on sq_mu.)
void uring::submit() noexcept {
  if (pending_since_.load(std::memory_order_relaxed) == 0) return;
  impl& m = *impl_;
  std::unique_lock lock(m.sq_mu);
  if (m.submitting) return;  // pending_since_ stays set until the submitter takes them
  m.submitting = true;
  for (;;) {
    const unsigned n = m.publish_locked();
    pending_since_.store(0, std::memory_order_relaxed);
    lock.unlock();
    m.enter(n);
    lock.lock();
    // Queued while we were in the kernel: ours, however many rounds it takes. Whoever
    // queued them returned from submit() trusting us, and may now sleep in the ring waiting
    // for them (a cap of four rounds hung net_test about once in 30 runs).
    if (m.unpublished() != 0) continue;
    // What the kernel left (a refused or short submission) waits for the next submit().
    if (io_uring_sq_ready(&m.ring) != 0)
      pending_since_.store(nanotime(), std::memory_order_relaxed);
    break;
  }
  m.submitting = false;
}

bool uring::reap(g_list* readied) noexcept {
  bool epoll_fired = false;
  std::lock_guard lock(impl_->cq_mu);
  io_uring& ring = impl_->ring;
  // CQEs the kernel holds back (a full CQ) come out only in an enter with GETEVENTS.
  if (IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) io_uring_get_events(&ring);
  unsigned head, n = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring, head, cqe) {
    ++n;
    const std::uint64_t data = cqe->user_data;
    if (data == kCancelData) continue;
    if (data == kEpollData) {
      impl_->poll_armed.store(false, std::memory_order_release);
      epoll_fired = true;
      continue;
    }
    auto* op = reinterpret_cast<io_op*>(data);
    static_cast<void>(op->state.load(std::memory_order_acquire));  // see queue()
    op->res = cqe->res;
    const std::uintptr_t old = op->state.exchange(kOpDone, std::memory_order_acq_rel);
    GORO_ASSERT(old != kOpDone, "goro: two completions for one io_uring op");
    // op may be gone from here on: its goroutine can return as soon as it sees kOpDone.
    if (old != kOpQueued && old != kOpSync && readied) {
      g* gp = reinterpret_cast<g*>(old);
      readied->push_back(gp, gp);
    }
  }
  io_uring_cq_advance(&ring, n);
  return epoll_fired;
}

void uring::wait(std::int64_t until) noexcept {
  // io_uring_wait_cqe_timeout would touch the SQ (it submits) and the CQ head without our
  // locks; the raw enter only sleeps. min_complete 1 counts CQEs posted after we entered,
  // so one that a concurrent reaper takes still ends the wait.
  __kernel_timespec ts{};
  io_uring_getevents_arg arg{};
  arg.sigmask_sz = _NSIG / 8;
  if (until != INT64_MAX) {
    const std::int64_t left = std::max<std::int64_t>(until - nanotime(), 0);
    ts.tv_sec = left / 1'000'000'000;
    ts.tv_nsec = left % 1'000'000'000;
    arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
  }
  // ETIME, EINTR (a signal or task work): the caller looks at the CQ either way.
  syscall(__NR_io_uring_enter, impl_->ring.ring_fd, 0, 1,
          IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
}

#else  // no liburing: init() fails and nothing else is ever called

struct uring::impl {};
uring::uring() : impl_(std::make_unique<impl>()) {}
uring::~uring() = default;
bool uring::init() noexcept {
  errno = ENOSYS;
  return false;
}
void uring::queue(io_kind, int, void*, std::size_t, io_op*) noexcept {}
void uring::cancel(io_op*, bool) noexcept {}
void uring::arm_poll(int) noexcept {}
void uring::submit() noexcept {}
bool uring::reap(g_list*) noexcept {
  return false;
}
void uring::wait(std::int64_t) noexcept {}

#endif

}  // namespace goro::detail
