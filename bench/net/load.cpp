// netload: the load client of the network benchmarks (bench/net/run.py). Plain
// non-blocking sockets and one event loop per thread, no goro, so that it is the same
// client for every server: epoll (--io epoll), or an io_uring ring (--io uring, the
// default where liburing was found) that queues every connection's recv and send and enters
// the kernel once per batch. On this paravirtualised guest a system call's entry and exit
// are a large part of a loopback request, and the epoll client, at 2 calls a request, ran
// out of its core before goro's server did (bench/RESULTS.md, "The load client was the
// limit").
//
//   netload --addr 127.0.0.1:PORT --mode pingpong --conns 100 --msg 512 --duration 3
//   netload --addr 127.0.0.1:PORT --mode stream --conns 4 --depth 16
//   netload --addr 127.0.0.1:PORT --mode idle --conns 10000
//
// pingpong: each connection sends one message and waits for all of its bytes to come back
//   before it sends the next; a request is one round trip. The echo is compared with what
//   was sent.
// stream: each connection keeps `depth` messages in flight (it sends more as soon as
//   echoed bytes come back); a request is one echoed message.
// idle: opens `conns` connections, does one round trip on each (so that the server has
//   accepted it and is waiting in a read), prints "READY", then keeps them open, doing
//   nothing, until stdin closes or a line arrives on it.
//
// After --warmup seconds it prints "START" (the measured window begins), and after
// --duration more seconds one line:
//   RESULT mode=pingpong conns=100 requests=N secs=S rps=R client_cpu_us_per_req=C
// then exits. Exit status 1 on an error (the line "ERROR ..." says what).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if NETLOAD_HAVE_LIBURING
#include <liburing.h>
#endif

