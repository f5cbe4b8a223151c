// Diagnostics: goroutine snapshots and dumps, SIGQUIT, and stack-overflow reports.
//
// Dumps are written with write(2) into a small fixed buffer and the registry is walked with
// try-locks, so the SIGQUIT handler and the deadlock detector can use the same code: a
// signal may land while some thread holds a lock or is inside malloc.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ostream>
#include <string>

#include <goro/debug.hpp>

#include "exit.hpp"
#include "sanitizers.hpp"
#include "sched.hpp"
#include "seed.hpp"

namespace goro::detail {

namespace {

// Appends text and numbers to a fixed buffer; no allocation, no locale.
class line_buffer {
 public:
  line_buffer& operator<<(const char* s) {
    while (*s && n_ < sizeof buf_) buf_[n_++] = *s++;
    return *this;
  }
  line_buffer& operator<<(std::uint64_t v) {
    char digits[24];
    int k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (k > 0 && n_ < sizeof buf_) buf_[n_++] = digits[--k];
    return *this;
  }
  void flush(int fd) noexcept {
    std::size_t off = 0;
    while (off < n_) {
      ssize_t w = ::write(fd, buf_ + off, n_ - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    n_ = 0;
  }

 private:
  char buf_[512];
  std::size_t n_ = 0;
};

const char* state_of(const g* gp) noexcept {
  switch (gp->status.load(std::memory_order_relaxed)) {
    case g_status::running:
      return "running";
    case g_status::waiting:
      return wait_reason_text(gp->reason.load(std::memory_order_relaxed));
    default:
      return "runnable";
  }
}

// Its goro::set_goroutine_name name; "" if it has none (or has not started, so has none).
// Callers hold its registry shard's lock.
const char* name_of(const g* gp) noexcept {
  const g_on_stack* st = gp->on_stack_ptr.load(std::memory_order_acquire);
  return st ? st->name : "";
}

std::int64_t waited_ns(const g* gp, std::int64_t now) noexcept {
  if (gp->status.load(std::memory_order_relaxed) != g_status::waiting) return 0;
  const g_on_stack* st = gp->on_stack_ptr.load(std::memory_order_acquire);
  if (!st) return 0;
  return std::max<std::int64_t>(0, now - st->waiting_since.load(std::memory_order_relaxed));
}

// One goroutine's header, Go's way: "goroutine 7 [chan receive, 2 minutes]:".
void write_goroutine(line_buffer& out, const g* gp, std::int64_t now) {
  out << "goroutine " << gp->id;
  if (const char* name = name_of(gp); name[0]) out << " (" << name << ")";
  out << " [" << state_of(gp);
  const std::uint64_t minutes = static_cast<std::uint64_t>(waited_ns(gp, now) / 60000000000);
  if (minutes > 0) out << ", " << minutes << (minutes == 1 ? " minute" : " minutes");
  out << "]:\n";
  if (gp->is_main) {
    out << "goro::run main function\n\n";
  } else {
    out << "created by " << gp->created.file_name() << ":" << std::uint64_t{gp->created.line()}
        << "\n\n";
  }
}

// --- signals ---------------------------------------------------------------------------

struct sigaction old_quit, old_segv, old_bus;
bool installed = false;
// Each worker's alternate signal stack: the SIGSEGV handler writes a whole goroutine dump
// from it, so it gets more than SIGSTKSZ (8 KiB) promises.
constexpr std::size_t kAltStackSize = 64 * 1024;

void on_sigquit(int) {
  flush_user_output();
  if (runtime* rt = current_runtime()) {
    write_all(2, "SIGQUIT: quit\n\n");
    dump_goroutines(rt, 2);
  }
  _exit(2);
}

// How far below a goroutine's stack a fault still counts as its overflow: a function whose
// frame is larger than the guard page may first touch a byte well below it, past the guard.
// Frames up to 64 KiB are covered; a fault farther away is more likely a wild pointer, and
// goes to whoever handled the signal before.
constexpr std::size_t kOverflowReachBelow = 64 * 1024;
// And how far above its base: the stack's lowest page (the one has_room keeps clear), so
// that a fault reported at the boundary still counts. Mapped memory there does not fault,
// so the margin mistakes nothing else for an overflow. A 4 KiB page, as on x86-64.
constexpr std::size_t kOverflowReachAbove = 4096;

// A fault just below the running goroutine's stack is an overflow into its guard page (or,
// for a stack without one, into whatever lies below it).
void on_sigsegv(int sig, siginfo_t* info, void* uctx) {
  worker* w = current_worker();
  if (const g* gp = w ? w->running() : nullptr) {
    auto* addr = static_cast<std::byte*>(info->si_addr);
    const std::byte* base = gp->stack.base;
    if (addr < base + kOverflowReachAbove && addr + kOverflowReachBelow >= base) {
      flush_user_output();
      line_buffer out;
      out << "goroutine " << gp->id << " stack overflow\n";
      out << "fatal error: stack overflow (" << std::uint64_t{gp->stack.size}
          << "-byte stack; raise goro::options::stack_size or use goro::go_with_stack)\n\n";
      out.flush(2);
      dump_goroutines(w->rt, 2);
      _exit(2);
    }
  }
  // Not ours: hand it to whoever handled it before, or let the default action happen.
  const struct sigaction& prev = sig == SIGSEGV ? old_segv : old_bus;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) return prev.sa_sigaction(sig, info, uctx);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler) {
    return prev.sa_handler(sig);
  }
  signal(sig, SIG_DFL);  // returning re-executes the fault, now fatal
}

}  // namespace

void write_all(int fd, const char* text) noexcept {
  line_buffer out;
  while (*text) {
    const std::size_t chunk = std::min<std::size_t>(std::strlen(text), 256);
    char part[257];
    std::memcpy(part, text, chunk);
    part[chunk] = '\0';
    out << part;
    out.flush(fd);
    text += chunk;
  }
}

void dump_goroutines(runtime* rt, int fd) noexcept {
  const std::int64_t now = nanotime();
  rt->all.for_each_try([&](g* gp) {
    line_buffer out;
    write_goroutine(out, gp, now);
    out.flush(fd);
  });
  write_seed_line(fd);  // the seed that replays this run, if one was given (seed.hpp)
}

void install_signal_handlers() noexcept {
#if GORO_ASAN || GORO_TSAN
  const bool with_segv = false;  // the sanitizers report overflows themselves
#else
  const bool with_segv = true;
#endif
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = &on_sigquit;
  sigaction(SIGQUIT, &sa, &old_quit);
  if (with_segv) {
    struct sigaction sv {};
    sigemptyset(&sv.sa_mask);
    sv.sa_sigaction = &on_sigsegv;
    sv.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sv, &old_segv);
    sigaction(SIGBUS, &sv, &old_bus);
  }
  installed = with_segv;
}

