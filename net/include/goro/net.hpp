// goro::net: TCP and Unix-domain sockets for goroutines, with Go's semantics and Go's error
// text (docs/reference.md §8). A goroutine blocked in accept, read, write or dial parks (dump state
// "IO wait") and takes no thread.
//
//   auto ln = goro::net::listen("tcp", "127.0.0.1:0");
//   goro::go([ln]() mutable {
//     for (;;) {
//       goro::net::conn c = ln.accept();
//       goro::go([c]() mutable {
//         std::byte buf[4096];
//         while (std::size_t n = c.read(buf)) c.write(std::span(buf, n));
//       });
//     }
//   });
//   goro::net::conn c = goro::net::dial("tcp", ln.addr().string());
//
// - Networks: "tcp", "tcp4", "tcp6", "unix"; "udp", "udp4", "udp6" for listen_packet and
//   dial. Addresses as Go writes them: ":8080",
//   "127.0.0.1:0", "[::1]:9000", "localhost:80", "localhost:http" (a service name, looked up
//   in /etc/services as Go does), a path (or "@name", Linux's abstract namespace) for
//   "unix". Names are resolved with getaddrinfo inside goro::blocking.
// - listener and conn are cheap copyable handles, like goro::chan: copies share one socket,
//   closed by close() or when the last handle goes away. They are safe for concurrent use:
//   concurrent reads are served one at a time, and so are writes; each write is whole.
// - Errors are goro::net::op_error (a std::system_error) whose what() is Go's *net.OpError
//   text, e.g. "dial tcp 127.0.0.1:1: connect: connection refused". The codes are errno
//   codes, plus goro::net::errc::timeout and errc::closed.
// - Use them inside goro::run (from goroutines, or from plain threads while it runs).
//   Outside it, the operations that open a socket throw std::logic_error.
// - dial(const goro::context&, ...) lives in <goro/net_context.hpp>, in the patterns layer.
#pragma once

#include <goro/detail/shared_handle.hpp>
#include <goro/time.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace goro::net {

// ---------------------------------------------------------------------------------------
// Errors

// The error codes of goro::net's own category, beside the errno codes.
enum class errc {
  timeout = 1,  // "i/o timeout": a deadline passed (Go's os.ErrDeadlineExceeded)
  closed,       // "use of closed network connection" (Go's net.ErrClosed)
};
const std::error_category& net_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

// The category of getaddrinfo's EAI_* codes: "lookup nosuchhost: no such host".
const std::error_category& resolver_category() noexcept;

// What every goro::net operation throws: code() is the cause, what() Go's text, e.g.
// "read tcp 127.0.0.1:40000->127.0.0.1:8080: i/o timeout". Copying never throws.
class op_error : public std::system_error {
 public:
  op_error(std::error_code ec, std::string text);
  const char* what() const noexcept override { return text_->c_str(); }

 private:
  goro::detail::shared_handle<const std::string> text_;
};

// ---------------------------------------------------------------------------------------
// Addresses

// An endpoint: an IP address and port (tcp, tcp4, tcp6) or a path (unix). Empty by default.
class addr {
 public:
  addr() = default;

  // Go's Addr.Network(): "tcp", "udp" or "unix"; "" when empty.
  const std::string& network() const noexcept { return network_; }
  // Go's Addr.String(): "127.0.0.1:8080", "[::1]:9000", "[fe80::1%eth0]:80", a unix path;
  // "" when empty (or an unnamed unix socket).
  std::string string() const;
  // The IP address alone ("127.0.0.1", "::1"), and the port; "" and 0 for unix.
  std::string ip() const;
  std::uint16_t port() const noexcept;
  bool empty() const noexcept { return size_ == 0; }

  // The raw sockaddr, for the implementation and for C APIs: data() points to size()
  // bytes of a struct sockaddr_in, sockaddr_in6 or sockaddr_un.
  const void* data() const noexcept { return storage_; }
  std::uint32_t size() const noexcept { return size_; }
  // Builds an addr from a sockaddr of `size` bytes (at most 128) for `network`.
  static addr from_sockaddr(std::string network, const void* sa, std::uint32_t size);

  friend bool operator==(const addr& a, const addr& b) noexcept;

 private:
  std::string network_;
  alignas(8) unsigned char storage_[128] = {};
  std::uint32_t size_ = 0;
};

// Go's net.SplitHostPort: "host:port", "[host]:port" or "[ipv6%zone]:port" into host and
// port, without resolving anything ("[::1]:9000" gives "::1" and "9000"). Never blocks.
// Throws op_error (std::errc::invalid_argument), e.g. "address nohostport: missing port in
// address". Thread-safe.
std::pair<std::string, std::string> split_host_port(std::string_view hostport);

