// docs/reference.md §8: goro::io::wait_readable / wait_writable park a goroutine until a
// descriptor the program owns is ready, or its deadline passes; the dump says "IO wait"; bad
// descriptors are errors; nothing leaks a descriptor.
#include "io_util.hpp"
#include "test_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

using namespace goro_test;

namespace {

// Fills fd's send buffer, so that it is not writable until the peer reads.
void fill(int fd) {
  char buf[4096] = {};
  while (::write(fd, buf, sizeof buf) > 0) {
  }
}

void drain(int fd) {
  char buf[4096];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

bool any_in_io_wait() {
  for (const auto& g : goro::goroutines()) {
    if (g.state == "IO wait") return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("wait_readable parks in IO wait until data arrives") {
    for (unsigned threads : kThreadCounts) {
      socket_pair sp;
      run_on(threads, [&] {
        auto done = goro::make_chan<bool>(1);
        goro::go([&, done] {
          goro::set_goroutine_name("reader");
          done.send(goro::io::wait_readable(sp.fd[0]));
        });
        CHECK(eventually(any_in_io_wait));
        std::ostringstream dump;
        goro::dump_goroutines(dump);
        GO_CHECK_MESSAGE(dump.str().find("[IO wait") != std::string::npos, dump.str());
        CHECK(::write(sp.fd[1], "x", 1) == 1);
        const auto r = recv_for(done, 5s * kSlow);
        CHECK((r && *r && **r));
      });
    }
  }

  TEST_CASE("wait_writable: at once with room, and after the peer reads when full") {
    socket_pair sp;
    run_on(2, [&] {
      CHECK(goro::io::wait_writable(sp.fd[0]));
      fill(sp.fd[0]);
      auto done = goro::make_chan<bool>(1);
      goro::go([&, done] { done.send(goro::io::wait_writable(sp.fd[0])); });
      CHECK(eventually(any_in_io_wait));
      CHECK_FALSE(recv_for(done, 20ms).has_value());
      drain(sp.fd[1]);
      const auto r = recv_for(done, 5s * kSlow);
      CHECK((r && *r && **r));
    });
  }

  TEST_CASE("a deadline in the past returns false at once, even for a ready fd") {
    socket_pair sp;
    run_on(1, [&] {
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      CHECK_FALSE(goro::io::wait_readable(sp.fd[0], goro::now() - 1ms));
      CHECK_FALSE(goro::io::wait_writable(sp.fd[0], goro::now()));
      CHECK(goro::io::wait_readable(sp.fd[0], goro::now() + 1s));
    });
  }

  TEST_CASE("a deadline expiring while parked returns false after it") {
    socket_pair sp;
    run_on(2, [&] {
      const auto start = goro::now();
      CHECK_FALSE(goro::io::wait_readable(sp.fd[0], start + 30ms));
      const auto waited = goro::now() - start;
      GO_CHECK_MESSAGE(waited >= 30ms, "returned after " << waited.count() << " ns");
      GO_CHECK_MESSAGE(waited < 1s * kSlow, "returned after " << waited.count() << " ns");
      // The descriptor is usable again afterwards, and a later wait is not expired.
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      CHECK(goro::io::wait_readable(sp.fd[0], goro::now() + 5s * kSlow));
    });
  }

  TEST_CASE("goroutines and a plain thread wait on one fd at once") {
    socket_pair sp;
    run_on(2, [&] {
      constexpr int kWaiters = 4;
      auto done = goro::make_chan<bool>(kWaiters + 1);
      for (int i = 0; i < kWaiters; ++i) {
        goro::go(
            [&, done] { done.send(goro::io::wait_readable(sp.fd[0], goro::now() + 5s * kSlow)); });
      }
      std::thread t(
          [&, done] { done.send(goro::io::wait_readable(sp.fd[0], goro::now() + 5s * kSlow)); });
      CHECK(wait_parked(kWaiters));
      CHECK(::write(sp.fd[1], "x", 1) == 1);
      for (int i = 0; i < kWaiters + 1; ++i) {
        const auto r = recv_for(done, 5s * kSlow);
        CHECK((r && *r && **r));
      }
      t.join();
    });
  }

  TEST_CASE("outside goro::run, wait_readable blocks the thread in poll(2)") {
    socket_pair sp;
    CHECK_FALSE(goro::io::wait_readable(sp.fd[0], goro::now() + 10ms));
    CHECK(goro::io::wait_writable(sp.fd[0]));
    CHECK(::write(sp.fd[1], "x", 1) == 1);
    CHECK(goro::io::wait_readable(sp.fd[0], goro::now() + 1s));
  }

  TEST_CASE("bad descriptors are errors, a regular file is ready") {
    auto check_ebadf = [](int fd) {
      bool threw = false;
      try {
        goro::io::wait_readable(fd, goro::now() + 1s);
      } catch (const std::system_error& e) {
        threw = e.code() == std::errc::bad_file_descriptor &&
                std::string(e.what()).find("wait_readable fd") != std::string::npos;
      }
      return threw;
    };
    CHECK(check_ebadf(-1));
    run_on(1, [&] {
      CHECK(check_ebadf(-1));
      CHECK(check_ebadf(INT_MAX));  // not open
      std::FILE* f = std::tmpfile();
      CHECK(goro::io::wait_readable(::fileno(f), goro::now() + 1s));
      std::fclose(f);
    });
  }

  TEST_CASE("no descriptor leaks: waits, duplicates and deadlines give every fd back") {
    const std::size_t before = open_fds();
    {
      socket_pair sp;
      run_on(2, [&] {
        goro::wait_group wg;
        for (int i = 0; i < 3; ++i) {
          wg.go([&] { goro::io::wait_readable(sp.fd[0], goro::now() + 20ms); });
        }
        wg.go([&] { goro::io::wait_writable(sp.fd[1]); });
        wg.wait();
      });
    }
    CHECK(open_fds() == before);
  }
}

// ---------------------------------------------------------------------------------------
// goro::blocking

namespace {

bool any_in_syscall() {
  for (const auto& g : goro::goroutines()) {
    if (g.state == "syscall") return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("blocking: with one worker, the other goroutines run while a call blocks") {
    run_on(1, [] {
      std::atomic<int> ticks{0};
      std::atomic<bool> stop{false};
      auto ticker_done = goro::make_chan<goro::unit>(1);
      goro::go([&, ticker_done] {
        while (!stop.load()) {
          ++ticks;
          goro::sleep(1ms);
        }
        ticker_done.send({});
      });
      auto result = goro::make_chan<int>(1);
      goro::go([&, result] {
        result.send(goro::blocking([] {
          std::this_thread::sleep_for(100ms);
          return 42;
        }));
      });
      CHECK(eventually(any_in_syscall));
      const int before = ticks.load();
      const auto r = recv_for(result, 5s * kSlow);
      CHECK((r && *r && **r == 42));
      // The worker was free for the ticker while the call slept (~100 ticks of 1 ms).
      GO_CHECK_MESSAGE(ticks.load() - before >= 20, "ticks: " << ticks.load() - before);
      stop = true;
      CHECK(recv_for(ticker_done, 5s * kSlow).has_value());
    });
  }

  TEST_CASE("blocking: results, references, void, and exceptions come back") {
    run_on(2, [] {
      int x = 7;
      int& ref = goro::blocking([&]() -> int& { return x; });
      CHECK(&ref == &x);
      bool ran = false;
      goro::blocking([&] { ran = true; });
      CHECK(ran);
      CHECK(goro::blocking([] { return std::string(100, 'a'); }).size() == 100);
      bool caught = false;
      try {
        goro::blocking([]() -> int { throw std::runtime_error("boom in a helper"); });
      } catch (const std::runtime_error& e) {
        caught = std::string(e.what()) == "boom in a helper";
      }
      CHECK(caught);
    });
    // A plain thread runs f itself.
    CHECK(goro::blocking([] { return 5; }) == 5);
  }

  TEST_CASE("blocking: concurrent calls run on helpers side by side, not one at a time") {
    run_on(1, [] {
      constexpr int kCalls = 16;
      const auto start = goro::now();
      goro::wait_group wg;
      std::atomic<int> done{0};
      for (int i = 0; i < kCalls; ++i) {
        wg.go([&] {
          goro::blocking([] { std::this_thread::sleep_for(50ms); });
          ++done;
        });
      }
      wg.wait();
      CHECK(done.load() == kCalls);
      const auto took = goro::now() - start;
      GO_CHECK_MESSAGE(took < 500ms * kSlow,
                       "took " << took.count() << " ns");  // 16 x 50 ms in series: 800 ms
    });
  }

  TEST_CASE("blocking: main waiting on a blocking call alone is not a deadlock") {
    // All workers idle, no timer, the one goroutine parked: only the helper can wake it.
    const int r = run_on(2, [] {
      return goro::blocking([] {
        std::this_thread::sleep_for(30ms);
        return 3;
      });
    });
    CHECK(r == 3);
  }

  TEST_CASE("blocking: run returns promptly when main returns while a call is in flight") {
    static std::atomic<bool> release{false};
    static std::atomic<bool> started{false};
    static std::atomic<bool> finished{false};
    static std::atomic<bool> destroyed{false};
    struct marks_destroyed {
      ~marks_destroyed() { destroyed = true; }
    };
    // f runs until released: by this test once run has returned, or by the watchdog after a
    // minute, which makes a run that waits for f fail (finished) instead of hang. No time
    // limit on run itself: a loaded machine may take long to schedule the workers' exit.
    std::atomic<bool> run_returned{false};
    std::thread watchdog([&run_returned] {
      const auto until = clock::now() + 60s;
      while (!run_returned.load() && clock::now() < until) std::this_thread::sleep_for(10ms);
      release = true;
    });
    run_on(1, [] {
      goro::go([] {
        marks_destroyed guard;
        goro::blocking([] {
          started = true;
          while (!release.load()) std::this_thread::sleep_for(1ms);
          finished = true;
        });
      });
      // Until a helper thread has started f, the goroutine is already "syscall" but f may
      // never run: shutdown drops a call that has not started (blocking.cpp). So main
      // returns only once f runs (a loaded CI machine once ended the run in between).
      CHECK(eventually([] { return started.load(); }));
      CHECK(any_in_syscall());
    });
    // run returned while f was still in its call: it did not wait for f.
    CHECK_FALSE(finished.load());
    run_returned = true;
    watchdog.join();
    // The caller was abandoned, not unwound: f may still use its stack.
    CHECK_FALSE(destroyed.load());
    release = true;
    const auto deadline = clock::now() + 5s * kSlow;
    while (!finished.load() && clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK(finished.load());
  }
}

// ---------------------------------------------------------------------------------------
// An echo server and its clients on loopback, on raw non-blocking sockets and io::wait_*,
// as a C library driven from goroutines would do it.

namespace {

int listen_loopback(sockaddr_in& addr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  REQUIRE(::listen(fd, 512) == 0);
  return fd;
}

// Each of these returns false on an error or when `deadline` passes.
bool read_full(int fd, char* p, std::size_t n, clock::time_point deadline) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r > 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
    } else if (r < 0 && errno == EAGAIN) {
      if (!goro::io::wait_readable(fd, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool write_full(int fd, const char* p, std::size_t n, clock::time_point deadline) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      if (!goro::io::wait_writable(fd, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

int accept_one(int lfd, clock::time_point deadline) {
  for (;;) {
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 || errno != EAGAIN) return fd;
    if (!goro::io::wait_readable(lfd, deadline)) return -1;
  }
}

int dial(const sockaddr_in& addr, clock::time_point deadline) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
  int err = errno;
  if (err == EINPROGRESS && goro::io::wait_writable(fd, deadline)) {
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return fd;
  }
  ::close(fd);
  return -1;
}

void echo(int fd, clock::time_point deadline) {
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  char buf[512];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      if (!write_full(fd, buf, static_cast<std::size_t>(r), deadline)) break;
    } else if (r < 0 && errno == EAGAIN) {
      if (!goro::io::wait_readable(fd, deadline)) break;
    } else {
      break;  // end of stream, or an error
    }
  }
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("echo on loopback: one worker serves 100 concurrent connections") {
    constexpr int kConns = 100;
    const int kRounds = iterations(6);
    const std::size_t fds_before = open_fds();
    run_on(1, [&] {
      const auto deadline = goro::now() + 20s * kSlow;
      sockaddr_in addr{};
      const int lfd = listen_loopback(addr);
      goro::wait_group server;
      server.go([&] {
        for (int i = 0; i < kConns; ++i) {
          const int fd = accept_one(lfd, deadline);
          if (fd < 0) break;
          server.go([fd, deadline] { echo(fd, deadline); });
        }
      });
      goro::wait_group clients;
      std::atomic<int> ok{0};
      std::atomic<int> connected{0};
      auto all_connected = goro::make_chan<goro::unit>();
      for (int c = 0; c < kConns; ++c) {
        clients.go([&, c] {
          const int fd = dial(addr, deadline);
          if (fd < 0) return;
          // Every connection is open at once before any talks: 100 concurrent.
          if (++connected == kConns) all_connected.close();
          all_connected.recv();
          bool good = true;
          char out[512], in[512];
          for (int r = 0; r < kRounds && good; ++r) {
            for (std::size_t i = 0; i < sizeof out; ++i) out[i] = static_cast<char>(c * 31 + r + i);
            good = write_full(fd, out, sizeof out, deadline) &&
                   read_full(fd, in, sizeof in, deadline) && std::memcmp(in, out, sizeof out) == 0;
          }
          ::close(fd);
          if (good) ++ok;
        });
      }
      clients.wait();
      server.wait();
      ::close(lfd);
      CHECK(connected.load() == kConns);
      CHECK(ok.load() == kConns);
    });
    CHECK(open_fds() == fds_before);
  }
}

TEST_SUITE("io") {
  TEST_CASE("main returning releases goroutines in IO wait; the runtime's descriptors go") {
    // Released as Go abandons them, they keep the sockets they own (their destructors never
    // run), but what the runtime opened for them (epoll, eventfd, registrations) is closed.
    const std::size_t before = open_fds();
    run_on(2, [] {
      for (int i = 0; i < 3; ++i) {
        goro::go([] {
          socket_pair sp;
          goro::io::wait_readable(sp.fd[0]);
        });
      }
      CHECK(wait_parked(3));
    });
    CHECK(open_fds() == before + 6);
  }

  TEST_CASE("with unwind_at_exit, goroutines in IO wait unwind; every descriptor is given back") {
    const std::size_t before = open_fds();
    static std::atomic<int> unwound{0};
    unwound = 0;
    run_unwinding(2, [] {
      for (int i = 0; i < 3; ++i) {
        goro::go([] {
          socket_pair sp;  // closed by its destructor when the wait unwinds
          struct count_unwind {
            ~count_unwind() { ++unwound; }
          } mark;
          goro::io::wait_readable(sp.fd[0]);
        });
      }
      CHECK(wait_parked(3));
    });
    CHECK(unwound.load() == 3);
    CHECK(open_fds() == before);
  }
}

TEST_SUITE("io") {
  TEST_CASE("a worker kept busy by other goroutines still polls for I/O (every 10 ms)") {
    socket_pair sp;
    run_on(1, [&] {
      // Two goroutines ping-pong without pause, so the one worker never goes idle.
      std::atomic<bool> stop{false};
      auto ping = goro::make_chan<int>();
      auto pong = goro::make_chan<int>();
      goro::wait_group players;
      players.go([&, ping, pong] {
        for (int i = 0; !stop.load(); ++i) {
          ping.send(i);
          pong.recv();
        }
        ping.close();
      });
      players.go([ping, pong] {
        while (auto v = ping.recv()) pong.send(*v);
      });
      auto woke = goro::make_chan<clock::time_point>(1);
      goro::go([&, woke] {
        goro::io::wait_readable(sp.fd[0]);
        woke.send(clock::now());
      });
      // A plain thread writes; nobody idle waits in the poller to see it.
      std::atomic<bool> wrote{false};
      std::thread writer([&] {
        std::this_thread::sleep_for(30ms);
        wrote = ::write(sp.fd[1], "x", 1) == 1;
      });
      const auto written = clock::now() + 30ms;
      const auto r = recv_for(woke, 5s * kSlow);
      stop = true;
      players.wait();
      writer.join();
      CHECK(wrote.load());
      CHECK((r && *r));
      if (r && *r) {
        const auto late = **r - written;
        GO_CHECK_MESSAGE(late < 200ms * kSlow, "woke " << late.count() << " ns after the write");
      }
    });
  }
}
