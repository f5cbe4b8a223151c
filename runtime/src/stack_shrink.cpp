// Shrinking an idle goroutine's stack (stack_shrink.hpp).
#include "stack_shrink.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "assert.hpp"

namespace goro::detail {

// The bytes [lo, hi) of a stack but for [skip_lo, skip_hi) (scratch, possibly empty),
// saved after this header; the pages from release_lo up to hi were given back.
struct shrunk_stack {
  std::byte* lo;
  std::byte* hi;
  std::byte* skip_lo;
  std::byte* skip_hi;
  std::byte* release_lo;

  std::byte* saved() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
};

namespace {

const std::uintptr_t kPage = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));

std::byte* page_floor(const void* p) noexcept {
  return reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1));
}

// A copy that AddressSanitizer does not check: a parked goroutine's stack holds the
// poisoned redzones between its frames, which memcpy's interceptor would report. (For
// ThreadSanitizer, the handshake that lets the sweep hold the goroutine orders the copies
// after the goroutine's writes and before its next reads.)
[[gnu::no_sanitize_address]] void copy_raw(std::byte* dst, const std::byte* src,
                                           std::size_t n) noexcept {
#if defined(__x86_64__)
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
  auto* d = reinterpret_cast<volatile unsigned char*>(dst);
  auto* s = reinterpret_cast<const volatile unsigned char*>(src);
  for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
#endif
}

}  // namespace

bool save_stack(g* gp, std::span<std::byte> scratch) noexcept {
  g_on_stack& st = gp->on_stack();
  GORO_ASSERT(!st.shrunk, "a goroutine's stack shrunk twice");
  GORO_ASSERT(gp->ctx && !gp->is_thread, "save_stack of a goroutine that is not parked");
  auto* lo = static_cast<std::byte*>(gp->ctx);  // the saved context: the lowest live byte
  std::byte* hi = page_floor(&st);
  std::byte* release_lo = page_floor(lo);
  if (release_lo >= hi) return false;  // it uses only its top page
  GORO_ASSERT(lo >= gp->stack.base, "a parked goroutine's context lies below its stack");
  std::byte* skip_lo = hi;
  std::byte* skip_hi = hi;
  if (!scratch.empty()) {
    skip_lo = std::clamp(scratch.data(), lo, hi);
    skip_hi = std::clamp(scratch.data() + scratch.size(), lo, hi);
  }
  const std::size_t keep = static_cast<std::size_t>((skip_lo - lo) + (hi - skip_hi));
  const std::size_t freed = static_cast<std::size_t>(hi - release_lo);
  if (sizeof(shrunk_stack) + keep + freed / 4 > freed) return false;
  void* mem = std::malloc(sizeof(shrunk_stack) + keep);
  if (!mem) return false;
  auto* s = ::new (mem) shrunk_stack{lo, hi, skip_lo, skip_hi, release_lo};
  copy_raw(s->saved(), lo, static_cast<std::size_t>(skip_lo - lo));
  copy_raw(s->saved() + (skip_lo - lo), skip_hi, static_cast<std::size_t>(hi - skip_hi));
  st.shrunk = s;
  return true;
}

namespace {

// process_madvise(2) on the calling process, which flushes the TLB once for the whole
// vector: 10,000 stacks' pages went back in 22 ms instead of 64-70 ms with one madvise
// each, nearly all of it in the flush, on this project's virtual machine (Linux 6.18).
// Older kernels refuse the PIDFD_SELF_THREAD_GROUP handle or MADV_DONTNEED through it;
// then this is set false and each stack gets a madvise of its own.
std::atomic<bool> vector_madvise{true};
constexpr int kPidfdSelf = -10001;

// Gives back the regions, one madvise each; a stack whose madvise fails keeps its bytes
// and drops its copy.
void give_back_one_by_one(std::span<g* const> gs) noexcept {
  for (g* gp : gs) {
    g_on_stack& st = gp->on_stack();
    shrunk_stack* s = st.shrunk;
    if (madvise(s->release_lo, static_cast<std::size_t>(s->hi - s->release_lo), MADV_DONTNEED) !=
        0) {
      st.shrunk = nullptr;
      std::free(s);
    }
  }
}

}  // namespace

void give_back_saved(std::span<g* const> gs) noexcept {
  constexpr std::size_t kMaxIov = 1024;  // IOV_MAX
  while (!gs.empty() && vector_madvise.load(std::memory_order_relaxed)) {
    iovec iov[kMaxIov];
    const std::size_t n = std::min(gs.size(), kMaxIov);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      shrunk_stack* s = gs[i]->on_stack().shrunk;
      iov[i] = {s->release_lo, static_cast<std::size_t>(s->hi - s->release_lo)};
      bytes += iov[i].iov_len;
    }
    const long done = syscall(SYS_process_madvise, kPidfdSelf, iov, n, MADV_DONTNEED, 0u);
    if (done == static_cast<long>(bytes)) {
      gs = gs.subspan(n);
      continue;
    }
    // Refused (an older kernel: EBADF, EINVAL, ENOSYS, EPERM), or stopped part way: skip
    // the regions it did, and do the rest one by one.
    if (done < 0) vector_madvise.store(false, std::memory_order_relaxed);
    std::size_t skip = 0;
    for (std::size_t left = done > 0 ? static_cast<std::size_t>(done) : 0;
         skip < n && iov[skip].iov_len <= left; ++skip) {
      left -= iov[skip].iov_len;
    }
    gs = gs.subspan(skip);
    break;
  }
  give_back_one_by_one(gs);
}

void restore_stack(g_on_stack& st) noexcept {
  shrunk_stack* s = st.shrunk;
  GORO_ASSERT(s, "restore_stack of a stack that is not shrunk");
  copy_raw(s->lo, s->saved(), static_cast<std::size_t>(s->skip_lo - s->lo));
  copy_raw(s->skip_hi, s->saved() + (s->skip_lo - s->lo),
           static_cast<std::size_t>(s->hi - s->skip_hi));
  st.shrunk = nullptr;
  std::free(s);
}

}  // namespace goro::detail
