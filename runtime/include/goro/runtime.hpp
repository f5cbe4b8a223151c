// The scheduler: goro::run starts it, goro::go starts goroutines.
//
//   int main() {
//     return goro::run([] {
//       auto c = goro::make_chan<int>();
//       goro::go([c] { c.send(42); });
//       std::cout << *c.recv() << "\n";
//     });
//   }
//
// Goroutines are fibers multiplexed onto `options::threads` worker threads that steal work
// from each other. A goroutine may resume on another thread after any blocking call, so it
// must not keep pointers to thread_local variables across one (see README, "Differences").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include <goro/detail/chrono.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/panic.hpp>

namespace goro {

struct options {
  // Worker threads. 0: the GOMAXPROCS environment variable if set, else the number of cores.
  unsigned threads = 0;
  // Bytes of stack per goroutine. 0: the default (256 KiB of address space, of which a
  // parked goroutine touches only a page or two).
  std::size_t stack_size = 0;
  // When every goroutine is blocked and nothing can wake one (no timer pending, no thread
  // outside the runtime alive), print Go's "all goroutines are asleep - deadlock!" with a
  // goroutine dump and exit with status 2. Turn off for programs that are woken by means
  // the runtime cannot see (a signal handler writing to a channel, say).
  bool detect_deadlock = true;
  // Debugging aid: every wake-up moves the goroutine to another worker thread, so code that
  // wrongly keeps thread-local state across a blocking call fails fast. Also turned on by
  // the environment variable GORO_DEBUG_MIGRATE=1.
  bool debug_migrate = false;
  // When main_fn returns, goroutines that are still computing (running, not blocked) get
  // this much CPU time (their worker thread's, so that a loaded machine does not cut them
  // short) to reach a blocking call; then the process ends with main_fn's status, after
  // flushing std::cout and stdout, as Go's exit ends them. See run().
  std::chrono::nanoseconds exit_grace = std::chrono::milliseconds(100);
  // What happens to goroutines still blocked (or waiting to run) when main_fn returns.
  // false (Go's way): they are released at once, whatever their number (well under a
  // microsecond each): none runs again and their destructors do not run; their stacks stay
  // mapped until the process ends. true: each is unwound so that its destructors run (its
  // blocking call throws an internal exception), which costs the C++ unwinder ~10 us per
  // goroutine; for programs that call run more than once and need RAII cleanup between.
  bool unwind_at_exit = false;
  // The seed of every random choice of the scheduler (steal victims, the order in which a
  // select polls its cases; docs/reference.md §10). Also read from the environment
  // variable GORO_SEED, which wins. Unset (the default): a random seed, and the scheduler
  // as usual. Set: each worker's generator starts from it, and the scheduler also
  // randomises which ready goroutine runs next (as Go's race detector does), so that
  // different seeds try different interleavings while one seed, with one worker thread and
  // the program in a synctest bubble, replays the same schedule and output every time. A
  // panic, a deadlock or a fatal error then prints "goro: seed N" for the replay.
  std::optional<std::uint64_t> seed = std::nullopt;
};

// Runs main_fn as the main goroutine and returns when it returns: its int result, or 0.
//
// As in Go, main's return ends the program's goroutines. From that moment no goroutine
// resumes its normal code: those that are blocked or waiting to run are released (Go
// abandons them: they never run again and their destructors do not run) and run returns.
// With options::unwind_at_exit they are unwound instead: their blocking call throws an
// internal exception, so their destructors run (goro::defer skips its call, as Go's exit
// skips defers), and they are freed. A goroutine that is still computing cannot be stopped
// from outside; if it does not block within options::exit_grace of CPU time, the process ends with
// main_fn's status (std::exit is not called, as Go's exit runs no deferred code). run
// never hangs on goroutines that outlive main_fn. Call it again to start a fresh runtime;
// a channel or sync object that a released goroutine waited on should not be shared with
// the next run (the released waiter stays queued on it: whatever is handed to it is lost).
// Blocks the calling thread; throws goro::panic_error if called from a goroutine or while
// another run is active.
template <class F>
int run(const options& opts, F main_fn) {
  int result = 0;
  auto body = [&] {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      main_fn();
    } else {
      result = static_cast<int>(main_fn());
    }
  };
  detail::run_main(
      opts, [](void* b) { (*static_cast<decltype(body)*>(b))(); }, &body, &result);
  return result;
}

