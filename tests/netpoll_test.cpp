// The netpoller's descriptor API (runtime/src/netpoll.hpp), which the net layer is built on:
// readiness wakes a parked goroutine, deadlines (past, expiring, re-armed) and eviction wake
// it with their results, and a program whose goroutines wait on sockets uses no CPU.
#include "io_util.hpp"
#include "resident.hpp"
#include "test_util.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netpoll.hpp"
#include "sched.hpp"

using namespace goro_test;
using goro::detail::nanotime;
using goro::detail::poll_backend;
using goro::detail::poll_close;
using goro::detail::poll_completes;
using goro::detail::poll_desc;
using goro::detail::poll_evict;
using goro::detail::poll_io;
using goro::detail::poll_mode;
using goro::detail::poll_open;
using goro::detail::poll_prepare;
using goro::detail::poll_register;
using goro::detail::poll_result;
using goro::detail::poll_set_deadline;
using goro::detail::poll_wait;

namespace {

std::int64_t ms(std::int64_t n) {
  return n * 1'000'000;
}

// Whether this run's poller uses the io_uring back end.
bool on_ring() {
  return goro::detail::current_runtime()->poll.ring() != nullptr;
}

// Runs this test binary again, as a child, with io_uring_setup refused by a seccomp filter
// (as Docker's default profile and kernel.io_uring_disabled=2 refuse it), the test case
// `name` only, and GORO_NETPOLL set to `netpoll` (null: unset). Its exit status.
int run_without_uring(const char* name, const char* netpoll) {
  // Everything the child needs is made before fork: another thread may hold malloc's lock.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "GORO_NETPOLL=", 13) != 0) env.emplace_back(*e);
  }
  if (netpoll) env.push_back(std::string("GORO_NETPOLL=") + netpoll);
  env.emplace_back("GORO_TEST_NO_URING=1");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string tc = std::string("--test-case=") + name;
  char arg0[] = "netpoll_test", quiet[] = "--no-intro";
  char* argv[] = {arg0, tc.data(), quiet, nullptr};
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      ::_exit(90);
    }
    ::execve("/proc/self/exe", argv, envp.data());
    ::_exit(91);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Whether goro was built with liburing (meson finds it where its header is installed).
#if __has_include(<liburing.h>)
constexpr bool kHaveLiburing = true;
#else
constexpr bool kHaveLiburing = false;
#endif

// Whether this process may set up an io_uring (asked of the kernel directly).
bool kernel_has_uring() {
  struct {
    std::uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd,
        resv[3];
    std::uint64_t offsets[10];
  } params{};
  const long fd = ::syscall(__NR_io_uring_setup, 1, &params);
  if (fd < 0) return false;
  ::close(static_cast<int>(fd));
  return true;
}

// The idle sweep's delay, shortened for a test (GORO_SHRINK_IDLE_MS, read as the poller
// opens), and put back after it.
struct shrink_after_ms {
  explicit shrink_after_ms(const char* v) { ::setenv("GORO_SHRINK_IDLE_MS", v, 1); }
  ~shrink_after_ms() { ::unsetenv("GORO_SHRINK_IDLE_MS"); }
};

// A read as net's netfd::read makes it: through the ring where poll_io may, else tried
// first and waited for on EAGAIN, the buffer given to the wait as scratch.
poll_result read_like_net(poll_desc* pd, int fd, std::span<std::byte> buf, long& n) {
  if (poll_completes(pd)) return poll_io(pd, poll_mode::read, buf.data(), buf.size(), n);
  if (poll_result r = poll_prepare(pd, poll_mode::read); r != poll_result::ready) return r;
  for (;;) {
    n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) return poll_result::ready;
    if (errno != EAGAIN) {
      n = -errno;
      return poll_result::ready;
    }
    if (poll_result r = poll_wait(pd, poll_mode::read, buf); r != poll_result::ready) return r;
  }
}

struct deep_read {
  poll_result r = poll_result::ready;
  long n = 0;
  char first = 0;
  bool intact = false;  // the frame's own bytes were the same after the wait
};

constexpr int kPattern = 256;  // 2 KiB of the reader's frame, below its buffer
std::uint64_t pattern_at(int i) {
  return 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(i + 1);
}

