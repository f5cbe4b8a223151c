// The io_uring ring of the netpoller's completion back end (netpoll.cpp says when it is
// used and how the net layer's recv and send go through it). Built only with liburing
// (GORO_HAVE_LIBURING); without it init() fails with ENOSYS and the poller stays on epoll.
//
// Invariants:
// - One ring per netpoller, shared by every worker and thread, so the ring is set up
//   without SINGLE_ISSUER or DEFER_TASKRUN: any thread may queue (under sq_mu) and submit,
//   and reap (under cq_mu); the one thread that sleeps in the poller waits in the kernel
//   (wait()) with no lock held. One thread at a time submits (`submitting`), and it enters
//   the kernel without sq_mu: a thread whose submit() finds it busy leaves its SQEs to it,
//   and it enters again for whatever was queued while it was in the kernel.
// - A request's task work runs on the thread that submitted it, which is why workers may
//   submit for each other's goroutines. With COOP_TASKRUN (5.19+) the kernel wakes that
//   thread if it sleeps (in the ring or on its futex, both interruptible) but does not
//   interrupt it while it runs: the work waits for its next system call or interrupt, at
//   most a timer tick for a goroutine that makes none.
// - A CQE's user_data is an io_op* (a recv or a send), kCancelData (an ASYNC_CANCEL) or
//   kEpollData (the POLL_ADD on the epoll descriptor): no io_op lives below 4096.
// - An io_op lives on the stack of the goroutine that waits for it, and that goroutine
//   does not return (nor unwind) before the reaper has set the op kOpDone: the kernel writes
//   into its buffer and the reaper into the op until then.
// - io_op::state: kOpQueued (the SQE is queued or in flight) -> the g* of the goroutine
//   once it is off its stack (park's commit) -> kOpDone (the reaper; it readies the g* it
//   took out). kOpSync replaces the g* when the goroutine, resumed by shutdown, waits for
//   the CQE itself: the reaper then readies nobody. res is written before kOpDone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "goroutine.hpp"

namespace goro::detail {

constexpr std::uintptr_t kOpQueued = 0, kOpDone = 1, kOpSync = 2;

struct io_op {
  std::atomic<std::uintptr_t> state{kOpQueued};
  std::int32_t res = 0;      // the CQE's result: bytes, or -errno
  bool cancel_sent = false;  // under the poll_desc's lock: one ASYNC_CANCEL per op
  // Under the poll_desc's lock: the idle sweep cancelled this recv, which has waited long,
  // so that it waits for readiness instead (netpoll.cpp's poll_io).
  bool go_idle = false;
};

// poll_in: a one-shot POLL_ADD for POLLIN (no buffer); its result is the poll mask.
enum class io_kind : std::uint8_t { recv, send, poll_in };

class uring {
 public:
  uring();
  ~uring();
  uring(const uring&) = delete;
  uring& operator=(const uring&) = delete;

  // Sets up the ring. False, with errno, when the kernel refuses it (io_uring_disabled,
  // seccomp, a kernel before 5.11 without EXT_ARG) or liburing was not built in (ENOSYS).
  bool init() noexcept;

  // Queues a recv, send or poll of op's goroutine; submitted by the next submit().
  // Thread-safe.
  void queue(io_kind kind, int fd, void* buf, std::size_t len, io_op* op) noexcept;
  // Asks the kernel to cancel op, now (not batched: a deadline or close must take effect),
  // or, with submit_now false, at the next submit() (the idle sweep's many cancels).
  void cancel(io_op* op, bool submit_now = true) noexcept;
  // Arms a one-shot POLL_ADD on fd (the epoll descriptor) unless one is armed: its CQE says
  // that epoll has events. Submitted by the next submit().
  void arm_poll(int fd) noexcept;
  // Submits what is queued: one io_uring_enter for every SQE queued since the last one,
  // or nothing if another thread is submitting (it takes them before it returns).
  void submit() noexcept;
  // Whether SQEs wait for submit(), and since when (a nanotime; 0: none).
  std::int64_t pending_since() const noexcept {
    return pending_since_.load(std::memory_order_relaxed);
  }

  // Takes every CQE: completes the ops (appending the goroutines to ready to `readied`,
  // which may be null to ready none: shutdown resumes them itself). True if the POLL_ADD
  // on the epoll descriptor completed.
  bool reap(g_list* readied) noexcept;
  // Sleeps until a CQE is posted, `until` (a nanotime; INT64_MAX: no limit) or a signal.
  void wait(std::int64_t until) noexcept;

 private:
  void mark_queued() noexcept;

  struct impl;
  std::unique_ptr<impl> impl_;
  std::atomic<std::int64_t> pending_since_{0};
};

}  // namespace goro::detail
