// netfd's system-call loops (Go's internal/poll/fd_unix.go): each tries its call first and
// waits on the poller only on EAGAIN. The invariants are at the top of netfd.hpp.
#include "netfd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

namespace goro::net::detail {

using goro::detail::poll_mode;
using goro::detail::poll_result;

std::int64_t to_deadline(clock::time_point t) noexcept {
  if (t == clock::time_point{}) return 0;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return ns.count() > 0 ? ns.count() : 1;
}

namespace {
// The network of a netfd's addresses: "tcp", "udp" or "unix", as sock_addr names them.
std::string addr_network(const std::string& net) {
  return net.substr(0, net == "unix" ? 4 : 3);
}
}  // namespace

static_assert(sizeof(sockaddr_in6) <= 28 && sizeof(sockaddr_in) <= 28,
              "stored_addr keeps an IP sockaddr inline");

void stored_addr::set(const addr& a, const std::string& net) {
  other_.reset();
  size_ = 0;
  if (a.empty()) return;
  if (a.size() <= sizeof sa_ && a.network() == addr_network(net)) {
    std::memcpy(sa_, a.data(), a.size());
    size_ = static_cast<std::uint8_t>(a.size());
  } else {
    other_ = std::make_unique<addr>(a);
  }
}

addr stored_addr::get(const std::string& net) const {
  if (other_) return *other_;
  if (size_ == 0) return {};
  return addr::from_sockaddr(addr_network(net), sa_, size_);
}

std::error_code poll_error(poll_result r) noexcept {
  return r == poll_result::timeout ? make_error_code(errc::timeout) : make_error_code(errc::closed);
}

netfd::netfd(int fd, std::string net)
    : fd_(fd),
      net_(std::move(net)),
      stream_(net_.starts_with("tcp") || net_ == "unix"),
      tcp_(net_.starts_with("tcp")) {
  destroyed_.add(1);
  try {
    // A stream socket's recv and send may go through the io_uring ring: it joins epoll only
    // if something waits for its readiness (netpoll.hpp).
    pd_ = goro::detail::poll_open(
        fd, stream_ ? goro::detail::poll_register::on_wait : goro::detail::poll_register::now);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

netfd::~netfd() {
  close();
}

bool netfd::acquire() noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if (s & kClosing) return false;
  } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire));
  return true;
}

void netfd::release() noexcept {
  if (state_.fetch_sub(1, std::memory_order_acq_rel) == (kClosing | 1)) destroy();
}

void netfd::close(bool wait) {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if (s & kClosing) return;  // closed already
  } while (!state_.compare_exchange_weak(s, s | kClosing, std::memory_order_acq_rel));
  goro::detail::poll_evict(pd_);  // wakes the waiters; they release and the last destroys
  // A unix listener's file goes now, as in Go, not when a woken accept lets go.
  if (unlink_on_close) {
    const std::string path = laddr().string();
    if (!path.empty() && path[0] != '@') ::unlink(path.c_str());
  }
  if (s == 0) {
    destroy();
  } else if (wait) {
    destroyed_.wait();  // the woken operations finish, and the last one destroys
  }
}

void netfd::destroy() noexcept {
  goro::detail::poll_close(pd_);
  ::close(fd_);
  destroyed_.done();
}

std::error_code netfd::wait(poll_mode mode, std::span<std::byte> scratch) {
  const poll_result r = goro::detail::poll_wait(pd_, mode, scratch);
  return r == poll_result::ready ? std::error_code{} : poll_error(r);
}

