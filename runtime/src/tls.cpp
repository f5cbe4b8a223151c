// Thread-local state of the runtime, reached only through these out-of-line functions.
//
// A goroutine can resume on another thread after any blocking call. A compiler may keep a
// thread-local's address in a register across calls it cannot see into (it assumes the
// thread never changes under a function), so the runtime never touches a thread_local
// directly in code that switches: it calls these, whose bodies the caller cannot see.
#include <cxxabi.h>

#include <goro/defer.hpp>

#include "sched.hpp"

// initial-exec: a direct %fs-relative access instead of a call to __tls_get_addr.
#define GORO_TLS thread_local __attribute__((tls_model("initial-exec")))

namespace {
GORO_TLS goro::detail::worker* tls_worker = nullptr;
GORO_TLS goro::detail::g* tls_thread_g = nullptr;
GORO_TLS std::uint64_t tls_rng = 0;
GORO_TLS std::uint64_t tls_user_rand = 0;  // goro::rand's generator (rand.cpp); 0: unseeded
}  // namespace

namespace goro::detail {

__attribute__((noinline)) worker* current_worker() noexcept {
  return tls_worker;
}

__attribute__((noinline)) void set_current_worker(worker* w) noexcept {
  tls_worker = w;
}

// A plain thread's stand-in g, made on its first blocking call and freed at thread exit.
__attribute__((noinline)) g* thread_g() noexcept {
  if (!tls_thread_g) {
    static thread_local std::unique_ptr<plain_thread_g> owner;
    owner = std::make_unique<plain_thread_g>();
    tls_thread_g = owner.get();
  }
  return tls_thread_g;
}

__attribute__((noinline)) std::uint64_t* thread_rng() noexcept {
  return &tls_rng;
}

// goro::rand's, apart from fastrand's so that the program's draws do not disturb the
// scheduler's choices (nor the other way round).
// (Declared in rand.cpp, its only user.)
__attribute__((noinline)) std::uint64_t* user_rand_state() noexcept {
  return &tls_user_rand;
}

// goro::defer asks this (defer.hpp). Here with the other reads of the current goroutine's
// thread-dependent state: the answer is about the goroutine running on this thread now.
__attribute__((noinline)) bool unwinding_for_exit() noexcept {
  worker* w = current_worker();
  const g* gp = w ? w->running() : nullptr;
  return gp && must_unwind(gp);
}

// libsupc++'s __cxa_eh_globals starts with these two fields on every ABI goro supports.
__attribute__((noinline)) eh_state* thread_eh_state() noexcept {
  return reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
}

}  // namespace goro::detail