// Go's net.JoinHostPort: "[::1]:80" when host holds a colon, else "host:80". Never throws
// but std::bad_alloc.
std::string join_host_port(std::string_view host, std::string_view port);

// Go's ResolveTCPAddr / ResolveUnixAddr: the addresses that `address` names for `network`
// (a path for unix; an empty host gives the unspecified address, for listening). Blocks
// while getaddrinfo runs (inside goro::blocking) unless the host is an IP literal. Throws
// op_error: an unknown network, a bad address, a name that does not resolve.
std::vector<addr> resolve(std::string_view network, std::string_view address);

// Go's net.LookupHost: the IP addresses of `host`, as strings ("127.0.0.1", "::1"); an IP
// literal is returned as it is. Blocks while getaddrinfo runs (inside goro::blocking).
// Throws op_error ("lookup nosuchhost.invalid: no such host"). Thread-safe.
std::vector<std::string> lookup_host(std::string_view host);

// ---------------------------------------------------------------------------------------
// Connections

namespace detail {
class netfd;  // a socket shared by the handles that copy it; see net/src/netfd.hpp
}

// A stream connection (Go's net.Conn). See the top of this file for the handle semantics.
class conn {
 public:
  conn() = default;  // an empty handle: every operation fails with errc::closed

  // Reads what is there, at most buf.size() bytes: returns > 0, or 0 at the end of the
  // stream (or for an empty buf). Blocks (parks) until data, the end of the stream, the read
  // deadline or close(). Throws op_error (errc::timeout, errc::closed, ECONNRESET, ...).
  // Thread-safe: concurrent reads are served one at a time. As Go's io.Reader, it may use
  // all of buf as scratch space during the call: bytes past the ones it returns need not
  // keep their values (a goroutine that allowed its stack to shrink while it waits,
  // goro::allow_stack_shrink, does not get back the part of buf that lay there).
  std::size_t read(std::span<std::byte> buf);
  // The same, reporting the error in ec (cleared on success) instead of throwing.
  std::size_t read(std::span<std::byte> buf, std::error_code& ec);

  // Writes all of data. Blocks (parks) while the socket's buffer is full, until the write
  // deadline or close(). Throws op_error (errc::timeout, errc::closed, EPIPE, ECONNRESET,
  // ...); never raises SIGPIPE. Thread-safe: concurrent writes are served one at a time, so
  // each is written whole.
  void write(std::span<const std::byte> data);
  void write(std::string_view data);
  // The same, reporting the error in ec (cleared on success) instead of throwing.
  void write(std::span<const std::byte> data, std::error_code& ec);

  // Closes the socket for every copy of the handle and wakes their blocked reads and writes
  // with errc::closed; later operations fail with errc::closed. Blocks (parks) only until
  // the operations it woke have let go, as Go's Close: when it returns, the descriptor is
  // closed. Throws nothing but what shutdown's unwinding throws. A second call does
  // nothing. Thread-safe.
  void close();
  // shutdown(SHUT_WR): the peer reads the end of the stream; reading goes on. Never
  // blocks. Throws op_error (errc::closed, ENOTCONN). Thread-safe.
  void close_write();

  // Deadlines for reads and writes (Go's SetDeadline family): clock::time_point{} for none.
  // A deadline that has passed fails the pending and later operations at once with
  // errc::timeout; setting another re-arms them. Never block. Throw op_error (errc::closed).
  // Thread-safe.
  void set_deadline(clock::time_point t);
  void set_read_deadline(clock::time_point t);
  void set_write_deadline(clock::time_point t);

  // The local and remote endpoints. Never block or throw; empty for an empty handle.
  addr local_addr() const;
  addr remote_addr() const;

  explicit operator bool() const noexcept { return fd_ != nullptr; }
  friend bool operator==(const conn& a, const conn& b) noexcept { return a.fd_ == b.fd_; }

  // For the implementation.
  explicit conn(goro::detail::shared_handle<detail::netfd> fd) noexcept : fd_(std::move(fd)) {}

 private:
  goro::detail::shared_handle<detail::netfd> fd_;
};

// A stream listener (Go's net.Listener). Copies share one socket, like conn's.
class listener {
 public:
  listener() = default;

  // Waits for the next connection and returns it. Blocks (parks) until one comes or
  // close(). Throws op_error: errc::closed, or a system error that the accept loop can
  // survive, e.g. "accept tcp [::]:8080: accept4: too many open files" (EMFILE).
  // Thread-safe: concurrent accepts are served one at a time.
  conn accept();
  // Closes the socket (and removes a unix socket's file); wakes a blocked accept with
  // errc::closed. Blocks like conn::close until the woken accept lets go, so the port
  // refuses new connections once it returns. A second call does nothing. Thread-safe.
  void close();
  // The address it listens on ("[::]:8080", "127.0.0.1:40000"). Never blocks or throws.
  goro::net::addr addr() const;

