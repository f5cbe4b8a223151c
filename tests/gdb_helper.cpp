// The program that gdb_test.py runs under gdb: three goroutines parked in known functions (a
// channel receive, a sleep, a wait for a socket whose stack the idle sweep shrank), one
// named, and the main goroutine stopped in goro_test_breakpoint() once all are parked.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <goro/goro.hpp>
#include <goro/io.hpp>

#include "resident.hpp"

using goro_test::resident;

extern "C" {
// The parked goroutines' ids, for the test's gdb commands.
volatile unsigned long long goro_test_receiver_id = 0;
volatile unsigned long long goro_test_sleeper_id = 0;
volatile unsigned long long goro_test_reader_id = 0;

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

// Where the reader's frame lies, to see its page given back.
std::atomic<const void*> reader_frame{nullptr};

// 4 KiB of frame, so that the stack reaches below its top page; once the goroutine has
// waited for a while (GORO_SHRINK_IDLE_MS, set below) those pages go back to the kernel.
__attribute__((noinline)) void park_in_read(int fd) {
  goro_test_reader_id = goro::goroutine_id();
  goro::allow_stack_shrink();
  char frame[4096];
  std::memset(frame, 1, sizeof frame);
  reader_frame.store(frame);
  goro::io::wait_readable(fd);
  asm volatile("" : : "r"(frame) : "memory");
}

int main() {
  ::setenv("GORO_SHRINK_IDLE_MS", "10", 1);
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) return 1;
  return goro::run([&] {
    auto c = goro::make_chan<int>();
    goro::go([c] { park_on_receive(c); });    // gdb_test: receiver
    goro::go([] { park_in_sleep(); });        // gdb_test: sleeper
    goro::go([&] { park_in_read(fds[0]); });  // gdb_test: reader
    // Until all are parked and the reader's stack is shrunk, with a generous limit.
    for (int i = 0; i < 10000; ++i) {
      int parked = 0;
      for (const auto& g : goro::goroutines()) {
        parked += g.state == "chan receive" || g.state == "sleep" || g.state == "IO wait";
      }
      const void* frame = reader_frame.load();
      if (parked == 3 && frame && !resident(frame)) break;
      goro::sleep(std::chrono::milliseconds(1));
    }
    goro_test_breakpoint();
    return 0;
  });
}
