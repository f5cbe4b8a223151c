// API.md §8: goro::io::wait_readable / wait_writable park a goroutine until a descriptor the
// program owns is ready, or its deadline passes; the dump says "IO wait"; bad descriptors
// are errors; nothing leaks a descriptor.
#include "test_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

using namespace goro_test;

namespace {

struct socket_pair {
  int fd[2] = {-1, -1};
  socket_pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0); }
  ~socket_pair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
};

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n;
}

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
        goro::go([&] {
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
      goro::go([&] { done.send(goro::io::wait_writable(sp.fd[0])); });
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
        goro::go([&] { done.send(goro::io::wait_readable(sp.fd[0], goro::now() + 5s * kSlow)); });
      }
      std::thread t(
          [&] { done.send(goro::io::wait_readable(sp.fd[0], goro::now() + 5s * kSlow)); });
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
      goro::go([&] {
        while (!stop.load()) {
          ++ticks;
          goro::sleep(1ms);
        }
        ticker_done.send({});
      });
      auto result = goro::make_chan<int>(1);
      goro::go([&] {
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
    static std::atomic<bool> finished{false};
    static std::atomic<bool> destroyed{false};
    struct marks_destroyed {
      ~marks_destroyed() { destroyed = true; }
    };
    const auto start = clock::now();
    run_on(1, [] {
      goro::go([] {
        marks_destroyed guard;
        goro::blocking([] {
          while (!release.load()) std::this_thread::sleep_for(1ms);
          finished = true;
        });
      });
      CHECK(eventually(any_in_syscall));
    });
    const auto took = clock::now() - start;
    GO_CHECK_MESSAGE(took < 1s * kSlow, "run took " << took.count() << " ns");
    CHECK_FALSE(finished.load());
    // The caller was abandoned, not unwound: f may still use its stack.
    CHECK_FALSE(destroyed.load());
    release = true;
    const auto deadline = clock::now() + 5s * kSlow;
    while (!finished.load() && clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK(finished.load());
  }
}