  explicit operator bool() const noexcept { return fd_ != nullptr; }

  explicit listener(goro::detail::shared_handle<detail::netfd> fd) noexcept : fd_(std::move(fd)) {}

 private:
  goro::detail::shared_handle<detail::netfd> fd_;
};

// A datagram socket (Go's net.PacketConn), for "udp", "udp4" and "udp6". Copies share one
// socket, like conn's.
class packet_conn {
 public:
  packet_conn() = default;

  // Receives one datagram into buf (the rest of a longer one is dropped, as recvfrom does)
  // and stores its sender in `from`; returns its size, which may be 0. Blocks (parks) until
  // one comes, the read deadline or close(). Throws op_error (errc::timeout, errc::closed).
  // Thread-safe: concurrent reads are served one at a time. Like conn::read, it may use all
  // of buf as scratch space during the call.
  std::size_t read_from(std::span<std::byte> buf, goro::net::addr& from);
  // Sends data as one datagram to `to`. Blocks (parks) while the socket's buffer is full.
  // Throws op_error (errc::timeout, errc::closed, EMSGSIZE, ...). Thread-safe.
  void write_to(std::span<const std::byte> data, const goro::net::addr& to);
  // As conn's.
  void close();
  void set_deadline(clock::time_point t);
  void set_read_deadline(clock::time_point t);
  void set_write_deadline(clock::time_point t);
  goro::net::addr local_addr() const;

  explicit operator bool() const noexcept { return fd_ != nullptr; }

  explicit packet_conn(goro::detail::shared_handle<detail::netfd> fd) noexcept
      : fd_(std::move(fd)) {}

 private:
  goro::detail::shared_handle<detail::netfd> fd_;
};

// Listens for datagrams on `address` ("udp", "udp4", "udp6"; ":0" is every address, both
// families for "udp"). Blocks only to resolve a name. Throws op_error, e.g. "listen udp
// 127.0.0.1:53: bind: permission denied". Thread-safe.
packet_conn listen_packet(std::string_view network, std::string_view address);

// Listens on `address` for "tcp", "tcp4", "tcp6" or "unix". "tcp" with no host (":8080")
// listens on every IPv4 and IPv6 address ("[::]:8080"), as Go does. Blocks only to resolve
// a name. Throws op_error, e.g. "listen tcp 127.0.0.1:80: bind: permission denied",
// "listen foo: unknown network foo". Thread-safe.
listener listen(std::string_view network, std::string_view address);

// Connects to `address` ("tcp", "tcp4", "tcp6", "unix"; or "udp", "udp4", "udp6", which
// fixes the peer of a datagram socket: each write is one datagram), trying each address that a name
// resolves to in turn. Blocks (parks) while resolving and connecting. Throws op_error, e.g.
// "dial tcp 127.0.0.1:1: connect: connection refused". Thread-safe.
conn dial(std::string_view network, std::string_view address);

// dial that gives up with errc::timeout ("dial tcp 10.0.0.1:80: i/o timeout") once `d`
// has passed. The deadline bounds the name's resolution too ("dial tcp: lookup
// example.com: i/o timeout", as Go's): a getaddrinfo that is still running then ends on its
// helper thread and its result is dropped.
conn dial_timeout(std::string_view network, std::string_view address, clock::duration d);

// dial with a deadline (clock::time_point{}: none), and a canceller that another goroutine
// may fire to make it give up, while it resolves the name or connects. dial(ctx, ...) is
// built on it.
class dial_canceller {
 public:
  dial_canceller();
  // Makes the dial give up at once (now, or when it starts) with errc::closed. Never
  // blocks or throws. Thread-safe.
  void cancel() const noexcept;
  bool canceled() const noexcept;

  struct state;
  const goro::detail::shared_handle<state>& get() const noexcept { return s_; }

 private:
  goro::detail::shared_handle<state> s_;
};
conn dial(std::string_view network, std::string_view address, clock::time_point deadline,
          const dial_canceller* cancel = nullptr);

// lookup_host that gives up with errc::timeout ("lookup example.com: i/o timeout") at
// `deadline` (clock::time_point{}: none) or with errc::closed once `cancel` fires; the
// getaddrinfo that still runs then ends on its helper thread, and its result is dropped.
// lookup_host(ctx, host) is built on it.
std::vector<std::string> lookup_host(std::string_view host, clock::time_point deadline,
                                     const dial_canceller* cancel = nullptr);

}  // namespace goro::net

template <>
struct std::is_error_code_enum<goro::net::errc> : std::true_type {};
