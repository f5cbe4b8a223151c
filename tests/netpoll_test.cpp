// The netpoller's descriptor API (runtime/src/netpoll.hpp), which the net layer is built on:
// readiness wakes a parked goroutine, deadlines (past, expiring, re-armed) and eviction wake
// it with their results, and a program whose goroutines wait on sockets uses no CPU.
#include "io_util.hpp"
#include "test_util.hpp"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <thread>

#include "netpoll.hpp"
#include "sched.hpp"

using namespace goro_test;
using goro::detail::nanotime;
using goro::detail::poll_close;
using goro::detail::poll_desc;
using goro::detail::poll_evict;
using goro::detail::poll_mode;
using goro::detail::poll_open;
using goro::detail::poll_prepare;
using goro::detail::poll_result;
using goro::detail::poll_set_deadline;
using goro::detail::poll_wait;

namespace {

std::int64_t ms(std::int64_t n) {
  return n * 1'000'000;
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
}