namespace {

struct config {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string mode = "pingpong";
  int conns = 1;
  int msg = 512;
  int depth = 16;
  double duration = 3;
  double warmup = 1;
  int threads = 1;
  std::string io = NETLOAD_HAVE_LIBURING ? "uring" : "epoll";
};

[[noreturn]] void die(const char* what) {
  std::printf("ERROR %s: %s\n", what, std::strerror(errno));
  std::fflush(stdout);
  std::_Exit(1);
}

[[noreturn]] void fail(const std::string& what) {
  std::printf("ERROR %s\n", what.c_str());
  std::fflush(stdout);
  std::_Exit(1);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A blocking connect (the kernel completes the handshake without the server's accept, so
// this is quick); then the socket turns non-blocking.
int connect_one(const config& cfg) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(cfg.port));
  if (inet_pton(AF_INET, cfg.host.c_str(), &sa.sin_addr) != 1) fail("bad address " + cfg.host);
  for (int attempt = 0;; attempt++) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) break;
    if (errno == EINTR) continue;
    if (errno == ECONNREFUSED && attempt < 50) {  // the server is still starting
      ::close(fd);
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    die("connect");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

struct connection {
  int fd = -1;
  // pingpong: bytes of the current message written and read back
  std::size_t out = 0, in = 0;
  // stream: bytes sent and received in all
  std::uint64_t sent = 0, received = 0;
  bool want_out = false;  // EPOLLOUT registered
  // --io uring: a send is in flight (one at a time, so that a connection's bytes stay in
  // order), and a pingpong reply came back before that send's completion did
  bool sending = false, next_due = false;

  // stream: counts n more echoed bytes; returns how many messages of `msg` bytes they
  // completed.
  std::uint64_t add_received(std::size_t n, std::size_t msg) {
    const std::uint64_t before = received / msg;
    received += n;
    return received / msg - before;
  }
};

// What the connections send: a message of `msg` bytes (pingpong), or bytes from a window
// of `depth` such messages, sent round and round (stream).
struct payload {
  std::vector<char> msg, window;

  explicit payload(const config& cfg)
      : msg(cfg.msg), window(static_cast<std::size_t>(cfg.msg) * cfg.depth) {
    for (std::size_t i = 0; i < msg.size(); i++) msg[i] = static_cast<char>('a' + i % 26);
    for (std::size_t i = 0; i < window.size(); i++) window[i] = msg[i % msg.size()];
  }

  // stream: what c may send now to have `depth` messages in flight, as one piece of the
  // window (up to its end); empty when it owes nothing.
  std::span<const char> owed(const connection& c) const {
    const std::uint64_t limit = c.received + window.size();
    if (c.sent >= limit) return {};
    const std::size_t off = c.sent % window.size();
    return {window.data() + off, std::min<std::uint64_t>(limit - c.sent, window.size() - off)};
  }
};

std::atomic<std::uint64_t> g_requests{0};
std::atomic<bool> g_stop{false};

class worker {
 public:
  worker(const config& cfg, std::vector<int> fds) : cfg_(cfg), p_(cfg), back_(cfg.msg) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1");
    conns_.resize(fds.size());
    for (std::size_t i = 0; i < fds.size(); i++) {
      conns_[i].fd = fds[i];
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fds[i], &ev) != 0) die("epoll_ctl");
    }
  }

  void run() {
    for (std::size_t i = 0; i < conns_.size(); i++) pump(i);
    std::vector<epoll_event> evs(1024);
    while (!g_stop.load(std::memory_order_relaxed)) {
      int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 20);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      for (int k = 0; k < n; k++) {
        std::size_t i = evs[k].data.u64;
        if (evs[k].events & (EPOLLERR | EPOLLHUP)) fail("connection closed by the server");
        if (evs[k].events & EPOLLIN) on_readable(i);
        if (evs[k].events & EPOLLOUT) pump(i);
      }
      if (local_ > 0) {
        g_requests.fetch_add(local_, std::memory_order_relaxed);
        local_ = 0;
      }
    }
  }

 private:
  void set_out(std::size_t i, bool on) {
    connection& c = conns_[i];
    if (c.want_out == on) return;
    c.want_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = i;
    if (::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) die("epoll_ctl");
  }

  // Writes what the connection owes: the rest of the message (pingpong), or up to `depth`
  // messages in flight (stream).
  void pump(std::size_t i) {
    connection& c = conns_[i];
    const std::size_t m = p_.msg.size();
    if (cfg_.mode == "stream") {
      for (std::span<const char> owed; !(owed = p_.owed(c)).empty();) {
        ssize_t w = ::send(c.fd, owed.data(), owed.size(), MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN) return set_out(i, true);
          if (errno == EINTR) continue;
          die("send");
        }
        c.sent += static_cast<std::uint64_t>(w);
      }
      set_out(i, false);
      return;
    }
    while (c.out < m) {
      ssize_t w = ::send(c.fd, p_.msg.data() + c.out, m - c.out, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN) return set_out(i, true);
        if (errno == EINTR) continue;
        die("send");
      }
      c.out += static_cast<std::size_t>(w);
    }
    set_out(i, false);
  }

  void on_readable(std::size_t i) {
    connection& c = conns_[i];
    const std::size_t m = p_.msg.size();
    if (cfg_.mode == "stream") {
      char buf[65536];
      for (;;) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r == 0) fail("the server closed a connection");
        if (r < 0) {
          if (errno == EAGAIN) break;
          if (errno == EINTR) continue;
          die("recv");
        }
        local_ += c.add_received(static_cast<std::size_t>(r), m);
        if (static_cast<std::size_t>(r) < sizeof buf) break;
      }
      pump(i);
      return;
    }
    for (;;) {
      ssize_t r = ::recv(c.fd, back_.data() + c.in, m - c.in, 0);
      if (r == 0) fail("the server closed a connection");
      if (r < 0) {
        if (errno == EAGAIN) return;
        if (errno == EINTR) continue;
        die("recv");
      }
      c.in += static_cast<std::size_t>(r);
      if (c.in > c.out) fail("the server sent bytes that were not asked for");
      if (c.in < m) continue;
      if (std::memcmp(back_.data(), p_.msg.data(), m) != 0) fail("the echo differs");
      local_++;
      c.in = c.out = 0;
      if (idle_) return;  // idle mode: one round trip, then nothing
      pump(i);
      return;
    }
  }

 public:
  // idle mode: one round trip on every connection, then return.
  void round_trip_all() {
    idle_ = true;
    for (std::size_t i = 0; i < conns_.size(); i++) pump(i);
    std::vector<epoll_event> evs(1024);
    std::uint64_t want = conns_.size();
    double deadline = now() + 60;
    while (local_ < want) {
      int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 100);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int k = 0; k < n; k++) {
        std::size_t i = evs[k].data.u64;
        if (evs[k].events & (EPOLLERR | EPOLLHUP)) fail("connection closed by the server");
        if (evs[k].events & EPOLLIN) on_readable(i);
        if (evs[k].events & EPOLLOUT) pump(i);
      }
      if (now() > deadline) fail("idle: the round trips did not finish in 60 s");
    }
  }

 private:
  const config& cfg_;
  const payload p_;
  std::vector<char> back_;
  std::vector<connection> conns_;
  int ep_ = -1;
  std::uint64_t local_ = 0;
  bool idle_ = false;
};

