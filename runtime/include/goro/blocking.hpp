// goro::blocking: run a call that blocks its thread (a system call, a read of a file, a
// library with no non-blocking mode, name resolution) without taking a worker away from the
// other goroutines.
//
//   std::string text = goro::blocking([&] { return read_whole_file(path); });
//   auto rows = goro::blocking([&] { return db.query(sql); });   // exceptions come back too
#pragma once

#include <type_traits>

#include <goro/detail/blocking.hpp>

namespace goro {

// Runs f() on a helper thread while the calling goroutine parks (dump state "syscall"), and
// returns its result or rethrows its exception, so that even with one worker thread the
// other goroutines keep running.
//
// - Blocks: the calling goroutine, not its worker. On a plain thread, or outside goro::run,
//   f() runs right there.
// - Threads: at most 512 helpers (tokio's bound for spawn_blocking); a call that finds them
//   all busy waits for one, in order. A helper idle for 10 s exits.
// - f may use the caller's locals: the goroutine waits for f to finish. Each call costs a
//   hand-over to the helper and back (tens of microseconds): not for calls that never block.
// - Throws what f throws; std::system_error if no helper thread can be started.
// - Shutdown: when main_fn returns while f runs, goro::run does not wait for f. f goes on
//   to its end on its helper thread; the goroutine that called it is abandoned, not
//   unwound (its destructors do not run), and its stack stays mapped, since f may still
//   use it. The process may exit under f, as a Go program exits under its system calls.
// - Thread safety: any number of goroutines may call it at once.
template <class F>
decltype(auto) blocking(F f) {
  return detail::blocking_call(f);
}

}  // namespace goro
