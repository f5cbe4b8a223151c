// A one-token semaphore that blocks an OS thread: an idle worker, or a plain thread waiting
// on a goro primitive. unpark() before park() makes park() return at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace goro::detail {

class parker {
 public:
  // Blocks until unpark() (or until `deadline`, if given). Returns true if a token came.
  bool park() noexcept;
  bool park_until(std::chrono::steady_clock::time_point deadline) noexcept;
  void unpark() noexcept;
  // Takes a token left by unpark() without blocking; true if there was one. seq_cst, as is
  // unpark's exchange: the netpoller's sleeper pairs them with a flag (idle.cpp,
  // wake_worker); on x86 an exchange is a full barrier whatever the order says.
  bool try_take() noexcept { return token_.exchange(0, std::memory_order_seq_cst) != 0; }

 private:
  std::atomic<std::uint32_t> token_{0};
};

}  // namespace goro::detail