#if NETLOAD_HAVE_LIBURING
// The same loads on an io_uring ring: every connection keeps one recv in flight, and one
// send while it owes bytes; each turn of the loop submits what the last one queued and
// waits for completions in a single io_uring_enter.
class uring_worker {
 public:
  uring_worker(const config& cfg, std::vector<int> fds) : stream_(cfg.mode == "stream"), p_(cfg) {
    rsize_ = stream_ ? 65536 : p_.msg.size();
    rbufs_.resize(fds.size() * rsize_);
    conns_.resize(fds.size());
    for (std::size_t i = 0; i < fds.size(); i++) conns_[i].fd = fds[i];
    // Room for a recv and a send of every connection in one turn. DEFER_TASKRUN (6.1): the
    // kernel finishes our operations only inside our own io_uring_enter, never by
    // interrupting the loop; COOP_TASKRUN (5.19) at least without an IPI.
    unsigned entries = 64;
    while (entries < 2 * fds.size()) entries *= 2;
    int rc = -EINVAL;
    for (unsigned flags : {unsigned{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN},
                           unsigned{IORING_SETUP_COOP_TASKRUN}, 0u}) {
      io_uring_params p{};
      p.flags = flags;
      rc = io_uring_queue_init_params(entries, &ring_, &p);
      if (rc != -EINVAL) break;
    }
    if (rc < 0) {
      errno = -rc;
      die("io_uring_queue_init");
    }
  }
  uring_worker(const uring_worker&) = delete;
  uring_worker& operator=(const uring_worker&) = delete;
  ~uring_worker() { io_uring_queue_exit(&ring_); }

  void run() {
    for (std::size_t i = 0; i < conns_.size(); i++) {
      queue_recv(i);
      if (stream_) {
        pump(i);
      } else {
        queue_send(i, p_.msg.data(), p_.msg.size());
      }
    }
    __kernel_timespec tick{0, 20'000'000};  // to see g_stop
    while (!g_stop.load(std::memory_order_relaxed)) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &tick, nullptr);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        errno = -rc;
        die("io_uring_submit_and_wait");
      }
      unsigned head, n = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        n++;
        complete(cqe->user_data, cqe->res);
      }
      io_uring_cq_advance(&ring_, n);
      if (local_ > 0) {
        g_requests.fetch_add(local_, std::memory_order_relaxed);
        local_ = 0;
      }
    }
  }

 private:
  // user_data: the connection's index, times two, plus 1 for a send.
  io_uring_sqe* sqe() {
    for (;;) {
      if (io_uring_sqe* s = io_uring_get_sqe(&ring_)) return s;
      io_uring_submit(&ring_);  // full: the queued operations go in now
    }
  }
  char* rbuf(std::size_t i) { return rbufs_.data() + i * rsize_; }

  void queue_recv(std::size_t i) {
    connection& c = conns_[i];
    const std::size_t off = stream_ ? 0 : c.in;
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c.fd, rbuf(i) + off, rsize_ - off, 0);
    io_uring_sqe_set_data64(s, 2 * i);
  }

  void queue_send(std::size_t i, const char* p, std::size_t len) {
    connection& c = conns_[i];
    c.sending = true;
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c.fd, p, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, 2 * i + 1);
  }

  // stream: up to `depth` messages in flight
  void pump(std::size_t i) {
    connection& c = conns_[i];
    if (c.sending) return;
    if (const std::span<const char> owed = p_.owed(c); !owed.empty()) {
      queue_send(i, owed.data(), owed.size());
    }
  }

  void complete(std::uint64_t data, int res) {
    const std::size_t i = data / 2;
    connection& c = conns_[i];
    const std::size_t m = p_.msg.size();
    if (res == -EINTR || res == -EAGAIN) {  // not expected from the ring; try again
      if (data % 2 == 0) return queue_recv(i);
      c.sending = false;
      return stream_ ? pump(i) : queue_send(i, p_.msg.data() + c.out, m - c.out);
    }
    if (res < 0) {
      errno = -res;
      die(data % 2 ? "send" : "recv");
    }
    const auto n = static_cast<std::size_t>(res);
    if (data % 2 == 1) {  // a send
      c.sending = false;
      if (stream_) {
        c.sent += n;
        return pump(i);
      }
      c.out += n;
      if (c.out < m) return queue_send(i, p_.msg.data() + c.out, m - c.out);
      if (std::exchange(c.next_due, false)) next_message(i);
      return;
    }
    if (n == 0) fail("the server closed a connection");
    if (stream_) {
      local_ += c.add_received(n, m);
      queue_recv(i);
      return pump(i);
    }
    c.in += n;
    if (c.in < m) return queue_recv(i);
    if (std::memcmp(rbuf(i), p_.msg.data(), m) != 0) fail("the echo differs");
    local_++;
    c.in = 0;
    if (c.sending) {
      c.next_due = true;  // the send's completion is still to come
    } else {
      next_message(i);
    }
  }

  void next_message(std::size_t i) {
    conns_[i].out = 0;
    queue_send(i, p_.msg.data(), p_.msg.size());
    queue_recv(i);
  }

  const bool stream_;
  const payload p_;
  std::vector<char> rbufs_;
  std::size_t rsize_ = 0;
  std::vector<connection> conns_;
  io_uring ring_{};
  std::uint64_t local_ = 0;
};
#endif

