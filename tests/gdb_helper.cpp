// The program that gdb_test.py runs under gdb: two goroutines parked in known functions (a
// channel receive, a sleep), one named, and the main goroutine stopped in
// goro_test_breakpoint() once both are parked.
#include <chrono>
#include <string>

#include <goro/goro.hpp>

extern "C" {
// The parked goroutines' ids, for the test's gdb commands.
volatile unsigned long long goro_test_receiver_id = 0;
volatile unsigned long long goro_test_sleeper_id = 0;

// gdb_test.py's breakpoint: every goroutine is where it should be.
__attribute__((noinline)) void goro_test_breakpoint() {
  asm volatile("");
}
}

// The frames the goroutines' backtraces must show. Not inlined, and the asm keeps the
// blocking call from being a tail call, so each stays a frame of its own.
__attribute__((noinline)) void park_on_receive(goro::chan<int> c) {
  goro_test_receiver_id = goro::goroutine_id();
  (void)c.recv();
  asm volatile("");
}

__attribute__((noinline)) void park_in_sleep() {
  goro_test_sleeper_id = goro::goroutine_id();
  goro::set_goroutine_name("sleeper");
  goro::sleep(std::chrono::hours(1));
  asm volatile("");
}

int main() {
  return goro::run([] {
    auto c = goro::make_chan<int>();
    goro::go([c] { park_on_receive(c); });  // gdb_test: receiver
    goro::go([] { park_in_sleep(); });      // gdb_test: sleeper
    // Until both are parked, with a generous limit.
    for (int i = 0; i < 10000; ++i) {
      int parked = 0;
      for (const auto& g : goro::goroutines()) {
        parked += g.state == "chan receive" || g.state == "sleep";
      }
      if (parked == 2) break;
      goro::sleep(std::chrono::milliseconds(1));
    }
    goro_test_breakpoint();
    return 0;
  });
}