template <class F>
int run(F main_fn) {
  return run(options{}, std::move(main_fn));
}

// goro::go(f, args...) runs f(args...) in a new goroutine; f and args are decay-copied as
// std::thread does. Each overload records where it was called from (std::source_location
// after a fixed number of arguments), which goroutine dumps and panic messages name; calls
// with more than six arguments are not located.
// Never blocks. Throws panic_error("goro::go: no runtime is running (call it inside
// goro::run)") outside run, std::bad_alloc, or what copying f and args throws. Callable from
// any goroutine, and from plain threads while run is active. An exception that escapes f is
// a panic (docs/reference.md §1).
#define GORO_DETAIL_LOCATION const std::source_location& where = std::source_location::current()
template <class F>
void go(F&& f, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f));
}
template <class F, class A1>
void go(F&& f, A1&& a1, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f), std::forward<A1>(a1));
}
template <class F, class A1, class A2>
void go(F&& f, A1&& a1, A2&& a2, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
}
template <class F, class A1, class A2, class A3>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3));
}
template <class F, class A1, class A2, class A3, class A4>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3), std::forward<A4>(a4));
}
template <class F, class A1, class A2, class A3, class A4, class A5>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5));
}
template <class F, class A1, class A2, class A3, class A4, class A5, class A6>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, GORO_DETAIL_LOCATION) {
  detail::spawn(0, where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5),
                std::forward<A6>(a6));
}
template <class F, class... Args>
  requires(sizeof...(Args) > 6)
void go(F&& f, Args&&... args) {
  detail::spawn(0, std::source_location::current(), std::forward<F>(f),
                std::forward<Args>(args)...);
}
#undef GORO_DETAIL_LOCATION

namespace detail {
// go_with_stack's stack size, with where the call stands. The size converts to it in the
// caller's expression, so current() in the constructor's default argument names the
// caller (current() in go_with_stack's body named this header), for any number of
// arguments: a defaulted source_location parameter must come last, where the pack would
// swallow it.
struct located_stack_size {
  std::size_t bytes;
  std::source_location where;
  located_stack_size(  // NOLINT(google-explicit-constructor): converts at the call site
      std::size_t n, const std::source_location& w = std::source_location::current()) noexcept
      : bytes(n), where(w) {}
};
}  // namespace detail

// Like go(f, args...) with a stack of `stack_size` bytes, for deep recursion.
template <class F, class... Args>
void go_with_stack(detail::located_stack_size stack_size, F&& f, Args&&... args) {
  detail::spawn(stack_size.bytes, stack_size.where, std::forward<F>(f),
                std::forward<Args>(args)...);
}

// runtime.Gosched: lets other goroutines run. On a plain thread, std::this_thread::yield.
void yield();

// runtime.NumGoroutine: live goroutines, the main one included (0 outside run).
std::size_t num_goroutine();

// runtime.GOMAXPROCS(0): the number of worker threads (of the running runtime, else the
// number run would start).
unsigned gomaxprocs();

// The current goroutine's id: the main goroutine is 1; 0 on a plain thread.
std::uint64_t goroutine_id();

// Lets the runtime shrink the calling goroutine's stack while it waits long for I/O (not
// in Go, which shrinks every goroutine's stack at GC). Once the goroutine has waited in a
// goro::net or goro::io operation for a second (GORO_SHRINK_IDLE_MS), the pages of its
// stack below the top one may go back to the kernel, their live bytes kept on the heap
// and copied back before it runs again: a server's per-connection goroutine parked in a
// read with a 4 KiB buffer on its stack then holds ~5 KiB instead of ~8.5 KiB.
//
// Allow it only for a goroutine whose stack nothing else touches while it waits: no other
// goroutine, thread or system call may read or write its locals then (captured by
// reference, or a buffer handed to another goroutine). They would read zeros, and what
// they wrote would be lost. Go needs no such promise: whatever another goroutine can reach
// escapes to its heap. `allow = false` withdraws it. On a plain thread: no effect.
void allow_stack_shrink(bool allow = true) noexcept;

}  // namespace goro