void restore_signal_handlers() noexcept {
  sigaction(SIGQUIT, &old_quit, nullptr);
  if (installed) {
    sigaction(SIGSEGV, &old_segv, nullptr);
    sigaction(SIGBUS, &old_bus, nullptr);
  }
}

// A worker's SIGSEGV handler must not run on the goroutine stack that just overflowed.
void* thread_signal_stack_enter() noexcept {
  void* mem =
      mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  if (sigaltstack(&ss, nullptr) != 0) {
    munmap(mem, kAltStackSize);
    return nullptr;
  }
  return mem;
}

void thread_signal_stack_leave(void* stack) noexcept {
  if (!stack) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
  munmap(stack, kAltStackSize);
}

}  // namespace goro::detail

namespace goro {

std::vector<goroutine_info> goroutines() {
  std::vector<goroutine_info> out;
  detail::runtime* rt = detail::current_runtime();
  if (!rt) return out;
  const std::int64_t now = detail::nanotime();
  rt->all.for_each([&](detail::g* gp) {
    goroutine_info info;
    info.id = gp->id;
    info.name = detail::name_of(gp);
    info.state = detail::state_of(gp);
    info.waiting = std::chrono::nanoseconds(detail::waited_ns(gp, now));
    if (!gp->is_main) {  // the main goroutine was not created by a go(...)
      info.created_file = gp->created.file_name();
      info.created_line = gp->created.line();
    }
    out.push_back(std::move(info));
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

void dump_goroutines(std::ostream& out) {
  for (const goroutine_info& g : goroutines()) {
    out << "goroutine " << g.id;
    if (!g.name.empty()) out << " (" << g.name << ")";
    out << " [" << g.state;
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(g.waiting).count();
    if (minutes > 0) out << ", " << minutes << (minutes == 1 ? " minute" : " minutes");
    out << "]:\n";
    if (g.created_file.empty()) {
      out << "goro::run main function\n\n";
    } else {
      out << "created by " << g.created_file << ":" << g.created_line << "\n\n";
    }
  }
}

void set_goroutine_name(std::string_view name) {
  detail::worker* w = detail::current_worker();
  detail::g* gp = w ? w->running() : nullptr;
  if (!gp) return;
  char* dst = gp->on_stack().name;
  const std::size_t n = std::min(name.size(), sizeof gp->on_stack().name - 1);
  // Under the registry shard's lock, which goroutines() and the dumps hold while they read
  // names: a goroutine naming itself while another snapshots them was a data race.
  w->rt->all.locked(gp, [&] {
    std::memcpy(dst, name.data(), n);
    dst[n] = '\0';
  });
}

}  // namespace goro
