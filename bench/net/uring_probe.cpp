// uring_probe: the measurement behind issue 16's io_uring question (bench/RESULTS.md,
// "io_uring: measured, and the decision"). One single-threaded echo server without goro,
// with two interchangeable back ends that share everything else (the listening socket,
// the 4 KiB reads, TCP_NODELAY, the output bookkeeping):
//
//   uring_probe --backend epoll|epoll-short|uring|uring-single HOST:PORT
//
// epoll: non-blocking sockets on one edge-triggered epoll instance, as goro's netpoller
//   registers them (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, once). The system call is tried
//   first and the loop waits only on EAGAIN: a readable socket is read until EAGAIN and
//   each chunk is written back at once; what the socket does not take waits for EPOLLOUT
//   (and reading stops until it went out).
// epoll-short: the same, except that a read shorter than the buffer ends the loop: with
//   edge triggering, data that arrives later queues a new event, so the read that would
//   only return EAGAIN (one system call in three per ping-pong request) is not needed.
// uring: the idiomatic io_uring echo loop of a 6.x kernel: one multishot accept, one
//   multishot recv per connection into a provided-buffer ring, a send of each received
//   buffer (one send in flight per connection, the rest queued in order; the buffer goes
//   back to the ring when its send completed), every submission of a loop iteration
//   batched into one io_uring_submit_and_wait, and the ring set up with
//   SINGLE_ISSUER | DEFER_TASKRUN (COOP_TASKRUN where the kernel refuses those).
// uring-single: the same ring, but the shape a goroutine's read -> write loop would give:
//   one single-shot recv into the connection's own 4 KiB buffer, its send, and the next
//   recv submitted only when the send completed.
//
// Prints "LISTENING addr" once it listens (as goro_echo does, so bench/net/run.py can
// drive it), then serves until killed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t buf_size = 4096;  // goro_echo's read buffer

[[noreturn]] void die(const char* what, int err = errno) {
  std::fprintf(stderr, "uring_probe: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// The listening socket, and the "LISTENING addr" line.
int listen_on(const std::string& address, bool nonblocking) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) die("address is HOST:PORT", EINVAL);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1)
    die("bad IPv4 host", EINVAL);
  const int fd =
      ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind");
  if (::listen(fd, SOMAXCONN) != 0) die("listen");
  socklen_t n = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &n);
  char host[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
  std::printf("LISTENING %s:%u\n", host, ntohs(sa.sin_port));
  std::fflush(stdout);
  return fd;
}

// ---- epoll --------------------------------------------------------------------------------

struct epoll_conn {
  bool open = false;
  std::vector<char> out;  // bytes read but not yet written (the socket was full)
  std::size_t out_off = 0;
};

class epoll_server {
 public:
  epoll_server(int lfd, bool short_read_drains) : lfd_(lfd), short_(short_read_drains) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.fd = lfd_;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev) != 0) die("epoll_ctl");
  }

  [[noreturn]] void run() {
    epoll_event evs[256];
    for (;;) {
      const int n = ::epoll_wait(ep_, evs, 256, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const int fd = evs[i].data.fd;
        if (fd == lfd_) {
          accept_all();
          continue;
        }
        if (fd >= static_cast<int>(conns_.size()) || !conns_[fd].open) continue;
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
          if (!flush(fd)) continue;
        }
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) serve(fd);
      }
    }
  }

 private:
  void accept_all() {
    for (;;) {
      const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
        std::fprintf(stderr, "uring_probe: accept4: %s\n", std::strerror(errno));
        return;  // EMFILE and such: go on
      }
      set_nodelay(fd);
      if (fd >= static_cast<int>(conns_.size())) conns_.resize(fd + 1024);
      conns_[fd] = epoll_conn{};
      conns_[fd].open = true;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.fd = fd;
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
      serve(fd);  // as a goroutine would: try the read first
    }
  }

  void close_conn(int fd) {
    conns_[fd].open = false;
    conns_[fd].out = {};
    ::close(fd);  // also leaves the epoll set
  }

  // Writes what is owed; false when the connection closed or the socket is still full.
  bool flush(int fd) {
    epoll_conn& c = conns_[fd];
    while (c.out_off < c.out.size()) {
      const ssize_t w =
          ::send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return false;
        close_conn(fd);
        return false;
      }
      c.out_off += static_cast<std::size_t>(w);
    }
    c.out.clear();
    c.out_off = 0;
    return true;
  }

  // Reads until EAGAIN, writing each chunk back at once.
  void serve(int fd) {
    epoll_conn& c = conns_[fd];
    if (!c.out.empty()) return;  // still owes output: EPOLLOUT resumes it
    for (;;) {
      const ssize_t r = ::read(fd, buf_, sizeof buf_);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) close_conn(fd);
        return;
      }
      if (r == 0) {
        close_conn(fd);
        return;
      }
      std::size_t off = 0;
      while (off < static_cast<std::size_t>(r)) {
        const ssize_t w = ::send(fd, buf_ + off, static_cast<std::size_t>(r) - off, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) {
            c.out.assign(buf_ + off, buf_ + r);
            c.out_off = 0;
            return;
          }
          close_conn(fd);
          return;
        }
        off += static_cast<std::size_t>(w);
      }
      // epoll-short: a short read emptied the socket, and data that comes later queues a
      // new edge, so the read that would only say EAGAIN is skipped
      if (short_ && static_cast<std::size_t>(r) < sizeof buf_) return;
    }
  }

  int lfd_;
  bool short_;
  int ep_;
  std::vector<epoll_conn> conns_;
  char buf_[buf_size];
};