// Go's loop: try, and wait only on EAGAIN; with one exception. A short read of a TCP
// socket found its receive queue empty (tcp_recvmsg stops early only there, at a FIN or
// at an urgent mark), and with edge triggering whatever arrives later raises a new edge;
// so the next read (drained_) waits for that edge first instead of making the recv(2)
// that would only say EAGAIN: one system call of three per ping-pong request (8-24% of
// the CPU per request, bench/RESULTS.md, "The short-read hint, again"). It must not call
// poll_prepare, which would forget an edge that came meanwhile: poll_wait returns at once
// on that edge (after the deadline and close, which it checks first). A read that stopped
// at a FIN or an urgent mark spent its edge before it; the poller then saw EPOLLRDHUP (or
// EPOLLPRI, EPOLLHUP, EPOLLERR) and poll_drain_hint_ok says no: such a socket reads first,
// as Go does. Not for EOF (0 bytes), nor for unix sockets (a read also stops short at a
// message carrying descriptors) or datagrams (one datagram of several queued).
std::size_t netfd::read(std::span<std::byte> buf, std::error_code& ec, const char*& call) {
  std::lock_guard lock(rmu_);
  if (buf.empty()) return 0;
  if (goro::detail::poll_completes(pd_)) return ring_read(buf, ec, call);
  if (std::exchange(drained_, false) && tcp_ && goro::detail::poll_drain_hint_ok(pd_)) {
    if ((ec = wait(poll_mode::read, buf))) return 0;
  } else if (poll_result r = goro::detail::poll_prepare(pd_, poll_mode::read);
             r != poll_result::ready) {
    ec = poll_error(r);
    return 0;
  }
  for (;;) {
    // recv, not read (Go's): the same on a socket, without the VFS layer's file lookup and
    // checks (fdget_pos, vfs_read): 2-9% of the CPU per ping-pong request.
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n >= 0) {
      drained_ = n > 0 && static_cast<std::size_t>(n) < buf.size();
      return static_cast<std::size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      ec.assign(errno, std::generic_category());
      call = "read";
      return 0;
    }
    if ((ec = wait(poll_mode::read, buf))) return 0;
  }
}

// A read with the io_uring back end: always through the ring, which makes the recv when it
// submits the worker's batch, with no system call of ours. It once tried recv(2) first
// after a full read (more data probably waiting): without COOP_TASKRUN, a stream's recv
// queued on an empty socket was retried by the kernel the moment the first segment landed
// and spun on the socket lock against the sender (28% of stream-4x16's CPU at one
// worker). With COOP_TASKRUN (uring.cpp) the ring won there too: stream-4x16 +5% and +26%
// req/s at one worker, +26% and +19% at two, CPU per message 0.74-0.96, in two A/Bs;
// ping-pong rows unchanged, their reads being short and on the ring already
// (bench/RESULTS.md, "Reads always through the ring"). drained_ is kept for a plain
// thread's read later (read()).
std::size_t netfd::ring_read(std::span<std::byte> buf, std::error_code& ec, const char*& call) {
  const std::size_t n = ring_io(poll_mode::read, buf.data(), buf.size(), ec, call);
  drained_ = n < buf.size();
  return n;
}

// A recv or send through the io_uring ring (netpoll.hpp's poll_io): no attempt first, since
// the ring makes it when it submits, without a system call of its own. EINTR and EAGAIN
// (the ring retries a socket that is not ready itself) do not reach here in practice;
// they are tried again like the readiness loops do.
std::size_t netfd::ring_io(poll_mode mode, std::byte* buf, std::size_t len, std::error_code& ec,
                           const char*& call) {
  for (;;) {
    long res = 0;
    if (poll_result r = goro::detail::poll_io(pd_, mode, buf, len, res); r != poll_result::ready) {
      ec = poll_error(r);
      return 0;
    }
    if (res >= 0) return static_cast<std::size_t>(res);
    if (res == -EINTR || res == -EAGAIN) continue;
    ec.assign(static_cast<int>(-res), std::generic_category());
    call = mode == poll_mode::read ? "read" : "write";
    return 0;
  }
}

std::size_t netfd::write(std::span<const std::byte> data, std::error_code& ec, const char*& call) {
  std::lock_guard lock(wmu_);
  if (goro::detail::poll_completes(pd_)) {
    std::size_t done = 0;
    while (done < data.size() && !ec) {
      // A send on a stream socket may take part of the data: send the rest.
      done += ring_io(poll_mode::write, const_cast<std::byte*>(data.data()) + done,
                      data.size() - done, ec, call);
    }
    return done;
  }
  if (poll_result r = goro::detail::poll_prepare(pd_, poll_mode::write); r != poll_result::ready) {
    ec = poll_error(r);
    return 0;
  }
  std::size_t done = 0;
  while (done < data.size()) {
    // MSG_NOSIGNAL: a peer that went away is EPIPE here, never SIGPIPE.
    const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      ec.assign(errno, std::generic_category());
      call = "write";
      return done;
    }
    if ((ec = wait(poll_mode::write))) return done;
  }
  return done;
}

