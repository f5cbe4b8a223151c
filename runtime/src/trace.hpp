// GORO_TRACE=file.json: the scheduler's events (a goroutine created, running, blocked with
// its wait reason, woken, ended; steals; timers firing), written when goro::run returns as
// a Chrome trace-event file, which Perfetto's UI (ui.perfetto.dev) and chrome://tracing open:
// one lane per worker thread, a goroutine's running spans as boxes named by its id.
//
// Invariants:
// - on() is read once per hook and changes only in begin() and end(), which goro::run calls
//   before its workers start and after they have stopped. Off, a hook costs one load and
//   one predictable branch: `if (GORO_UNLIKELY(trace::on())) trace::event(...)`.
// - Each worker appends fixed-size binary events to a buffer of its own, without a lock;
//   a thread that is not a worker (a plain thread readying a goroutine, goro::run's thread
//   starting the main goroutine, shutdown's helpers) appends to one shared buffer under a
//   lock. Nothing is formatted until the trace is written.
// - A buffer holds at most GORO_TRACE_EVENTS events (default kDefaultCap): later events are
//   dropped and counted, and the count is printed on stderr and stored in the file
//   ("otherData"), so a long run's memory stays bounded (24 bytes an event) and its trace
//   shows its beginning.
// - A worker publishes each event with a release store of its count, so that a fatal end
//   (a panic, a deadlock, options::exit_grace) may write the trace while other workers
//   still append: it writes what was published.
#pragma once

#include <atomic>
#include <cstdint>

#include "goroutine.hpp"

namespace goro::detail {

struct worker;
struct timer_state;

namespace trace {

enum class kind : std::uint8_t {
  created,  // g: the new goroutine
  start,    // g starts running on this thread
  block,    // g stops running: it parks; arg: its wait_reason
  yield,    // g stops running: it yields
  end,      // g stops running: it has ended
  woken,    // g was made runnable by this thread
  steal,    // this worker stole g (and maybe others); arg: the victim's index
  timer,    // a timer fired on this thread; g: the sleeper it wakes, if any; arg: timer_kind
};

// Hooks read it as `if (GORO_UNLIKELY(trace::on())) trace::event(...);`, which stays on one
// line (clang-format breaks `if (...) [[unlikely]] ...` in two).
#ifndef GORO_UNLIKELY
#define GORO_UNLIKELY(x) __builtin_expect(static_cast<bool>(x), 0)
#endif

inline std::atomic<bool> enabled{false};

inline bool on() noexcept {
  return enabled.load(std::memory_order_relaxed);
}

// goro::run, before anything runs: turns tracing on if GORO_TRACE names a file.
void begin(unsigned nworkers) noexcept;
// goro::run, once its workers have stopped and the goroutines left are released: writes the
// file and frees the buffers. Also turns tracing off.
void end() noexcept;
// A fatal end, about to _exit while workers may still run: writes what was recorded.
void write_now() noexcept;

// Records an event on w's buffer (null, or not one of the runtime's workers: the shared one).
void event(worker* w, kind k, std::uint64_t gid, std::uint32_t arg = 0) noexcept;
// gp stops running on w for the reason of its switch request (block, yield or end).
void switched_out(worker* w, const g* gp, g::switch_request::kind_t why) noexcept;
// A timer fires on the calling thread (timer.cpp's deliver).
void timer_fired(const timer_state* t) noexcept;
// goro::set_goroutine_name: the trace names gp's spans after it.
void named(std::uint64_t gid, const char* name) noexcept;

}  // namespace trace
}  // namespace goro::detail