// Reads into a buffer that lies in its caller's frame, with 2 KiB of its own frame below
// it: a goroutine parked here uses three stack pages or more, of which the idle sweep
// may give back all but the top one. `probe` learns where the pattern lies.
[[gnu::noinline]] deep_read read_deep(poll_desc* pd, int fd, std::span<std::byte> buf,
                                      std::atomic<const void*>& probe) {
  volatile std::uint64_t pattern[kPattern];
  for (int i = 0; i < kPattern; ++i) pattern[i] = pattern_at(i);
  probe.store(const_cast<const std::uint64_t*>(&pattern[0]), std::memory_order_release);
  deep_read out;
  out.r = read_like_net(pd, fd, buf, out.n);
  out.intact = true;
  for (int i = 0; i < kPattern; ++i) out.intact = out.intact && pattern[i] == pattern_at(i);
  if (out.n > 0) out.first = static_cast<char>(buf[0]);
  return out;
}

// A read whose frame holds a cell that another goroutine writes while it waits (the case
// that keeps goro::allow_stack_shrink from being the default); returns the cell's value.
[[gnu::noinline]] std::uint64_t read_with_shared_cell(
    poll_desc* pd, int fd, std::span<std::byte> buf,
    std::atomic<std::atomic<std::uint64_t>*>& shared) {
  std::atomic<std::uint64_t> cell{0};
  shared.store(&cell);
  long n = 0;
  CHECK(read_like_net(pd, fd, buf, n) == poll_result::ready);
  CHECK(n == 1);
  return cell.load();
}

[[gnu::noinline]] deep_read reader(poll_desc* pd, int fd, std::atomic<const void*>& probe) {
  goro::allow_stack_shrink();
  std::byte buf[8192];
  std::memset(buf, 0x5a, sizeof buf);
  return read_deep(pd, fd, buf, probe);
}

// Starts reader() on a goroutine of its own; its result comes on the channel.
goro::chan<deep_read> start_reader(poll_desc* pd, int fd, std::atomic<const void*>& probe) {
  auto got = goro::make_chan<deep_read>(1);
  goro::go([pd, fd, &probe, got] { got.send(reader(pd, fd, probe)); });
  return got;
}

