// docs/reference.md §8's goro::net: addresses and Go's error texts, echo over TCP (v4, v6) and Unix
// sockets, deadlines, close from another goroutine, the faults of issue 16 (peer reset, a
// write to a closed peer, half-close, EMFILE in accept), no descriptor leak, and one worker
// serving many connections. Modelled on Go's net/timeout_test.go and net/conn_test.go.
#include "io_util.hpp"
#include "test_util.hpp"

#include <goro/net.hpp>
#include <goro/net/asio.hpp>
#include <goro/net/detail/resolver_hook.hpp>
#include <goro/net_context.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <system_error>
#include <thread>

using namespace goro_test;
namespace net = goro::net;

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Reads exactly n bytes (or up to the end of the stream).
std::string read_n(net::conn& c, std::size_t n) {
  std::string out;
  std::byte buf[4096];
  while (out.size() < n) {
    const std::size_t k = c.read(std::span(buf, std::min(sizeof buf, n - out.size())));
    if (k == 0) break;
    out.append(reinterpret_cast<const char*>(buf), k);
  }
  return out;
}

// An echo server on ln: one goroutine per connection, until ln is closed. `shrinkable`: the
// handlers allow their stacks to shrink while they wait (goro::allow_stack_shrink).
void serve_echo(net::listener ln, bool shrinkable = false) {
  goro::go([ln, shrinkable]() mutable {
    for (;;) {
      net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error&) {
        return;  // closed
      }
      goro::go([c, shrinkable]() mutable {
        if (shrinkable) goro::allow_stack_shrink();
        std::byte buf[4096];  // on the stack, as the echo sample's
        std::error_code ec;
        while (std::size_t n = c.read(buf, ec)) {
          c.write(std::span<const std::byte>(buf, n), ec);
          if (ec) break;
        }
        c.close();
      });
    }
  });
}

// Sends a few messages to an echo server at `address` and checks what comes back.
void echo_round_trip(std::string_view network, const std::string& address) {
  net::conn c = net::dial(network, address);
  for (int i = 0; i < 10; ++i) {
    const std::string msg = "hello " + std::to_string(i);
    c.write(msg);
    CHECK(read_n(c, msg.size()) == msg);
  }
  c.close();
}

// An error's code and what(), from f().
template <class F>
std::pair<std::error_code, std::string> error_of(F f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

// A listener and a connection to it, both ends.
struct tcp_pair {
  net::listener ln;
  net::conn client, server;
  explicit tcp_pair(std::string_view address = "127.0.0.1:0") {
    ln = net::listen("tcp", address);
    client = net::dial("tcp", ln.addr().string());
    server = ln.accept();
  }
  void close() {
    client.close();
    server.close();
    ln.close();
  }
};

// The descriptor of c, found among the process's sockets by its two endpoints; -1 if none.
int fd_of(const net::conn& c) {
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    if (net::addr::from_sockaddr("tcp", &local, local_len) == c.local_addr() &&
        net::addr::from_sockaddr("tcp", &peer, peer_len) == c.remote_addr()) {
      return fd;
    }
  }
  return -1;
}

// A resolver that hangs, as getaddrinfo does when the DNS server does not answer: each
// call blocks its helper thread until the test lets it go (or 10 s pass), then says
// "no such host". It counts the calls that started and those that returned.
std::atomic<bool> resolver_released{false};
std::atomic<int> resolver_calls{0}, resolver_returns{0};
int hanging_getaddrinfo(const char*, const char*, const addrinfo*, addrinfo**) {
  resolver_calls.fetch_add(1);
  for (int i = 0; i < 10'000 && !resolver_released.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  resolver_returns.fetch_add(1);
  return EAI_NONAME;
}

bool nodelay(const net::conn& c) {
  int on = 0;
  socklen_t len = sizeof on;
  const int fd = fd_of(c);
  return fd >= 0 && ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 && on != 0;
}

}  // namespace

