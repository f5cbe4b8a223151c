#include "parker.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <ctime>

namespace goro::detail {

namespace {

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val,
           const timespec* timeout) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, timeout, nullptr, 0);
}

}  // namespace

bool parker::park() noexcept {
  while (token_.exchange(0, std::memory_order_acquire) == 0) {
    futex(&token_, FUTEX_WAIT_PRIVATE, 0, nullptr);
  }
  return true;
}

bool parker::park_until(std::chrono::steady_clock::time_point deadline) noexcept {
  while (token_.exchange(0, std::memory_order_acquire) == 0) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    futex(&token_, FUTEX_WAIT_PRIVATE, 0, &ts);
  }
  return true;
}

void parker::unpark() noexcept {
  if (token_.exchange(1, std::memory_order_seq_cst) == 0) {
    futex(&token_, FUTEX_WAKE_PRIVATE, 1, nullptr);
  }
}

}  // namespace goro::detail