// ---- io_uring -----------------------------------------------------------------------------

enum op : std::uint64_t { op_accept = 1, op_recv = 2, op_send = 3 };

constexpr std::uint64_t tag(op o, int fd) {
  return (std::uint64_t(o) << 32) | std::uint32_t(fd);
}

struct pending_send {
  std::uint16_t bid;
  std::uint32_t off;
  std::uint32_t len;
};

struct uring_conn {
  bool open = false;
  bool recv_armed = false;
  bool send_in_flight = false;
  bool closing = false;
  std::unique_ptr<char[]> own;     // uring-single: the connection's one buffer
  std::deque<pending_send> sends;  // the head is in flight when send_in_flight
};

class uring_server {
 public:
  static constexpr unsigned ring_entries = 4096;
  static constexpr unsigned buf_count = 4096;  // a power of two
  static constexpr int bgid = 1;

  uring_server(int lfd, bool single) : lfd_(lfd), single_(single) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = ring_entries * 4;
    int r = io_uring_queue_init_params(ring_entries, &ring_, &p);
    if (r == -EINVAL) {
      p = io_uring_params{};
      p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
      p.cq_entries = ring_entries * 4;
      r = io_uring_queue_init_params(ring_entries, &ring_, &p);
      mode_ = "COOP_TASKRUN";
    }
    if (r < 0) die("io_uring_queue_init_params", -r);
    // liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring: map and register it here
    void* mem = ::mmap(nullptr, buf_count * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    br_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
    reg.ring_entries = buf_count;
    reg.bgid = bgid;
    r = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (r < 0) die("io_uring_register_buf_ring", -r);
    bufs_ = static_cast<char*>(std::aligned_alloc(4096, std::size_t(buf_count) * buf_size));
    for (unsigned i = 0; i < buf_count; ++i)
      io_uring_buf_ring_add(br_, bufs_ + std::size_t(i) * buf_size, buf_size, i,
                            io_uring_buf_ring_mask(buf_count), static_cast<int>(i));
    io_uring_buf_ring_advance(br_, buf_count);
    std::fprintf(
        stderr, "uring_probe: ring %s, multishot accept, %s\n", mode_,
        single_ ? "single-shot recv into the connection's buffer" : "multishot recv, buf ring");
  }

