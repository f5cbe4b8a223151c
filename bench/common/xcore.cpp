// How long a cache line takes to go from one thread's core to another's and back.
//
// bench/run.py runs this before each row at P >= 2, because on a VM the answer changes
// with where the host puts the vCPUs: on the 2-vCPU development VM it is ~55 ns for
// minutes, then ~325 ns for minutes (the vCPUs on different dies), and every row whose
// goroutines hand work from thread to thread slows by 2-3x with it. The column it fills
// tells which rows of a table ran in which phase.
//
//   xcore [round-trips]   prints: RESULT name=XCore threads=2 value=<ns per round trip> ...
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

// Two threads take turns: one writes an odd number, the other answers with the next even
// one; each waits by reading the line until its turn comes.
double round_trip_ns(long trips) {
  alignas(64) std::atomic<long> turn{0};
  std::thread echo([&] {
    for (long i = 0; i < trips; ++i) {
      while (turn.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      turn.store(2 * i + 2, std::memory_order_release);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < trips; ++i) {
    turn.store(2 * i + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  const auto end = std::chrono::steady_clock::now();
  echo.join();
  return std::chrono::duration<double, std::nano>(end - start).count() / trips;
}

}  // namespace

int main(int argc, char** argv) {
  const long trips = argc > 1 ? std::atol(argv[1]) : 100000;
  if (trips <= 0) {
    std::fprintf(stderr, "usage: %s [round-trips > 0]\n", argv[0]);
    return 2;
  }
  const double ns = round_trip_ns(trips);
  std::printf(
      "RESULT name=XCore threads=2 value=%.1f cpu=-1 unit=ns/round-trip iters=%ld check=ok\n", ns,
      trips);
  return 0;
}
