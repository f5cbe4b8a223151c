// What the samples need that is neither goro nor Go: running several Go programs as one.
// (Go's `defer` and Duration printing are goro::defer and goro::format_duration.)
#pragma once

#include <chrono>
#include <cstddef>

#include <goro/goro.hpp>

namespace sample {

// Some samples run, as sections of one program, what their Go original shows as separate
// programs. A section's goroutine may still be finishing when main moves on (its deferred
// print runs after the close that main waited for, in Go as here); this waits until no
// more than `n` goroutines are left, so that what it prints stays in its own section.
inline void await_goroutines(std::size_t n) {
  while (goro::num_goroutine() > n) goro::sleep(std::chrono::milliseconds(1));
}

}  // namespace sample