int netfd::accept(void* sa, std::uint32_t* len, std::error_code& ec) {
  std::lock_guard lock(rmu_);
  if (poll_result r = goro::detail::poll_prepare(pd_, poll_mode::read); r != poll_result::ready) {
    ec = poll_error(r);
    return -1;
  }
  for (;;) {
    socklen_t n = *len;
    const int fd = ::accept4(fd_, static_cast<sockaddr*>(sa), &n, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      *len = n;
      return fd;
    }
    // A connection that was reset before we took it: take the next one, as Go does.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN) {
      ec.assign(errno, std::generic_category());
      return -1;
    }
    if ((ec = wait(poll_mode::read))) return -1;
  }
}

std::size_t netfd::read_from(std::span<std::byte> buf, void* sa, std::uint32_t* len,
                             std::error_code& ec) {
  std::lock_guard lock(rmu_);
  if (poll_result r = goro::detail::poll_prepare(pd_, poll_mode::read); r != poll_result::ready) {
    ec = poll_error(r);
    return 0;
  }
  for (;;) {
    socklen_t n = *len;
    const ssize_t k = ::recvfrom(fd_, buf.data(), buf.size(), 0, static_cast<sockaddr*>(sa), &n);
    if (k >= 0) {
      *len = n;
      return static_cast<std::size_t>(k);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      ec.assign(errno, std::generic_category());
      return 0;
    }
    if ((ec = wait(poll_mode::read, buf))) return 0;
  }
}

void netfd::write_to(std::span<const std::byte> data, const addr& to, std::error_code& ec) {
  std::lock_guard lock(wmu_);
  if (poll_result r = goro::detail::poll_prepare(pd_, poll_mode::write); r != poll_result::ready) {
    ec = poll_error(r);
    return;
  }
  for (;;) {
    const ssize_t k = ::sendto(fd_, data.data(), data.size(), MSG_NOSIGNAL,
                               static_cast<const sockaddr*>(to.data()), to.size());
    if (k >= 0) return;  // a datagram goes whole or not at all
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      ec.assign(errno, std::generic_category());
      return;
    }
    if ((ec = wait(poll_mode::write))) return;
  }
}

// Go's netFD.connect: connect(2) on the non-blocking socket, then wait until it is
// writable and read the outcome from SO_ERROR.
void netfd::connect(const addr& to, std::error_code& ec) {
  std::lock_guard lock(wmu_);
  if (poll_result r = goro::detail::poll_prepare(pd_, poll_mode::write); r != poll_result::ready) {
    ec = poll_error(r);
    return;
  }
  int rc;
  do {
    rc = ::connect(fd_, static_cast<const sockaddr*>(to.data()), to.size());
  } while (rc != 0 && errno == EINTR);
  if (rc == 0 || errno == EISCONN) return;
  if (errno != EINPROGRESS && errno != EALREADY) {
    ec.assign(errno, std::generic_category());
    return;
  }
  for (;;) {
    // A fresh registration reports writable at once: SO_ERROR then says "not yet" (0 with
    // no peer, checked below), and the loop waits for the real edge.
    if ((ec = wait(poll_mode::write))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == EINPROGRESS || err == EALREADY || err == EINTR) continue;
    if (err != 0) {
      ec.assign(err, std::generic_category());
      return;
    }
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) return;
    if (errno != ENOTCONN) {
      ec.assign(errno, std::generic_category());
      return;
    }
  }
}

void netfd::set_deadline(poll_mode mode, clock::time_point t, std::error_code& ec) {
  op guard(this);
  if (!guard) {
    ec = make_error_code(errc::closed);
    return;
  }
  goro::detail::poll_set_deadline(pd_, mode, to_deadline(t));
}

}  // namespace goro::net::detail