TEST_SUITE("net") {
  TEST_CASE("addresses print and split as Go's") {
    CHECK(net::split_host_port(":8080") == std::pair<std::string, std::string>{"", "8080"});
    CHECK(net::split_host_port("127.0.0.1:0").first == "127.0.0.1");
    CHECK(net::split_host_port("[::1]:9000") == std::pair<std::string, std::string>{"::1", "9000"});
    CHECK(net::split_host_port("localhost:80").first == "localhost");
    CHECK(net::join_host_port("::1", "9000") == "[::1]:9000");
    CHECK(net::join_host_port("127.0.0.1", "80") == "127.0.0.1:80");
    auto [ec, what] = error_of([] { net::split_host_port("nohostport"); });
    CHECK(ec == std::errc::invalid_argument);
    CHECK(what == "address nohostport: missing port in address");
    CHECK(error_of([] { net::split_host_port("[::1]9000"); }).first == std::errc::invalid_argument);
    CHECK(error_of([] { net::split_host_port("a:b:c"); }).second ==
          "address a:b:c: too many colons in address");

    CHECK(net::resolve("tcp", "127.0.0.1:8080").front().string() == "127.0.0.1:8080");
    CHECK(net::resolve("tcp", "[::1]:9000").front().string() == "[::1]:9000");
    CHECK(net::resolve("tcp", ":8080").front().string() == "[::]:8080");
    CHECK(net::resolve("tcp4", ":8080").front().string() == "0.0.0.0:8080");
    CHECK(net::resolve("unix", "/tmp/x.sock").front().string() == "/tmp/x.sock");
    CHECK(net::resolve("unix", "@abstract").front().string() == "@abstract");
    CHECK(net::resolve("tcp", "127.0.0.1:8080").front().network() == "tcp");
    // Go's texts (net.LookupPort): a name the services database lacks, a number too big.
    CHECK(error_of([] { net::resolve("tcp", "127.0.0.1:http2x"); }).second ==
          "address tcp/http2x: unknown port");
    CHECK(error_of([] { net::resolve("tcp", "127.0.0.1:99999"); }).second ==
          "address 99999: invalid port");
  }

  TEST_CASE("errc has its own category and Go's messages") {
    std::error_code t = net::errc::timeout, c = net::errc::closed;
    CHECK(t.message() == "i/o timeout");
    CHECK(c.message() == "use of closed network connection");
    CHECK(t == net::errc::timeout);
    CHECK(t != c);
    CHECK(t == std::errc::timed_out);
    CHECK(&t.category() == &net::net_category());
    CHECK(std::string(t.category().name()) == "goro.net");
  }

  TEST_CASE("lookup_host resolves localhost on a helper thread") {
    run_on(1, [] {
      CHECK(net::lookup_host("127.0.0.1") == std::vector<std::string>{"127.0.0.1"});
      const auto v = net::lookup_host("localhost");
      CHECK(!v.empty());
      auto [ec, what] = error_of([] { net::lookup_host("nosuchhost.invalid"); });
      CHECK(ec.category() == net::resolver_category());
      CHECK(what.rfind("lookup nosuchhost.invalid: ", 0) == 0);
    });
  }

  TEST_CASE("Go's error texts: refused, unknown network, bad address") {
    run_on(1, [] {
      auto [ec, what] = error_of([] { net::dial("tcp", "127.0.0.1:1"); });
      CHECK(ec == std::errc::connection_refused);
      CHECK(what == "dial tcp 127.0.0.1:1: connect: connection refused");
      std::tie(ec, what) = error_of([] { net::dial("foo", "127.0.0.1:1"); });
      CHECK(ec == std::errc::invalid_argument);
      CHECK(what == "dial foo: unknown network foo");
      std::tie(ec, what) = error_of([] { net::listen("foo", ":0"); });
      CHECK(what == "listen foo: unknown network foo");
      std::tie(ec, what) = error_of([] { net::dial("tcp", "nohostport"); });
      CHECK(ec == std::errc::invalid_argument);
      CHECK(what == "dial tcp: address nohostport: missing port in address");
      std::tie(ec, what) = error_of([] { net::dial("unix", "/nonexistent/goro.sock"); });
      CHECK(ec == std::errc::no_such_file_or_directory);
      CHECK(what == "dial unix /nonexistent/goro.sock: connect: no such file or directory");
      auto ln = net::listen("tcp", "127.0.0.1:0");
      std::tie(ec, what) = error_of([&] { net::listen("tcp", ln.addr().string()); });
      CHECK(ec == std::errc::address_in_use);
      CHECK(what == "listen tcp " + ln.addr().string() + ": bind: address already in use");
      ln.close();
    });
  }

  TEST_CASE("echo over loopback IPv4, on 1 and 2 workers") {
    for (unsigned threads : {1u, 2u}) {
      run_on(threads, [] {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        CHECK(ln.addr().ip() == "127.0.0.1");
        CHECK(ln.addr().port() != 0);
        serve_echo(ln);
        echo_round_trip("tcp", ln.addr().string());
        echo_round_trip("tcp4", ln.addr().string());
        net::conn c = net::dial("tcp", ln.addr().string());
        CHECK(c.remote_addr() == ln.addr());
        CHECK(c.local_addr().ip() == "127.0.0.1");
        CHECK(c.local_addr().string().rfind("127.0.0.1:", 0) == 0);
        c.close();
        ln.close();
      });
    }
  }

  TEST_CASE("echo through handlers whose stacks shrink while they wait, on 2 workers") {
    // The idle sweep after 2 ms instead of 1 s: most gaps below outlast it, so the handlers'
    // reads are turned into polls and their stacks shrunk and restored many times.
    ::setenv("GORO_SHRINK_IDLE_MS", "2", 1);
    constexpr int kConns = 16, kRounds = 30;
    std::atomic<int> good{0};
    run_on(2, [&] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      serve_echo(ln, /*shrinkable=*/true);
      goro::wait_group wg;
      for (int id = 0; id < kConns; ++id) {
        wg.go([&, id] {
          std::mt19937 rng(static_cast<unsigned>(id));
          net::conn c = net::dial("tcp", ln.addr().string());
          std::vector<std::byte> out, in;
          int ok = 0;
          for (int r = 0; r < kRounds; ++r) {
            out.resize(1 + rng() % 3000);
            for (auto& b : out) b = static_cast<std::byte>(rng());
            c.write(out);
            in.assign(out.size(), std::byte{0});
            std::size_t got = 0;
            while (got < in.size()) {
              const std::size_t n = c.read(std::span(in).subspan(got));
              if (n == 0) break;
              got += n;
            }
            ok += in == out;
            constexpr int kGapMs[] = {0, 1, 5, 12};
            goro::sleep(std::chrono::milliseconds(kGapMs[rng() % 4]));
          }
          c.close();
          if (ok == kRounds) ++good;
        });
      }
      wg.wait();
      ln.close();
    });
    ::unsetenv("GORO_SHRINK_IDLE_MS");
    CHECK(good.load() == kConns);
  }

  TEST_CASE("echo over loopback IPv6") {
    run_on(1, [] {
      net::listener ln;
      try {
        ln = net::listen("tcp6", "[::1]:0");
      } catch (const std::system_error& e) {
        std::printf("net: skipping the IPv6 echo: this machine has no ::1 (%s)\n", e.what());
        return;
      }
      CHECK(ln.addr().string().rfind("[::1]:", 0) == 0);
      serve_echo(ln);
      echo_round_trip("tcp6", ln.addr().string());
      echo_round_trip("tcp", ln.addr().string());
      ln.close();
    });
  }

  TEST_CASE("a tcp listener with no host takes IPv4 dials too") {
    run_on(1, [] {
      auto ln = net::listen("tcp", ":0");
      const std::string port = std::to_string(ln.addr().port());
      serve_echo(ln);
      echo_round_trip("tcp", "127.0.0.1:" + port);
      echo_round_trip("tcp", ":" + port);
      echo_round_trip("tcp", "localhost:" + port);
      ln.close();
    });
  }

  TEST_CASE("echo over unix sockets, a path and the abstract namespace") {
    run_on(1, [] {
      const std::string path = "/tmp/goro-net-test-" + std::to_string(::getpid()) + ".sock";
      auto ln = net::listen("unix", path);
      CHECK(ln.addr().string() == path);
      CHECK(ln.addr().network() == "unix");
      serve_echo(ln);
      echo_round_trip("unix", path);
      ln.close();
      CHECK(::access(path.c_str(), F_OK) != 0);  // the listener removed its file

      const std::string name = "@goro-net-test-" + std::to_string(::getpid());
      auto ab = net::listen("unix", name);
      serve_echo(ab);
      echo_round_trip("unix", name);
      ab.close();
    });
  }

  TEST_CASE("a read deadline in the past fails at once; a later one re-arms") {
    run_on(1, [] {
      tcp_pair p;
      p.client.set_read_deadline(goro::now() - 1s);
      std::byte buf[16];
      auto [ec, what] = error_of([&] { p.client.read(buf); });
      CHECK(ec == net::errc::timeout);
      CHECK(what == "read tcp " + p.client.local_addr().string() + "->" +
                        p.client.remote_addr().string() + ": i/o timeout");
      std::error_code ec2;
      CHECK(p.client.read(buf, ec2) == 0);
      CHECK(ec2 == net::errc::timeout);

      p.client.set_read_deadline({});  // re-armed: none
      p.server.write("x");
      CHECK(p.client.read(buf, ec2) == 1);
      CHECK(!ec2);
      p.close();
    });
  }

  TEST_CASE("a read deadline that expires while blocked, then re-armed") {
    run_on(1, [] {
      tcp_pair p;
      const auto start = goro::now();
      p.client.set_read_deadline(goro::now() + 30ms);
      std::byte buf[16];
      CHECK(error_of([&] { p.client.read(buf); }).first == net::errc::timeout);
      CHECK(goro::now() - start >= 30ms);
      p.client.set_deadline(goro::now() + 10s);
      goro::go([s = p.server]() mutable {
        goro::sleep(10ms);
        s.write("late");
      });
      CHECK(read_n(p.client, 4) == "late");
      // A write deadline in the past fails a write at once.
      p.client.set_write_deadline(goro::now() - 1ms);
      CHECK(error_of([&] { p.client.write("x"); }).first == net::errc::timeout);
      p.close();
    });
  }

  TEST_CASE("close from another goroutine wakes a blocked read with errc::closed") {
    run_on(2, [] {
      tcp_pair p;
      auto done = goro::make_chan<std::string>(1);
      goro::go([c = p.client, done]() mutable {
        std::byte buf[16];
        auto [ec, what] = error_of([&] { c.read(buf); });
        done.send(ec == net::errc::closed ? what : "wrong error: " + what);
      });
      CHECK(eventually([] {
        for (const auto& g : goro::goroutines()) {
          if (g.state == "IO wait") return true;
        }
        return false;
      }));
      net::conn copy = p.client;
      copy.close();
      auto what = recv_for(done, 5s * kSlow);
      CHECK(what.has_value());
      if (what) {
        CHECK(**what == "read tcp " + p.client.local_addr().string() + "->" +
                            p.client.remote_addr().string() + ": use of closed network connection");
      }
      // Reading, writing and setting a deadline after close: the closed error.
      std::byte buf[4];
      CHECK(error_of([&] { p.client.read(buf); }).first == net::errc::closed);
      CHECK(error_of([&] { p.client.write("x"); }).first == net::errc::closed);
      CHECK(error_of([&] { p.client.set_deadline({}); }).first == net::errc::closed);
      p.client.close();  // a second close does nothing
      CHECK(error_of([] { net::conn().read({}); }).first == net::errc::closed);
      p.close();
    });
  }

  TEST_CASE("close wakes a blocked accept, and the port refuses dials once it returns") {
    run_on(1, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      auto done = goro::make_chan<std::error_code>(1);
      goro::go([ln, done]() mutable { done.send(error_of([&] { ln.accept(); }).first); });
      settle();
      const std::string address = ln.addr().string();
      ln.close();  // returns once the accept let go and the descriptor is closed, as Go's
      CHECK(error_of([&] { net::dial("tcp", address); }).first == std::errc::connection_refused);
      auto ec = recv_for(done, 5s * kSlow);
      CHECK((ec && **ec == net::errc::closed));
    });
  }

  TEST_CASE("a peer that resets mid-read is an error") {
    run_on(1, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      // The peer is a plain socket, to set SO_LINGER 0: its close sends a reset.
      const int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      REQUIRE(raw >= 0);
      CHECK(::connect(raw, static_cast<const sockaddr*>(ln.addr().data()), ln.addr().size()) == 0);
      net::conn s = ln.accept();
      auto done = goro::make_chan<std::pair<std::error_code, std::string>>(1);
      goro::go([s, done]() mutable {
        std::byte buf[16];
        done.send(error_of([&] { s.read(buf); }));
      });
      settle();
      const linger lg{1, 0};
      ::setsockopt(raw, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(raw);
      auto r = recv_for(done, 5s * kSlow);
      CHECK(r.has_value());
      if (r) {
        CHECK((*r)->first == std::errc::connection_reset);
        CHECK((*r)->second.find(": read: connection reset by peer") != std::string::npos);
      }
      s.close();
      ln.close();
    });
  }

  // The cancellation paths of the io_uring back end (a deadline or close cancels the recv or
  // send in flight, and the call returns only with its completion); with GORO_NETPOLL=epoll
  // the same behaviour through readiness.
  TEST_CASE("a write blocked on a full socket: a deadline fails it with timeout") {
    run_on(2, [] {
      tcp_pair p;
      // Writes until both socket buffers are full and the write blocks (1 MiB at a time: a
      // single huge buffer took long enough to free under ThreadSanitizer on a loaded machine
      // that the runtime's exit grace ran out).
      const std::string chunk(1 << 20, 'w');
      p.client.set_write_deadline(goro::now() + 50ms);
      std::error_code ec;
      for (int i = 0; i < 64 && !ec; ++i) p.client.write(bytes(chunk), ec);
      CHECK(ec == net::errc::timeout);
      // The connection is still usable: clear the deadline, drain, and write again.
      p.client.set_write_deadline({});
      goro::go([s = p.server]() mutable {
        std::byte buf[65536];
        std::error_code rec;
        while (s.read(buf, rec) > 0) {
        }
      });
      p.client.write(bytes(std::string(1 << 20, 'x')), ec);
      CHECK(!ec);
      p.close();
    });
  }

  TEST_CASE("close from another goroutine wakes a blocked write with errc::closed") {
    run_on(2, [] {
      tcp_pair p;
      auto done = goro::make_chan<std::error_code>(1);
      goro::go([c = p.client, done]() mutable {
        const std::string chunk(1 << 20, 'w');
        std::error_code ec;
        for (int i = 0; i < 64 && !ec; ++i) c.write(bytes(chunk), ec);
        done.send(ec);
      });
      CHECK(eventually([] {
        for (const auto& g : goro::goroutines()) {
          if (g.state == "IO wait") return true;
        }
        return false;
      }));
      net::conn copy = p.client;
      copy.close();
      auto ec = recv_for(done, 5s * kSlow);
      CHECK((ec && **ec == net::errc::closed));
      p.close();
    });
  }

  TEST_CASE("a peer that resets during a blocked write is an error") {
    run_on(1, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      const int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      REQUIRE(raw >= 0);
      CHECK(::connect(raw, static_cast<const sockaddr*>(ln.addr().data()), ln.addr().size()) == 0);
      net::conn s = ln.accept();
      auto done = goro::make_chan<std::error_code>(1);
      goro::go([s, done]() mutable {
        const std::string chunk(1 << 20, 'w');
        std::error_code ec;
        for (int i = 0; i < 64 && !ec; ++i) s.write(bytes(chunk), ec);
        done.send(ec);
      });
      settle();
      const linger lg{1, 0};
      ::setsockopt(raw, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(raw);
      auto ec = recv_for(done, 5s * kSlow);
      CHECK(ec.has_value());
      if (ec) CHECK((**ec == std::errc::connection_reset || **ec == std::errc::broken_pipe));
      s.close();
      ln.close();
    });
  }

  TEST_CASE("read deadlines that race the data lose no byte and duplicate none") {
    // Each round the peer sends one byte while the reader's deadline expires at about the
    // same moment: a read cancelled too late has the byte, one cancelled in time must not
    // have taken it from the socket.
    run_on(2, [] {
      tcp_pair p;
      constexpr int kRounds = 300;
      goro::go([s = p.server]() mutable {
        for (int i = 0; i < kRounds; ++i) {
          goro::sleep(std::chrono::microseconds(50 * (i % 7)));
          const char c = static_cast<char>('a' + i % 26);
          s.write(std::string_view(&c, 1));
        }
      });
      std::string got;
      int timeouts = 0;
      while (got.size() < kRounds) {
        // 30-150 us: about the writer's gaps, so that some deadlines win and some data does.
        p.client.set_read_deadline(goro::now() +
                                   std::chrono::microseconds(30 * (1 + got.size() % 5)));
        std::byte buf[64];
        std::error_code ec;
        const std::size_t n = p.client.read(buf, ec);
        got.append(reinterpret_cast<const char*>(buf), n);
        if (ec) {
          if (ec != net::errc::timeout) break;  // fails the check below
          ++timeouts;
        }
      }
      std::string want;
      for (int i = 0; i < kRounds; ++i) want += static_cast<char>('a' + i % 26);
      CHECK(got == want);
      MESSAGE(timeouts << " reads timed out");
      p.close();
    });
  }

  TEST_CASE("a write to a closed peer is an error, never SIGPIPE") {
    ::signal(SIGPIPE, SIG_DFL);  // a SIGPIPE would end this process
    run_on(1, [] {
      tcp_pair p;
      p.server.close();
      std::error_code ec;
      const std::string chunk(4096, 'x');
      for (int i = 0; i < 1000 && !ec; ++i) {
        p.client.write(bytes(chunk), ec);
        if (!ec) goro::sleep(1ms);
      }
      CHECK((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
      p.close();
    });
  }

  TEST_CASE("a short read that ends at a FIN already there: the next read returns the end") {
    // Data and FIN both queued before the first read: that read stops short at the FIN,
    // and no readiness edge follows it (a read that waited for one would hang).
    run_on(1, [] {
      tcp_pair p;
      p.client.write("abc");
      p.client.close_write();
      goro::sleep(50ms);
      auto got = goro::make_chan<std::size_t>(2);
      goro::go([s = p.server, got]() mutable {
        std::byte buf[16];
        got.send(s.read(buf));
        got.send(s.read(buf));
      });
      auto first = recv_for(got, 5s * kSlow);
      CHECK((first && *first && **first == 3));
      auto second = recv_for(got, 5s * kSlow);
      CHECK((second && *second && **second == 0));
      p.close();
    });
  }

  // After a short read of a TCP socket the next read waits for an edge without reading first
  // (netfd::read): these are the cases where that could lose data or hang.
  TEST_CASE("after a short read, data that came before the next read is read at once") {
    run_on(1, [] {
      tcp_pair p;
      std::byte buf[16];
      p.client.write("a");
      CHECK(p.server.read(buf) == 1);  // short: the socket is drained
      p.client.write("b");
      goro::sleep(50ms);  // the poller records the edge before the next read
      auto got = goro::make_chan<std::size_t>(1);
      goro::go([s = p.server, got]() mutable {
        std::byte b[16];
        got.send(s.read(b));
      });
      auto n = recv_for(got, 5s * kSlow);
      CHECK((n && *n && **n == 1));
      p.close();
    });
  }

  TEST_CASE("after a short read, the next read honours its deadline, then reads later data") {
    run_on(1, [] {
      tcp_pair p;
      std::byte buf[16];
      p.client.write("a");
      CHECK(p.server.read(buf) == 1);
      p.server.set_read_deadline(goro::now() + 20ms);
      std::error_code ec;
      CHECK(p.server.read(buf, ec) == 0);
      CHECK(ec == net::errc::timeout);
      p.server.set_read_deadline(goro::now() - 1ms);  // already past: fails at once
      CHECK(p.server.read(buf, ec) == 0);
      CHECK(ec == net::errc::timeout);
      p.server.set_read_deadline({});
      p.client.write("bc");
      CHECK(read_n(p.server, 2) == "bc");
      p.close();
    });
  }

  TEST_CASE("a short read that stops at an urgent mark: the next read returns the rest") {
    // TCP's read stops short before urgent (out-of-band) data with more queued behind it,
    // and the edge of that data was spent before: the poller's EPOLLPRI turns the hint off.
    run_on(1, [] {
      net::listener ln = net::listen("tcp", "127.0.0.1:0");
      const int raw = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(raw >= 0);
      int one = 1;
      ::setsockopt(raw, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(ln.addr().port());
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      REQUIRE(::connect(raw, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
      net::conn server = ln.accept();
      CHECK(::send(raw, "abc", 3, 0) == 3);
      CHECK(::send(raw, "X", 1, MSG_OOB) == 1);
      CHECK(::send(raw, "def", 3, 0) == 3);
      goro::sleep(100ms);  // everything queued, and its edges recorded, before the reads
      auto got = goro::make_chan<std::string>(2);
      goro::go([server, got]() mutable {
        for (int i = 0; i < 2; ++i) {
          std::byte b[16];
          const std::size_t n = server.read(b);
          got.send(std::string(reinterpret_cast<const char*>(b), n));
        }
      });
      auto first = recv_for(got, 5s * kSlow);
      CHECK((first && *first && **first == "abc"));
      auto second = recv_for(got, 5s * kSlow);
      CHECK((second && *second && **second == "def"));
      ::close(raw);
      server.close();
      ln.close();
    });
  }

  TEST_CASE("half-close: the peer reads the end and can still write back") {
    run_on(1, [] {
      tcp_pair p;
      p.client.write("request");
      p.client.close_write();
      CHECK(read_n(p.server, 100) == "request");  // then the end of the stream
      std::byte buf[4];
      CHECK(p.server.read(buf) == 0);
      p.server.write("reply");
      p.server.close();
      CHECK(read_n(p.client, 100) == "reply");
      p.close();
    });
  }

  TEST_CASE("accept at the descriptor limit fails, and the accept loop goes on") {
    const std::size_t before = open_fds();
    run_on(1, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      net::conn c = net::dial("tcp", ln.addr().string());
      rlimit old{};
      REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
      // The lowest free descriptor number is the limit: no new descriptor fits under it.
      const int lowest = ::dup(0);
      ::close(lowest);
      rlimit low = old;
      low.rlim_cur = static_cast<rlim_t>(lowest);
      REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
      auto [ec, what] = error_of([&] { ln.accept(); });
      ::setrlimit(RLIMIT_NOFILE, &old);
      CHECK(ec == std::errc::too_many_files_open);
      CHECK(what == "accept tcp " + ln.addr().string() + ": accept4: too many open files");
      net::conn s = ln.accept();  // the connection waited in the backlog
      c.write("ok");
      CHECK(read_n(s, 2) == "ok");
      s.close();
      c.close();
      ln.close();
    });
    CHECK(open_fds() == before);
  }

  TEST_CASE("no descriptor leaks: connections, errors, timeouts, dropped handles") {
    const std::size_t before = open_fds();
    run_on(2, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      serve_echo(ln);
      for (int i = 0, n = iterations(30); i < n; ++i) {
        echo_round_trip("tcp", ln.addr().string());
        CHECK(error_of([] { net::dial("tcp", "127.0.0.1:1"); }).first ==
              std::errc::connection_refused);
        net::conn dropped = net::dial("tcp", ln.addr().string());  // closed by its destructor
        dropped.set_read_deadline(goro::now() - 1s);
        std::byte buf[1];
        CHECK(error_of([&] { dropped.read(buf); }).first == net::errc::timeout);
      }
      ln.close();
      goro::sleep(20ms * kSlow);  // the echo goroutines see the ends and close
    });
    CHECK(open_fds() == before);
  }

  TEST_CASE("dial_timeout and dial(ctx)") {
    run_on(1, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      serve_echo(ln);
      net::conn c = net::dial_timeout("tcp", ln.addr().string(), 5s);
      c.write("a");
      CHECK(read_n(c, 1) == "a");
      c.close();
      auto [ctx, cancel] = goro::with_timeout(goro::background(), 5s);
      c = net::dial(ctx, "tcp", ln.addr().string());
      c.close();
      cancel();
      auto [ec, what] = error_of([&] { net::dial(ctx, "tcp", ln.addr().string()); });
      CHECK(ec == goro::context_errc::canceled);
      CHECK(what == "dial tcp: operation was canceled");
      ln.close();
    });
  }

  TEST_CASE("dial_timeout and dial(ctx) give up on a peer that never answers") {
    // A plain listener with a full accept queue: the kernel drops further SYNs, so a dial
    // waits until its deadline.
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(lfd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(lfd, 0) == 0);
    REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    const std::string address = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
    int fill[4];
    for (int& f : fill) {
      f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::connect(f, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    run_on(1, [&] {
      const auto start = goro::now();
      auto [ec, what] = error_of([&] { net::dial_timeout("tcp", address, 50ms); });
      CHECK(ec == net::errc::timeout);
      CHECK(what == "dial tcp " + address + ": i/o timeout");
      CHECK(goro::now() - start < 900ms * kSlow);  // before the SYN's first retransmission

      auto [ctx, cancel] = goro::with_timeout(goro::background(), 50ms);
      std::tie(ec, what) = error_of([&] { net::dial(ctx, "tcp", address); });
      CHECK(ec == goro::context_errc::deadline_exceeded);
      CHECK(what == "dial tcp " + address + ": i/o timeout");
      cancel();

      auto [ctx2, cancel2] = goro::with_cancel(goro::background());
      goro::after_func(30ms, [cancel2] { cancel2(); });
      std::tie(ec, what) = error_of([&] { net::dial(ctx2, "tcp", address); });
      CHECK(ec == goro::context_errc::canceled);
      CHECK(what == "dial tcp " + address + ": operation was canceled");
    });
    for (int f : fill) ::close(f);
    ::close(lfd);
  }

  TEST_CASE("a deadline or a cancelled context ends a dial or lookup whose resolver hangs") {
    resolver_released = false;
    resolver_calls = 0;
    resolver_returns = 0;
    net::detail::set_getaddrinfo_for_test(&hanging_getaddrinfo);
    run_on(1, [] {
      // Each call below returns while its getaddrinfo still hangs (resolver_returns stays 0):
      // it stopped waiting at its deadline or cancellation, not at the resolver's end.
      auto [ec, what] = error_of([] { net::dial_timeout("tcp", "example.invalid:80", 50ms); });
      CHECK(ec == net::errc::timeout);
      CHECK(what == "dial tcp: lookup example.invalid: i/o timeout");

      auto [ctx, cancel] = goro::with_timeout(goro::background(), 50ms);
      std::tie(ec, what) = error_of([&] { net::dial(ctx, "tcp", "example.invalid:80"); });
      CHECK(ec == goro::context_errc::deadline_exceeded);
      CHECK(what == "dial tcp: lookup example.invalid: i/o timeout");
      cancel();

      auto [ctx2, cancel2] = goro::with_cancel(goro::background());
      goro::after_func(20ms, [cancel2] { cancel2(); });
      std::tie(ec, what) = error_of([&] { net::dial(ctx2, "tcp", "example.invalid:80"); });
      CHECK(ec == goro::context_errc::canceled);
      CHECK(what == "dial tcp: lookup example.invalid: operation was canceled");

      auto [ctx3, cancel3] = goro::with_timeout(goro::background(), 50ms);
      std::tie(ec, what) = error_of([&] { net::lookup_host(ctx3, "example.invalid"); });
      CHECK(ec == goro::context_errc::deadline_exceeded);
      CHECK(what == "lookup example.invalid: i/o timeout");
      cancel3();

      auto [ctx4, cancel4] = goro::with_cancel(goro::background());
      goro::after_func(20ms, [cancel4] { cancel4(); });
      std::tie(ec, what) = error_of([&] { net::lookup_host(ctx4, "example.invalid"); });
      CHECK(ec == goro::context_errc::canceled);
      CHECK(what == "lookup example.invalid: operation was canceled");
      CHECK(resolver_returns.load() == 0);

      // An IP literal never reaches the resolver, and a context has nothing to stop there.
      CHECK(net::lookup_host(ctx4, "127.0.0.1") == std::vector<std::string>{"127.0.0.1"});

      // The hung calls end later; each then drops its result and frees its state. A call can
      // start on its helper thread after its caller gave up (a thread slow to start, as
      // under ThreadSanitizer on a busy machine: 4 of 5 had started here once), so wait for
      // all five before letting them go.
      for (int i = 0; i < 5000 && resolver_calls.load() < 5; ++i) goro::sleep(1ms);
      const int started = resolver_calls.load();
      CHECK(started == 5);
      resolver_released = true;
      for (int i = 0; i < 5000 && net::detail::lookups_in_flight_for_test() != 0; ++i) {
        goro::sleep(1ms);
      }
      CHECK(net::detail::lookups_in_flight_for_test() == 0);
      CHECK(resolver_returns.load() == started);
    });
    net::detail::set_getaddrinfo_for_test(nullptr);
  }

  TEST_CASE("ports by service name, as Go's: localhost:http, unknown port") {
    run_on(1, [] {
      CHECK(net::resolve("tcp", "127.0.0.1:http").front().port() == 80);
      CHECK(net::resolve("tcp4", "127.0.0.1:HTTPS").front().port() == 443);  // any case
      CHECK(net::resolve("udp", "127.0.0.1:domain").front().port() == 53);
      const auto local = net::resolve("tcp", "localhost:http");  // a name and a named port
      CHECK(!local.empty());
      for (const net::addr& a : local) CHECK(a.port() == 80);
      auto [ec, what] = error_of([] { net::dial("tcp", "localhost:nosuchsvc"); });
      CHECK(ec.category() == net::resolver_category());
      CHECK(what == "dial tcp: address tcp/nosuchsvc: unknown port");
      std::tie(ec, what) = error_of([] { net::listen("tcp", "127.0.0.1:nosuchsvc"); });
      CHECK(what == "listen tcp: address tcp/nosuchsvc: unknown port");
      std::tie(ec, what) = error_of([] { net::dial("udp", "127.0.0.1:nosuchsvc"); });
      CHECK(what == "dial udp: address udp/nosuchsvc: unknown port");
    });
  }

  TEST_CASE("one worker serves 100 concurrent connections") {
    run_on(1, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      serve_echo(ln);
      // TSan makes each goroutine (a fiber of its own there) ~2 ms to create: 25 of them.
      const int n = kTsan ? 25 : 100;
      goro::wait_group wg;
      std::atomic<int> ok{0};
      const std::string address = ln.addr().string();
      for (int i = 0; i < n; ++i) {
        wg.add(1);
        goro::go([&, i] {
          net::conn c = net::dial("tcp", address);
          bool good = true;
          for (int j = 0; j < 5; ++j) {
            const std::string msg = std::to_string(i) + "/" + std::to_string(j);
            c.write(msg);
            good = good && read_n(c, msg.size()) == msg;
          }
          c.close();
          if (good) ++ok;
          wg.done();
        });
      }
      wg.wait();
      CHECK(ok.load() == n);
      ln.close();
    });
  }

  TEST_CASE("concurrent writes are each written whole") {
    run_on(2, [] {
      tcp_pair p;
      const int writers = 4, rounds = iterations(20);
      const std::size_t size = 64 * 1024;
      goro::wait_group wg;
      for (int w = 0; w < writers; ++w) {
        wg.add(1);
        goro::go([&, w, c = p.client]() mutable {
          const std::string msg(size, static_cast<char>('a' + w));
          for (int r = 0; r < rounds; ++r) c.write(msg);
          wg.done();
        });
      }
      bool whole = true;
      for (int i = 0; i < writers * rounds; ++i) {
        const std::string got = read_n(p.server, size);
        whole = whole && got.size() == size && got.find_first_not_of(got[0]) == std::string::npos;
      }
      wg.wait();
      CHECK(whole);
      p.close();
    });
  }

  // Four workers queue and submit ring operations at once (io_uring: one thread enters the
  // kernel for all of them while the others go on queuing); every stream must come back
  // whole and in order.
  TEST_CASE("streams on four workers: every byte is echoed, in order") {
    run_on(4, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      serve_echo(ln);
      const int conns = 8;
      const std::size_t total = static_cast<std::size_t>(iterations(256)) * 4096;
      const std::string address = ln.addr().string();
      goro::wait_group wg;
      std::atomic<int> ok{0};
      for (int i = 0; i < conns; ++i) {
        net::conn c = net::dial("tcp", address);
        // Byte k of stream i: a pattern that a lost, repeated or reordered chunk breaks.
        auto expected = [i](std::size_t k) {
          return static_cast<char>((k * 7 + k / 4096 + i) & 0xff);
        };
        wg.go([c, total, expected]() mutable {
          std::string chunk(1000, '\0');  // not a divisor of the reader's 4 KiB
          for (std::size_t k = 0; k < total; k += chunk.size()) {
            chunk.resize(std::min<std::size_t>(1000, total - k));
            for (std::size_t j = 0; j < chunk.size(); ++j) chunk[j] = expected(k + j);
            c.write(chunk);
          }
        });
        wg.go([c, total, expected, &ok]() mutable {
          const std::string got = read_n(c, total);
          bool good = got.size() == total;
          for (std::size_t k = 0; good && k < total; ++k) good = got[k] == expected(k);
          if (good) ++ok;
          c.close();
        });
      }
      wg.wait();
      CHECK(ok.load() == conns);
      ln.close();
    });
  }

  TEST_CASE("udp: listen_packet, read_from, write_to, a dialed udp conn, deadlines") {
    const std::size_t before = open_fds();
    run_on(1, [] {
      auto pc = net::listen_packet("udp", "127.0.0.1:0");
      CHECK(pc.local_addr().network() == "udp");
      CHECK(pc.local_addr().string().rfind("127.0.0.1:", 0) == 0);
      goro::go([pc]() mutable {  // echoes each datagram to its sender
        std::byte buf[2048];
        net::addr from;
        try {
          for (;;) {
            const std::size_t n = pc.read_from(buf, from);
            pc.write_to(std::span<const std::byte>(buf, n), from);
          }
        } catch (const std::system_error&) {
        }
      });
      net::conn c = net::dial("udp", pc.local_addr().string());
      CHECK(c.remote_addr() == pc.local_addr());
      c.write("ping");
      std::byte buf[64];
      CHECK(c.read(buf) == 4);
      CHECK(std::memcmp(buf, "ping", 4) == 0);

      auto other = net::listen_packet("udp4", "127.0.0.1:0");
      other.write_to(bytes("hi"), pc.local_addr());
      net::addr from;
      CHECK(other.read_from(buf, from) == 2);
      CHECK(from == pc.local_addr());
      other.set_read_deadline(goro::now() - 1s);
      CHECK(error_of([&] { other.read_from(buf, from); }).first == net::errc::timeout);
      CHECK(error_of([] { net::listen_packet("tcp", ":0"); }).second ==
            "listen tcp: unknown network tcp");
      CHECK(error_of([] { net::listen("udp", ":0"); }).second == "listen udp: unknown network udp");
      other.close();
      c.close();
      pc.close();
      goro::sleep(10ms * kSlow);  // the echo goroutine sees the close
    });
    CHECK(open_fds() == before);
  }
  TEST_CASE("tcp connections have no Nagle delay, dialed and accepted, as Go's") {
    // Go's newTCPConn sets TCP_NODELAY on both ends. Without it on the accepted end, a server
    // that writes a response in two pieces (Beast's header, then its body) waits for the
    // client's delayed ACK before the second: 40 ms a request on Linux.
    run_on(1, [] {
      tcp_pair p;
      CHECK(nodelay(p.client));
      CHECK(nodelay(p.server));
      p.close();
    });
  }
  TEST_CASE("asio_stream: write_some gathers small buffers into one write") {
    // Beast writes a message as several small buffers: one write_some (one system call, one
    // packet) takes them all, up to gather_bytes; a large buffer goes alone and whole.
    run_on(1, [] {
      tcp_pair p;
      net::asio_stream s{p.client};
      const std::string a = "HTTP/1.1 200 OK\r\n", b = "Content-Length: 2\r\n\r\n", c = "hi";
      const std::array<boost::asio::const_buffer, 4> small{
          boost::asio::buffer(a), boost::asio::const_buffer(), boost::asio::buffer(b),
          boost::asio::buffer(c)};
      CHECK(s.write_some(small) == a.size() + b.size() + c.size());
      CHECK(read_n(p.server, a.size() + b.size() + c.size()) == a + b + c);
      // What does not fit stays for the next call; a large first buffer is written alone.
      const std::string big(net::asio_stream::gather_bytes, 'x');
      const std::array<boost::asio::const_buffer, 3> mixed{
          boost::asio::buffer(a), boost::asio::buffer(big), boost::asio::buffer(c)};
      CHECK(s.write_some(mixed) == a.size());
      const std::array<boost::asio::const_buffer, 2> large_first{boost::asio::buffer(big),
                                                                 boost::asio::buffer(c)};
      CHECK(s.write_some(large_first) == big.size());
      CHECK(read_n(p.server, a.size() + big.size()) == a + big);
      p.close();
    });
  }
  TEST_CASE("asio_stream: Boost.Asio's read, write and read_until on a conn") {
    run_on(2, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      serve_echo(ln);
      net::conn c = net::dial("tcp", ln.addr().string());
      net::asio_stream s{c};
      // A sequence of two buffers, written whole by asio::write through write_some.
      const std::string a = "hello, ", b = "asio\nrest";
      const std::array<boost::asio::const_buffer, 2> out{boost::asio::buffer(a),
                                                         boost::asio::buffer(b)};
      CHECK(boost::asio::write(s, out) == a.size() + b.size());
      std::string line;
      const std::size_t n = boost::asio::read_until(s, boost::asio::dynamic_buffer(line), '\n');
      CHECK(line.substr(0, n) == "hello, asio\n");
      // The rest, then the end of the stream: asio::error::eof, as Asio's sockets report it.
      c.close_write();
      std::string rest = line.substr(n);
      boost::system::error_code ec;
      char buf[64];
      while (!ec) {
        const std::size_t got = s.read_some(boost::asio::buffer(buf), ec);
        rest.append(buf, got);
      }
      CHECK(ec == boost::asio::error::eof);
      CHECK(rest == "rest");
      // After close, an error (goro's errc::closed), also from the throwing form.
      c.close();
      s.read_some(boost::asio::buffer(buf), ec);
      CHECK(ec.failed());
      CHECK(ec.message() == "use of closed network connection");
      CHECK_THROWS_AS(s.write_some(boost::asio::buffer(a)), boost::system::system_error);
      ln.close();
    });
  }
}
