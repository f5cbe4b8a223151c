// The Go concurrency patterns (docs/reference.md §7) and the helpers around them: errgroup,
// a weighted semaphore, a result type and a goroutine leak check for tests.
//
//   auto done = goro::make_chan<goro::unit>();
//   auto primes = goro::take(done, goro::fan_in(done, goro::fan_out(done, ints, 4, find)), 10);
//   for (int p : primes) std::cout << p << "\n";
//   done.close();   // every goroutine of the pipeline ends, even those still sending
//
// Every pattern takes a done channel first (ctx.done() fits): when it closes, or when the
// input ends, the pattern closes its output and its goroutines end, even if nobody reads
// the output any more. Every parameter of type recv_chan<T> also accepts a chan<T>.
//
// The pattern functions never block: their goroutines fill the channels they return. They
// throw std::bad_alloc, or what goro::go throws (panic_error outside goro::run); an
// exception escaping a user function inside a pattern's goroutine is a panic. Callable
// from any goroutine (or plain thread while goro::run is active); outputs are ordinary
// channels. Reference: docs/reference.md §7.
#pragma once

#include <goro/detail/pattern_support.hpp>
#include <goro/errgroup.hpp>
#include <goro/leak_check.hpp>
#include <goro/patterns/bridge.hpp>
#include <goro/patterns/buffer.hpp>
#include <goro/patterns/fan_in.hpp>
#include <goro/patterns/fan_out.hpp>
#include <goro/patterns/generators.hpp>
#include <goro/patterns/or_channel.hpp>
#include <goro/patterns/or_done.hpp>
#include <goro/patterns/produce.hpp>
#include <goro/patterns/stage.hpp>
#include <goro/patterns/tee.hpp>
#include <goro/result.hpp>
#include <goro/semaphore.hpp>