double parse_seconds(const std::string& s) {
  // "3", "3s", "500ms"
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") return std::stod(s) / 1000;
  return std::stod(s);
}

config parse(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) fail("missing value after " + a);
      return argv[++i];
    };
    if (a == "--addr") {
      std::string v = val();
      auto colon = v.rfind(':');
      if (colon == std::string::npos) fail("--addr wants host:port");
      cfg.host = v.substr(0, colon);
      cfg.port = std::stoi(v.substr(colon + 1));
    } else if (a == "--mode") {
      cfg.mode = val();
    } else if (a == "--conns") {
      cfg.conns = std::stoi(val());
    } else if (a == "--msg") {
      cfg.msg = std::stoi(val());
    } else if (a == "--depth") {
      cfg.depth = std::stoi(val());
    } else if (a == "--duration") {
      cfg.duration = parse_seconds(val());
    } else if (a == "--warmup") {
      cfg.warmup = parse_seconds(val());
    } else if (a == "--threads") {
      cfg.threads = std::stoi(val());
    } else if (a == "--io") {
      cfg.io = val();
    } else {
      fail("unknown argument " + a +
           " (use --addr H:P --mode pingpong|stream|idle --conns N --msg B --depth K "
           "--duration S --warmup S --threads T --io epoll|uring)");
    }
  }
  if (cfg.mode != "pingpong" && cfg.mode != "stream" && cfg.mode != "idle")
    fail("--mode is pingpong, stream or idle");
  if (cfg.io != "epoll" && (cfg.io != "uring" || !NETLOAD_HAVE_LIBURING))
    fail(NETLOAD_HAVE_LIBURING ? "--io is epoll or uring"
                               : "--io is epoll (built without liburing)");
  if (cfg.conns < 1 || cfg.msg < 1 || cfg.depth < 1 || cfg.threads < 1) fail("bad sizes");
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  std::vector<int> fds;
  fds.reserve(cfg.conns);
  for (int i = 0; i < cfg.conns; i++) fds.push_back(connect_one(cfg));

  if (cfg.mode == "idle") {
    worker w(cfg, fds);
    w.round_trip_all();
    std::printf("READY conns=%d\n", cfg.conns);
    std::fflush(stdout);
    char line[64];
    (void)!::read(0, line, sizeof line);  // until a line or the end of stdin
    for (int fd : fds) ::close(fd);
    return 0;
  }

  int nt = std::min(cfg.threads, cfg.conns);
  std::vector<std::vector<int>> split(nt);
  for (int i = 0; i < cfg.conns; i++) split[i % nt].push_back(fds[i]);
  std::vector<std::thread> threads;
  for (int t = 0; t < nt; t++) {
    threads.emplace_back([&cfg, part = split[t]] {
#if NETLOAD_HAVE_LIBURING
      if (cfg.io == "uring") {
        uring_worker w(cfg, part);  // made on its thread: the ring is single-issuer
        w.run();
        return;
      }
#endif
      worker w(cfg, part);
      w.run();
    });
  }

  std::this_thread::sleep_for(std::chrono::duration<double>(cfg.warmup));
  std::uint64_t r0 = g_requests.load();
  double t0 = now(), c0 = cpu_seconds();
  std::printf("START\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(cfg.duration));
  std::uint64_t r1 = g_requests.load();
  double t1 = now(), c1 = cpu_seconds();
  std::uint64_t reqs = r1 - r0;
  double secs = t1 - t0;
  std::printf(
      "RESULT mode=%s conns=%d requests=%llu secs=%.4f rps=%.1f client_cpu_us_per_req=%.3f\n",
      cfg.mode.c_str(), cfg.conns, static_cast<unsigned long long>(reqs), secs, reqs / secs,
      reqs ? (c1 - c0) * 1e6 / reqs : 0.0);
  std::fflush(stdout);
  // Not a clean shutdown: the servers see resets or ends of stream, which they must survive.
  std::_Exit(0);
}