// Waits (bounded) until the page of the reader's frame that `probe` names is given back.
bool given_back(const std::atomic<const void*>& probe) {
  return eventually([&] {
    const void* at = probe.load(std::memory_order_acquire);
    return at && !resident(at);
  });
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("netpoll: a parked reader wakes when data arrives, on every worker count") {
    for (unsigned threads : kThreadCounts) {
      socket_pair sp;
      run_on(threads, [&] {
        poll_desc* pd = poll_open(sp.fd[0]);
        auto got = goro::make_chan<poll_result>(1);
        goro::go([&, got] {
          CHECK(poll_prepare(pd, poll_mode::read) == poll_result::ready);
          char c;
          CHECK(::read(sp.fd[0], &c, 1) == -1);  // EAGAIN: nothing there yet
          got.send(poll_wait(pd, poll_mode::read));
        });
        CHECK(wait_parked(1));
        CHECK(::write(sp.fd[1], "x", 1) == 1);
        const auto r = recv_for(got, 5s * kSlow);
        CHECK((r && *r && **r == poll_result::ready));
        poll_close(pd);
      });
    }
  }

  TEST_CASE("netpoll: a deadline in the past fails pending and later waits; a new one re-arms") {
    socket_pair sp;
    run_on(2, [&] {
      poll_desc* pd = poll_open(sp.fd[0]);
      auto got = goro::make_chan<poll_result>(1);
      goro::go([&, got] { got.send(poll_wait(pd, poll_mode::read)); });
      CHECK(wait_parked(1));
      poll_set_deadline(pd, poll_mode::read, nanotime() - 1);
      const auto r = recv_for(got, 5s * kSlow);
      CHECK((r && *r && **r == poll_result::timeout));
      CHECK(poll_prepare(pd, poll_mode::read) == poll_result::timeout);
      CHECK(poll_wait(pd, poll_mode::read) == poll_result::timeout);
      // Writing is not affected; clearing the deadline re-arms reading.
      CHECK(poll_prepare(pd, poll_mode::write) == poll_result::ready);
      poll_set_deadline(pd, poll_mode::read, 0);
      CHECK(poll_prepare(pd, poll_mode::read) == poll_result::ready);
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      CHECK(poll_wait(pd, poll_mode::read) == poll_result::ready);
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: a deadline expiring while parked wakes the waiter with timeout") {
    socket_pair sp;
    run_on(1, [&] {
      poll_desc* pd = poll_open(sp.fd[0]);
      const std::int64_t start = nanotime();
      poll_set_deadline(pd, poll_mode::read, start + ms(30));
      CHECK(poll_wait(pd, poll_mode::read) == poll_result::timeout);
      const std::int64_t waited = nanotime() - start;
      GO_CHECK_MESSAGE(waited >= ms(30), "woke after " << waited << " ns");
      GO_CHECK_MESSAGE(waited < ms(1000) * kSlow, "woke after " << waited << " ns");
      // Moving the deadline later while parked: the first timer must not fire the wait.
      poll_set_deadline(pd, poll_mode::read, nanotime() + ms(20));
      goro::go([&] { poll_set_deadline(pd, poll_mode::read, nanotime() + ms(60)); });
      const std::int64_t again = nanotime();
      CHECK(poll_wait(pd, poll_mode::read) == poll_result::timeout);
      GO_CHECK_MESSAGE(nanotime() - again >= ms(55), "woke after " << nanotime() - again);
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: evict from another goroutine wakes a parked waiter with closed") {
    socket_pair sp;
    run_on(2, [&] {
      poll_desc* pd = poll_open(sp.fd[0]);
      auto got = goro::make_chan<poll_result>(2);
      goro::go([&, got] { got.send(poll_wait(pd, poll_mode::read)); });
      // Fill the socket's send buffer so that a writer parks too.
      char buf[4096] = {};
      while (::write(sp.fd[0], buf, sizeof buf) > 0) {
      }
      // The writer follows the protocol: the edge of poll_open's registration (the socket
      // was writable then) may still come, and only a write that fails proves it stale.
      goro::go([&, got] {
        poll_result r = poll_prepare(pd, poll_mode::write);
        while (r == poll_result::ready && ::write(sp.fd[0], "x", 1) < 0) {
          r = poll_wait(pd, poll_mode::write);
        }
        got.send(r);
      });
      CHECK(wait_parked(2));
      poll_evict(pd);
      for (int i = 0; i < 2; ++i) {
        const auto r = recv_for(got, 5s * kSlow);
        CHECK((r && *r && **r == poll_result::closed));
      }
      CHECK(poll_prepare(pd, poll_mode::read) == poll_result::closed);
      CHECK(poll_wait(pd, poll_mode::write) == poll_result::closed);
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: goroutines parked on sockets and a timer use no CPU") {
    socket_pair sp;
    run_on(2, [&] {
      poll_desc* pd = poll_open(sp.fd[0]);
      auto done = goro::make_chan<poll_result>(1);
      goro::go([&, done] { done.send(poll_wait(pd, poll_mode::read)); });
      CHECK(wait_parked(1));
      const double cpu0 = cpu_seconds();
      goro::sleep(200ms);
      const double used = cpu_seconds() - cpu0;
      // Two workers spinning would burn 0.4 s; a few wake-ups cost microseconds.
      GO_CHECK_MESSAGE(used < 0.02 * kSlow, "used " << used << " s of CPU while idle");
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      const auto r = recv_for(done, 5s * kSlow);
      CHECK((r && *r && **r == poll_result::ready));
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: a plain thread waits too, and is woken by data and by evict") {
    socket_pair sp;
    run_on(1, [&] {
      poll_desc* pd = poll_open(sp.fd[0]);
      auto got = goro::make_chan<poll_result>(2);
      std::thread t([&, got] {
        got.send(poll_wait(pd, poll_mode::read));  // data
        char c;
        CHECK(::read(sp.fd[0], &c, 1) == 1);
        got.send(poll_wait(pd, poll_mode::read));  // evict
      });
      goro::sleep(10ms);
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      auto r = recv_for(got, 5s * kSlow);
      CHECK((r && *r && **r == poll_result::ready));
      goro::sleep(10ms);
      poll_evict(pd);
      r = recv_for(got, 5s * kSlow);
      CHECK((r && *r && **r == poll_result::closed));
      t.join();
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: the back end is the one GORO_NETPOLL asks for") {
    const poll_backend want = goro::detail::requested_backend();
    run_on(2, [&] {
      socket_pair sp;
      poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
      if (want == poll_backend::epoll) CHECK(!on_ring());
      if (want == poll_backend::uring) CHECK(on_ring());
      if (want == poll_backend::automatic)  // also the default
        CHECK(on_ring() == (kHaveLiburing && kernel_has_uring()));
      // Readiness works on either: a descriptor of the ring joins epoll when it waits.
      auto got = goro::make_chan<poll_result>(1);
      goro::go([&, got] {
        CHECK(poll_completes(pd) == on_ring());
        got.send(poll_wait(pd, poll_mode::read));
      });
      CHECK(wait_parked(1));
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      const auto r = recv_for(got, 5s * kSlow);
      CHECK((r && *r && **r == poll_result::ready));
      // A plain thread never uses the ring (nothing would submit for it while it blocks).
      std::thread([&] { CHECK(!poll_completes(pd)); }).join();
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: a poll that does not wait never strands the sleeper's wake-up") {
    // The poller used directly, as the workers use it: one thread sleeps in it, another
    // polls without waiting at about the moment wake() is called. With io_uring, that poll
    // may reap the CQE meant to end the sleep after the sleeper looked at the CQ and before
    // it slept; it must leave the sleeper something that ends it. A stranded sleeper
    // sleeps out its whole timeout. (Without the fix, one run in four of this test caught
    // it on the loaded two-core machine.)
    goro::detail::netpoller np;
    np.open();
    int rounds = 0, stranded = 0;
    const std::int64_t end = nanotime() + ms(2000);
    while (nanotime() < end && stranded == 0) {
      ++rounds;
      std::atomic<bool> sleeping{false};
      std::thread sleeper([&] {
        goro::detail::g_list io;
        sleeping.store(true);
        np.poll(nanotime() + ms(3000), io);
      });
      const int spin = rounds % 64;
      std::thread taker([&] {
        while (!sleeping.load()) std::this_thread::yield();
        for (int i = 0; i < spin * 8; ++i) asm volatile("");  // a delay the compiler keeps
        goro::detail::g_list io;
        np.poll(0, io);
      });
      while (!sleeping.load()) std::this_thread::yield();
      for (int i = 0; i < (rounds * 7) % 512; ++i) asm volatile("");
      const std::int64_t woken_at = nanotime();
      np.wake();
      sleeper.join();
      taker.join();
      if (nanotime() - woken_at > ms(2000)) ++stranded;  // far beyond any scheduling delay
    }
    INFO(rounds << " rounds");
    CHECK(stranded == 0);
  }

  TEST_CASE("netpoll: where io_uring cannot be set up, epoll serves; GORO_NETPOLL=uring fails") {
    CHECK(run_without_uring("netpoll (child): no io_uring", "auto") == 0);
    CHECK(run_without_uring("netpoll (child): no io_uring", "uring") == 0);
  }

  TEST_CASE("netpoll (child): no io_uring") {
    // Only in the child of the test above, where io_uring_setup fails with EPERM.
    if (!std::getenv("GORO_TEST_NO_URING")) return;
    const bool forced = goro::detail::requested_backend() == poll_backend::uring;
    run_on(1, [&] {
      socket_pair sp;
      if (forced) {
        CHECK_THROWS_AS(poll_open(sp.fd[0], poll_register::on_wait), std::system_error);
        return;
      }
      poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
      CHECK(!on_ring());
      CHECK(!poll_completes(pd));
      goro::go([&] {
        goro::sleep(10ms);
        CHECK(::write(sp.fd[1], "x", 1) == 1);
      });
      CHECK(poll_wait(pd, poll_mode::read) == poll_result::ready);
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: a ring recv cancelled by its deadline or by evict returns after its CQE") {
    socket_pair sp;
    run_on(2, [&] {
      poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
      if (!on_ring()) {
        CHECK(!poll_completes(pd));  // epoll: the readiness path serves instead (above)
        poll_close(pd);
        return;
      }
      char buf[16];
      long res = 0;
      // The deadline cancels the recv in flight; no byte is lost to the cancelled recv.
      poll_set_deadline(pd, poll_mode::read, nanotime() + ms(30));
      CHECK(poll_io(pd, poll_mode::read, buf, sizeof buf, res) == poll_result::timeout);
      poll_set_deadline(pd, poll_mode::read, 0);
      CHECK(::write(sp.fd[1], "ab", 2) == 2);
      CHECK(poll_io(pd, poll_mode::read, buf, sizeof buf, res) == poll_result::ready);
      CHECK(res == 2);
      // The write side: a send completes at once.
      CHECK(poll_io(pd, poll_mode::write, buf, 2, res) == poll_result::ready);
      CHECK(res == 2);
      // evict from another goroutine cancels a parked recv with `closed`.
      auto got = goro::make_chan<poll_result>(1);
      goro::go([&, got] {
        char b[8];
        long r = 0;
        got.send(poll_io(pd, poll_mode::read, b, sizeof b, r));
      });
      CHECK(wait_parked(1));
      CHECK(goro::detail::current_runtime()->poll.waiters() == 1);  // deadlock detection
      poll_evict(pd);
      const auto r = recv_for(got, 5s * kSlow);
      CHECK((r && *r && **r == poll_result::closed));
      CHECK(poll_io(pd, poll_mode::read, buf, sizeof buf, res) == poll_result::closed);
      poll_close(pd);
    });
  }

  TEST_CASE("netpoll: many readers on one worker, woken in a burst") {
    constexpr int kPairs = 50;
    std::vector<std::unique_ptr<socket_pair>> pairs;
    for (int i = 0; i < kPairs; ++i) pairs.push_back(std::make_unique<socket_pair>());
    run_on(1, [&] {
      goro::wait_group wg;
      std::atomic<int> ready_count{0};
      for (auto& p : pairs) {
        wg.go([&, fd = p->fd[0]] {
          poll_desc* pd = poll_open(fd);
          if (poll_wait(pd, poll_mode::read) == poll_result::ready) ++ready_count;
          poll_close(pd);
        });
      }
      CHECK(wait_parked(kPairs));
      for (auto& p : pairs) CHECK(::write(p->fd[1], "x", 1) == 1);
      wg.wait();
      CHECK(ready_count.load() == kPairs);
    });
  }

  TEST_CASE("netpoll: a reader that waits long has its stack shrunk, and wakes intact") {
    shrink_after_ms env("20");
    for (unsigned threads : {1u, 2u}) {
      socket_pair sp;
      run_on(threads, [&] {
        poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
        std::atomic<const void*> probe{nullptr};
        auto got = start_reader(pd, sp.fd[0], probe);
        // The sweep gives back the page of the reader's frame (a ring read first becomes a
        // wait for readiness, then shrinks).
        CHECK(given_back(probe));
        CHECK(::write(sp.fd[1], "hello", 5) == 5);
        const auto r = recv_for(got, 5s * kSlow);
        REQUIRE((r && *r));
        const deep_read& d = **r;
        CHECK(d.r == poll_result::ready);
        CHECK(d.n == 5);
        CHECK(d.first == 'h');
        CHECK(d.intact);
        CHECK(goro::detail::current_runtime()->poll.settled.load() == 0);
        poll_close(pd);
      });
    }
  }

  TEST_CASE("netpoll: evict and a deadline wake a reader whose stack was shrunk") {
    shrink_after_ms env("20");
    for (bool by_deadline : {false, true}) {
      socket_pair sp;
      run_on(2, [&] {
        poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
        std::atomic<const void*> probe{nullptr};
        auto got = start_reader(pd, sp.fd[0], probe);
        CHECK(given_back(probe));
        if (by_deadline) {
          poll_set_deadline(pd, poll_mode::read, nanotime() + ms(30));
        } else {
          poll_evict(pd);
        }
        const auto r = recv_for(got, 5s * kSlow);
        REQUIRE((r && *r));
        CHECK((**r).r == (by_deadline ? poll_result::timeout : poll_result::closed));
        CHECK((**r).intact);
        poll_close(pd);
      });
    }
  }

  TEST_CASE("netpoll: many shrunk readers woken at once, on two workers") {
    shrink_after_ms env("20");
    constexpr int kReaders = 64;
    std::vector<std::unique_ptr<socket_pair>> pairs;
    for (int i = 0; i < kReaders; ++i) pairs.push_back(std::make_unique<socket_pair>());
    run_on(2, [&] {
      std::vector<std::atomic<const void*>> probes(kReaders);
      auto got = goro::make_chan<deep_read>(kReaders);
      std::vector<poll_desc*> pds;
      for (int i = 0; i < kReaders; ++i) {
        poll_desc* pd = poll_open(pairs[i]->fd[0], poll_register::on_wait);
        pds.push_back(pd);
        goro::go([&, i, pd, got] { got.send(reader(pd, pairs[i]->fd[0], probes[i])); });
      }
      for (auto& p : probes) CHECK(given_back(p));
      for (auto& p : pairs) CHECK(::write(p->fd[1], "x", 1) == 1);
      int ok = 0;
      for (int i = 0; i < kReaders; ++i) {
        const auto r = recv_for(got, 5s * kSlow);
        REQUIRE((r && *r));
        if ((**r).r == poll_result::ready && (**r).n == 1 && (**r).first == 'x' && (**r).intact)
          ++ok;
      }
      CHECK(ok == kReaders);
      for (poll_desc* pd : pds) poll_close(pd);
    });
  }

  TEST_CASE("netpoll: a shrunk reader left at exit is unwound with its stack whole") {
    shrink_after_ms env("20");
    socket_pair sp;
    std::atomic<int> unwound{0};  // 1: unwound with its frame intact, 2: not intact
    std::atomic<const void*> probe{nullptr};
    run_unwinding(1, [&] {
      poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
      goro::go([&] {
        struct guard {
          std::atomic<int>& out;
          std::uint64_t canary[64];
          explicit guard(std::atomic<int>& o) : out(o) {
            for (int i = 0; i < 64; ++i) canary[i] = pattern_at(i);
          }
          ~guard() {
            bool ok = true;
            for (int i = 0; i < 64; ++i) ok = ok && canary[i] == pattern_at(i);
            out.store(ok ? 1 : 2);
          }
        } g(unwound);
        reader(pd, sp.fd[0], probe);
      });
      CHECK(given_back(probe));
    });
    CHECK(unwound.load() == 1);
  }

  TEST_CASE("netpoll: a shrunk reader left at exit is released, its copy still reachable") {
    shrink_after_ms env("20");
    socket_pair sp;
    std::atomic<const void*> probe{nullptr};
    run_on(1, [&] {
      poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
      (void)start_reader(pd, sp.fd[0], probe);
      CHECK(given_back(probe));
    });
    // Released, it never runs again: its stack stays mapped, and the heap copy of its frames
    // stays reachable from the stack's top page (LeakSanitizer, in the ASan job, would
    // report it otherwise).
    CHECK(!resident(probe.load()));
  }

  TEST_CASE("netpoll: a reader that did not allow it keeps its stack; others may use it") {
    shrink_after_ms env("20");
    socket_pair sp;
    run_on(2, [&] {
      poll_desc* pd = poll_open(sp.fd[0], poll_register::on_wait);
      std::atomic<std::atomic<std::uint64_t>*> shared{nullptr};
      auto got = goro::make_chan<std::uint64_t>(1);
      goro::go([&, got] {
        std::byte buf[8192];  // the cell lies below it, on a page that could be given back
        got.send(read_with_shared_cell(pd, sp.fd[0], buf, shared));
      });
      CHECK(eventually([&] { return shared.load() != nullptr; }));
      // Long past the delay, and settled by a sweep: the reader's pages stay, and a write
      // into its frame from here is what it reads when it wakes.
      CHECK(eventually([&] {
        auto& np = goro::detail::current_runtime()->poll;
        return np.settled.load() == np.waiters() && np.waiters() >= 1;
      }));
      CHECK(resident(shared.load()));
      shared.load()->store(42);
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      const auto r = recv_for(got, 5s * kSlow);
      CHECK((r && *r && **r == 42));
      poll_close(pd);
    });
  }
}
