// The runtime object and the scheduler's small services: the clock, cheap random numbers,
// fatal errors, wait reasons' names, and the public functions of runtime.hpp.
//
// The scheduler is Go's proc.go, with workers that are P and M at once (sched.hpp), split
// by concern; sched_impl.hpp declares what its files share:
//   run.cpp           goro::run, one runtime at a time: start, wait for main, stop, and
//                     release (or unwind) the goroutines left
//   spawn.cpp         a goroutine's life: its g and stack, spawn, first run, panic, end
//   switch.cpp        park, ready, yield: leaving a goroutine's stack for the next one's
//   worker.cpp        the worker loop: where a worker finds its next goroutine
//   idle.cpp          idle workers, spinning, stealing, waking; the deadlock check
//   global_queue.hpp  the global run queue, and a local queue's overflow into it
//   registry.*        the live goroutines
#include "exit.hpp"
#include "sched_impl.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace goro::detail {

g* thread_g() noexcept;                // tls.cpp
std::uint64_t* thread_rng() noexcept;  // tls.cpp

g* current_g() noexcept {
  worker* w = current_worker();
  if (g* gp = w ? w->running() : nullptr) return gp;
  return thread_g();
}

std::int64_t nanotime() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint32_t fastrand() noexcept {
  worker* w = current_worker();
  std::uint64_t* s = w ? &w->rng_state : thread_rng();
  if (*s == 0) *s = static_cast<std::uint64_t>(nanotime()) ^ reinterpret_cast<std::uintptr_t>(s);
  return static_cast<std::uint32_t>(next_rand(*s));
}

void fatal(const char* msg) noexcept {
  flush_user_output();
  std::fprintf(stderr, "fatal error: %s\n", msg);
  std::fflush(stderr);
  write_seed_line(2);
  _exit(2);
}

void assert_failed(const char* cond, const char* message, const char* file,
                   unsigned line) noexcept {
  flush_user_output();
  std::fprintf(stderr, "goro: internal error: GORO_ASSERT(%s) failed at %s:%u: %s\n", cond, file,
               line, message);
  std::fflush(stderr);
  std::abort();
}

const char* wait_reason_text(wait_reason r) noexcept {
  switch (r) {
    case wait_reason::none:
      return "runnable";
    case wait_reason::chan_receive:
      return "chan receive";
    case wait_reason::chan_send:
      return "chan send";
    case wait_reason::chan_receive_nil:
      return "chan receive (nil chan)";
    case wait_reason::chan_send_nil:
      return "chan send (nil chan)";
    case wait_reason::select:
      return "select";
    case wait_reason::select_no_cases:
      return "select (no cases)";
    case wait_reason::sleep:
      return "sleep";
    case wait_reason::wait_group:
      return "sync.WaitGroup.Wait";
    case wait_reason::mutex:
      return "sync.Mutex.Lock";
    case wait_reason::rw_mutex_read:
      return "sync.RWMutex.RLock";
    case wait_reason::rw_mutex_write:
      return "sync.RWMutex.Lock";
    case wait_reason::io_wait:
      return "IO wait";
    case wait_reason::syscall:
      return "syscall";
    case wait_reason::chan_receive_durable:
      return "chan receive (durable)";
    case wait_reason::chan_send_durable:
      return "chan send (durable)";
    case wait_reason::select_durable:
      return "select (durable)";
    case wait_reason::wait_group_durable:
      return "sync.WaitGroup.Wait (durable)";
    case wait_reason::synctest_run:
      return "synctest.Run";
    case wait_reason::synctest_wait:
      return "synctest.Wait";
  }
  return "unknown";
}

runtime::runtime(unsigned n, std::size_t stack_size) : nworkers(n), stacks(stack_size) {
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<worker>());
    workers.back()->index = i;
    workers.back()->rt = this;
    workers.back()->rng_state =
        0x9e3779b97f4a7c15ull * (i + 1) ^ static_cast<std::uint64_t>(nanotime());
  }
  idle.reserve(n);
}

}  // namespace goro::detail

// ---------------------------------------------------------------------------------------
// Public functions of runtime.hpp

namespace goro {

void yield() {
  detail::yield_now();
}

std::size_t num_goroutine() {
  detail::runtime* rt = detail::current_runtime();
  if (!rt) return 0;
  std::int64_t n = rt->live_outside.load(std::memory_order_relaxed);
  for (auto& w : rt->workers) n += w->live_delta.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

unsigned gomaxprocs() {
  detail::runtime* rt = detail::current_runtime();
  return rt ? rt->nworkers : detail::default_threads();
}

std::uint64_t goroutine_id() {
  detail::worker* w = detail::current_worker();
  detail::g* gp = w ? w->running() : nullptr;
  return gp ? gp->id : 0;
}

void allow_stack_shrink(bool allow) noexcept {
  detail::worker* w = detail::current_worker();
  if (detail::g* gp = w ? w->running() : nullptr) gp->on_stack().may_shrink = allow;
}

}  // namespace goro
