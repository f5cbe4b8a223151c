#include "exit.hpp"
#include "trace.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace goro::detail {

namespace {

// How long a fatal end waits for another thread to release stdout's lock: long enough for a
// printf on another worker to finish, short enough that a lock held forever (by a goroutine
// parked inside flockfile, say) costs the dying program a tenth of a second.
constexpr int kLockTries = 100;
constexpr long kLockRetryNs = 1000000;  // 1 ms

}  // namespace

void flush_user_output() noexcept {
  // glibc's stdio locks are recursive: a try succeeds at once if this thread holds the lock
  // (a panic thrown while the dying goroutine holds it), and fails while another does.
  bool locked = false;
  for (int i = 0; i < kLockTries; ++i) {
    if (ftrylockfile(stdout) == 0) {
      locked = true;
      break;
    }
    const timespec pause{0, kLockRetryNs};
    nanosleep(&pause, nullptr);
  }
  if (!locked) return;
  // With sync_with_stdio(true), the default, std::cout writes through stdout and this
  // flushes stdout's buffer (taking the lock we hold again); after sync_with_stdio(false)
  // it flushes std::cout's own buffer.
  try {
    std::cout.flush();
  } catch (...) {
    // A stream with exceptions() enabled whose sink failed: nothing more can be saved.
  }
  std::fflush(stdout);
  funlockfile(stdout);
}

void exit_process(int status) noexcept {
  flush_user_output();
  trace::write_now();
  _exit(status);
}

}  // namespace goro::detail