  [[noreturn]] void run() {
    arm_accept();
    for (;;) {
      const int r = io_uring_submit_and_wait(&ring_, 1);
      if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) die("io_uring_submit_and_wait", -r);
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        handle(cqe);
      }
      io_uring_cq_advance(&ring_, seen);
      if (returned_) {
        io_uring_buf_ring_advance(br_, returned_);
        returned_ = 0;
      }
    }
  }

 private:
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {  // the SQ is full: hand it to the kernel
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, tag(op_accept, lfd_));
  }

  void arm_recv(int fd) {
    io_uring_sqe* s = sqe();
    if (single_) {
      io_uring_prep_recv(s, fd, conns_[fd].own.get(), buf_size, 0);
    } else {
      io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = bgid;
    }
    io_uring_sqe_set_data64(s, tag(op_recv, fd));
    conns_[fd].recv_armed = true;
  }

  void start_send(int fd) {
    uring_conn& c = conns_[fd];
    const pending_send& p = c.sends.front();
    io_uring_sqe* s = sqe();
    char* base = single_ ? c.own.get() : bufs_ + std::size_t(p.bid) * buf_size;
    io_uring_prep_send(s, fd, base + p.off, p.len - p.off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(op_send, fd));
    c.send_in_flight = true;
  }

  void give_back(std::uint16_t bid) {
    io_uring_buf_ring_add(br_, bufs_ + std::size_t(bid) * buf_size, buf_size, bid,
                          io_uring_buf_ring_mask(buf_count), returned_++);
  }

  void maybe_close(int fd) {
    uring_conn& c = conns_[fd];
    if (!c.closing || c.recv_armed || c.send_in_flight) return;
    if (!single_)
      for (const pending_send& p : c.sends) give_back(p.bid);
    c = uring_conn{};
    ::close(fd);
  }

  void handle(io_uring_cqe* cqe) {
    const std::uint64_t data = io_uring_cqe_get_data64(cqe);
    const int fd = static_cast<int>(data & 0xffffffffu);
    const int res = cqe->res;
    switch (static_cast<op>(data >> 32)) {
      case op_accept: {
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
        if (res < 0) {
          std::fprintf(stderr, "uring_probe: accept: %s\n", std::strerror(-res));
          return;
        }
        set_nodelay(res);
        if (res >= static_cast<int>(conns_.size())) conns_.resize(res + 1024);
        conns_[res] = uring_conn{};
        conns_[res].open = true;
        if (single_) conns_[res].own.reset(new char[buf_size]);
        arm_recv(res);
        return;
      }
      case op_recv: {
        uring_conn& c = conns_[fd];
        const bool more = cqe->flags & IORING_CQE_F_MORE;
        if (!more) c.recv_armed = false;
        if (res > 0) {
          const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          c.sends.push_back({bid, 0, static_cast<std::uint32_t>(res)});
          if (!c.send_in_flight && !c.closing) start_send(fd);
        } else if (res == 0 || res != -ENOBUFS) {
          c.closing = true;  // EOF or an error
        }
        // multishot: ENOBUFS, or the kernel ended it (uring-single: the send re-arms)
        if (!more && !c.closing && !single_) arm_recv(fd);
        maybe_close(fd);
        return;
      }
      case op_send: {
        uring_conn& c = conns_[fd];
        c.send_in_flight = false;
        if (res < 0) {
          c.closing = true;
          if (c.recv_armed) {  // stop the multishot recv; its final CQE closes
            io_uring_sqe* s = sqe();
            io_uring_prep_cancel64(s, tag(op_recv, fd), 0);
            io_uring_sqe_set_data64(s, 0);
          }
        } else {
          pending_send& p = c.sends.front();
          p.off += static_cast<std::uint32_t>(res);
          if (p.off == p.len) {
            if (!single_) give_back(p.bid);
            c.sends.pop_front();
            if (single_ && !c.closing) arm_recv(fd);  // read -> write -> read, as goro_echo
          }
          if (!c.sends.empty() && !c.closing) start_send(fd);
        }
        maybe_close(fd);
        return;
      }
    }
    // data 0: a cancel's own completion
  }

  int lfd_;
  bool single_;
  io_uring ring_{};
  io_uring_buf_ring* br_ = nullptr;
  char* bufs_ = nullptr;
  int returned_ = 0;  // buffers added back since the last advance
  const char* mode_ = "SINGLE_ISSUER|DEFER_TASKRUN";
  std::vector<uring_conn> conns_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string backend;
  std::string address;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--backend" && i + 1 < argc) {
      backend = argv[++i];
    } else if (a.rfind("--backend=", 0) == 0) {
      backend = a.substr(10);
    } else if (address.empty()) {
      address = a;
    } else {
      address.clear();
      break;
    }
  }
  if ((backend != "epoll" && backend != "epoll-short" && backend != "uring" &&
       backend != "uring-single") ||
      address.empty()) {
    std::fprintf(stderr,
                 "usage: uring_probe --backend epoll|epoll-short|uring|uring-single HOST:PORT\n");
    return 2;
  }
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (backend.rfind("uring", 0) != 0) {
    epoll_server(listen_on(address, true), backend == "epoll-short").run();
  } else {
    uring_server(listen_on(address, false), backend == "uring-single").run();
  }
}
