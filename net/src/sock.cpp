// The public handles (conn, listener, packet_conn) and the calls that make sockets: listen,
// listen_packet and dial (Go's net/tcpsock.go, udpsock.go, unixsock.go, sock_posix.go). Every
// socket is SOCK_NONBLOCK and SOCK_CLOEXEC from its first moment.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include <goro/detail/shared_handle_impl.hpp>

#include "netfd.hpp"
#include "resolve.hpp"

namespace goro::net {

using detail::make_op_error;
using detail::netfd;
using goro::detail::poll_mode;

namespace {

// Runs op() as one operation on fd, which close() waits for; on a closed (or empty) handle
// op is not run and ec is errc::closed. The guard is gone when this returns, so that the
// caller may build its error (which reads the addresses) outside it.
template <class Op>
auto guarded(netfd* fd, std::error_code& ec, Op op) {
  netfd::op guard(fd);
  if (!guard) {
    ec = make_error_code(errc::closed);
    return decltype(op())();
  }
  return op();
}

// The name of the socket as getsockname(2) or getpeername(2) gives it.
addr sock_addr(int fd, const std::string& net, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return {};
  return addr::from_sockaddr(net.substr(0, net == "unix" ? 4 : 3), &ss, len);
}

// A fresh non-blocking socket for `a`'s family, registered with the poller; or nullptr,
// with ec set and call = "socket" (the system call an op_error names).
std::shared_ptr<netfd> new_socket(const addr& a, const std::string& net, std::error_code& ec,
                                  const char*& call) {
  const int family = static_cast<const sockaddr*>(a.data())->sa_family;
  const int type = net.starts_with("udp") ? SOCK_DGRAM : SOCK_STREAM;
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec.assign(errno, std::generic_category());
    call = "socket";
    return nullptr;
  }
  return std::make_shared<netfd>(fd, net);
}

bool stream_network(std::string_view network) {
  return network == "tcp" || network == "tcp4" || network == "tcp6" || network == "unix";
}

bool packet_network(std::string_view network) {
  return network == "udp" || network == "udp4" || network == "udp6";
}

[[noreturn]] void throw_unknown_network(std::string_view op, std::string_view network) {
  const std::string net(network);
  throw op_error(std::make_error_code(std::errc::invalid_argument),
                 std::string(op) + " " + net + ": unknown network " + net);
}

// resolve(), its errors prefixed with "op net: " as Go's OpError prints them.
std::vector<addr> resolve_for(std::string_view op, std::string_view network,
                              std::string_view address, clock::time_point deadline = {},
                              const dial_canceller* cancel = nullptr) {
  try {
    return detail::resolve(network, address, deadline, cancel);
  } catch (const op_error& e) {
    throw op_error(e.code(), std::string(op) + " " + std::string(network) + ": " + e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// conn

std::size_t conn::read(std::span<std::byte> buf, std::error_code& ec) {
  ec.clear();
  const char* call = nullptr;
  return guarded(fd_.get(), ec, [&] { return fd_->read(buf, ec, call); });
}

std::size_t conn::read(std::span<std::byte> buf) {
  std::error_code ec;
  const char* call = nullptr;
  const std::size_t n = guarded(fd_.get(), ec, [&] { return fd_->read(buf, ec, call); });
  if (ec) {
    throw make_op_error("read", fd_ ? fd_->net() : "", local_addr(), remote_addr(), ec,
                        call ? call : "");
  }
  return n;
}

void conn::write(std::span<const std::byte> data, std::error_code& ec) {
  ec.clear();
  const char* call = nullptr;
  guarded(fd_.get(), ec, [&] { fd_->write(data, ec, call); });
}

void conn::write(std::span<const std::byte> data) {
  std::error_code ec;
  const char* call = nullptr;
  guarded(fd_.get(), ec, [&] { fd_->write(data, ec, call); });
  if (ec) {
    throw make_op_error("write", fd_ ? fd_->net() : "", local_addr(), remote_addr(), ec,
                        call ? call : "");
  }
}

void conn::write(std::string_view data) {
  write(std::as_bytes(std::span(data.data(), data.size())));
}

void conn::close() {
  if (fd_) fd_->close();
}

void conn::close_write() {
  std::error_code ec;
  guarded(fd_.get(), ec, [&] {
    if (::shutdown(fd_->fd(), SHUT_WR) != 0) ec.assign(errno, std::generic_category());
  });
  if (ec) {
    throw make_op_error("close", fd_ ? fd_->net() : "", local_addr(), remote_addr(), ec,
                        ec.category() == net_category() ? "" : "shutdown");
  }
}

namespace {
void set_deadline_or_throw(const goro::detail::shared_handle<netfd>& fd, poll_mode mode,
                           clock::time_point t, const conn& c) {
  std::error_code ec = make_error_code(errc::closed);
  if (fd) {
    ec.clear();
    fd->set_deadline(mode, t, ec);
  }
  if (ec) throw make_op_error("set", fd ? fd->net() : "", c.local_addr(), c.remote_addr(), ec);
}
}  // namespace

void conn::set_deadline(clock::time_point t) {
  set_deadline_or_throw(fd_, poll_mode::read_write, t, *this);
}
void conn::set_read_deadline(clock::time_point t) {
  set_deadline_or_throw(fd_, poll_mode::read, t, *this);
}
void conn::set_write_deadline(clock::time_point t) {
  set_deadline_or_throw(fd_, poll_mode::write, t, *this);
}

addr conn::local_addr() const {
  return fd_ ? fd_->laddr() : addr{};
}
addr conn::remote_addr() const {
  return fd_ ? fd_->raddr() : addr{};
}

// ---------------------------------------------------------------------------------------
// listener

conn listener::accept() {
  std::error_code ec;
  int nfd = -1;
  sockaddr_storage ss{};
  std::uint32_t len = sizeof ss;
  guarded(fd_.get(), ec, [&] { nfd = fd_->accept(&ss, &len, ec); });
  const std::string net = fd_ ? fd_->net() : "";
  if (ec) {
    throw make_op_error("accept", net, {}, this->addr(), ec,
                        ec.category() == net_category() ? "" : "accept4");
  }
  if (net != "unix") {
    const int one = 1;  // Go's default on both ends, as dial's: no Nagle delay
    ::setsockopt(nfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto c = std::make_shared<netfd>(nfd, net);
  c->set_laddr(sock_addr(nfd, net, false));
  c->set_raddr(goro::net::addr::from_sockaddr(net.substr(0, net == "unix" ? 4 : 3), &ss, len));
  return conn(goro::detail::to_handle(std::move(c)));
}

void listener::close() {
  if (fd_) fd_->close();
}

addr listener::addr() const {
  return fd_ ? fd_->laddr() : goro::net::addr{};
}

// ---------------------------------------------------------------------------------------
// packet_conn

std::size_t packet_conn::read_from(std::span<std::byte> buf, goro::net::addr& from) {
  std::error_code ec;
  sockaddr_storage ss{};
  std::uint32_t len = sizeof ss;
  const std::size_t n = guarded(fd_.get(), ec, [&] { return fd_->read_from(buf, &ss, &len, ec); });
  if (ec) {
    throw make_op_error("read", fd_ ? fd_->net() : "", local_addr(), {}, ec,
                        ec.category() == net_category() ? "" : "recvfrom");
  }
  from = goro::net::addr::from_sockaddr("udp", &ss, len);
  return n;
}

void packet_conn::write_to(std::span<const std::byte> data, const goro::net::addr& to) {
  std::error_code ec;
  guarded(fd_.get(), ec, [&] { fd_->write_to(data, to, ec); });
  if (ec) {
    throw make_op_error("write", fd_ ? fd_->net() : "", local_addr(), to, ec,
                        ec.category() == net_category() ? "" : "sendto");
  }
}

void packet_conn::close() {
  if (fd_) fd_->close();
}

void packet_conn::set_deadline(clock::time_point t) {
  set_deadline_or_throw(fd_, poll_mode::read_write, t, conn(fd_));
}
void packet_conn::set_read_deadline(clock::time_point t) {
  set_deadline_or_throw(fd_, poll_mode::read, t, conn(fd_));
}
void packet_conn::set_write_deadline(clock::time_point t) {
  set_deadline_or_throw(fd_, poll_mode::write, t, conn(fd_));
}

addr packet_conn::local_addr() const {
  return fd_ ? fd_->laddr() : goro::net::addr{};
}

// ---------------------------------------------------------------------------------------
// listen

namespace {

// socket, SO_REUSEADDR, bind, listen: one listening socket on `a`.
std::shared_ptr<netfd> listen_on(const addr& a, const std::string& net, std::error_code& ec,
                                 const char*& call) {
  auto fd = new_socket(a, net, ec, call);
  if (!fd) return nullptr;
  const int family = static_cast<const sockaddr*>(a.data())->sa_family;
  const int one = 1, zero = 0;
  if (family != AF_UNIX) ::setsockopt(fd->fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // "tcp" listens on both families through one IPv6 socket, "tcp6" on IPv6 only.
  if (family == AF_INET6) {
    const int& v6only = net == "tcp6" || net == "udp6" ? one : zero;
    ::setsockopt(fd->fd(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  call = "bind";
  if (::bind(fd->fd(), static_cast<const sockaddr*>(a.data()), a.size()) != 0) {
    ec.assign(errno, std::generic_category());
    return nullptr;
  }
  call = "listen";
  if (!packet_network(net) && ::listen(fd->fd(), SOMAXCONN) != 0) {
    ec.assign(errno, std::generic_category());
    return nullptr;
  }
  fd->set_laddr(sock_addr(fd->fd(), net, false));
  fd->unlink_on_close = family == AF_UNIX;
  return fd;
}

// The socket that listen and listen_packet make: on the first address of a name,
// preferring IPv4 as Go does.
std::shared_ptr<netfd> listen_fd(std::string_view network, std::string_view address) {
  const std::vector<addr> addrs = resolve_for("listen", network, address);
  const std::string net(network);
  addr a = addrs.front();
  for (const addr& x : addrs) {
    if (static_cast<const sockaddr*>(x.data())->sa_family == AF_INET) {
      a = x;
      break;
    }
  }
  std::error_code ec;
  const char* call = nullptr;
  auto fd = listen_on(a, net, ec, call);
  if (!fd) throw make_op_error("listen", net, {}, a, ec, call);
  return fd;
}

}  // namespace

listener listen(std::string_view network, std::string_view address) {
  if (!stream_network(network)) throw_unknown_network("listen", network);
  return listener(goro::detail::to_handle(listen_fd(network, address)));
}

packet_conn listen_packet(std::string_view network, std::string_view address) {
  if (!packet_network(network)) throw_unknown_network("listen", network);
  return packet_conn(goro::detail::to_handle(listen_fd(network, address)));
}

// ---------------------------------------------------------------------------------------
// dial

dial_canceller::dial_canceller() : s_(goro::detail::to_handle(std::make_shared<state>())) {}

void dial_canceller::cancel() const noexcept {
  std::shared_ptr<netfd> fd;
  bool first;
  {
    std::lock_guard lock(s_->mu);
    first = !s_->canceled;
    s_->canceled = true;
    fd = s_->connecting;
  }
  if (first) s_->canceled_ch.close();  // wakes a dial waiting for its name's lookup
  if (fd) fd->close(false);
}

bool dial_canceller::canceled() const noexcept {
  std::lock_guard lock(s_->mu);
  return s_->canceled;
}

namespace {

// One connection attempt to `a`: the socket, or nullptr with ec and call set.
std::shared_ptr<netfd> dial_one(const addr& a, const std::string& net, clock::time_point deadline,
                                const dial_canceller* cancel, std::error_code& ec,
                                const char*& call) {
  auto fd = new_socket(a, net, ec, call);
  if (!fd) return nullptr;
  if (cancel) {
    std::lock_guard lock(cancel->get()->mu);
    if (cancel->get()->canceled) fd->close();
    cancel->get()->connecting = fd;
  }
  fd->set_deadline(poll_mode::write, deadline, ec);
  call = "connect";
  if (!ec) guarded(fd.get(), ec, [&] { fd->connect(a, ec); });
  if (cancel) {
    std::lock_guard lock(cancel->get()->mu);
    cancel->get()->connecting = nullptr;
  }
  if (ec) return nullptr;
  std::error_code ignore;
  fd->set_deadline(poll_mode::write, {}, ignore);
  if (!packet_network(net) && static_cast<const sockaddr*>(a.data())->sa_family != AF_UNIX) {
    const int one = 1;  // Go's default: no Nagle delay
    ::setsockopt(fd->fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  fd->set_laddr(sock_addr(fd->fd(), net, false));
  fd->set_raddr(a);
  return fd;
}

}  // namespace

conn dial(std::string_view network, std::string_view address, clock::time_point deadline,
          const dial_canceller* cancel) {
  if (!stream_network(network) && !packet_network(network)) {
    throw_unknown_network("dial", network);
  }
  const std::string net(network);
  std::vector<addr> addrs = resolve_for("dial", network, address, deadline, cancel);
  std::error_code first;
  const char* first_call = nullptr;
  addr first_addr;
  for (addr& a : addrs) {
    // No host (":80"): the local system, as in Go.
    if (network != "unix" && (a.ip() == "::" || a.ip() == "0.0.0.0")) {
      const std::string port = std::to_string(a.port());
      a = network == "tcp6" ? resolve("tcp6", "[::1]:" + port).front()
                            : resolve("tcp4", "127.0.0.1:" + port).front();
    }
    std::error_code ec;
    const char* call = nullptr;
    if (auto fd = dial_one(a, net, deadline, cancel, ec, call)) {
      return conn(goro::detail::to_handle(std::move(fd)));
    }
    if (!first) {
      first = ec;
      first_call = ec.category() == net_category() ? nullptr : call;
      first_addr = a;
    }
    if (ec == errc::timeout || (cancel && cancel->canceled())) break;
  }
  throw make_op_error("dial", net, {}, first_addr, first, first_call ? first_call : "");
}

conn dial(std::string_view network, std::string_view address) {
  return dial(network, address, clock::time_point{}, nullptr);
}

conn dial_timeout(std::string_view network, std::string_view address, clock::duration d) {
  return dial(network, address, goro::now() + d, nullptr);
}

}  // namespace goro::net
