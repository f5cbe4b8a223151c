// goro::net: sockets for goroutines, with Go's semantics and Go's error text (API.md §8).
// This first part: addresses (Go's TCPAddr and UnixAddr, SplitHostPort, JoinHostPort),
// name resolution, and the errors every operation throws.
//
// - Networks: "tcp", "tcp4", "tcp6", "unix". Addresses as Go writes them: ":8080",
//   "127.0.0.1:0", "[::1]:9000", "localhost:80", a path (or "@name", Linux's abstract
//   namespace) for "unix". Names are resolved with getaddrinfo inside goro::blocking.
// - Errors are goro::net::op_error (a std::system_error) whose what() is Go's *net.OpError
//   text, e.g. "dial tcp 127.0.0.1:1: connect: connection refused". The codes are errno
//   codes, plus goro::net::errc::timeout and errc::closed.
#pragma once

#include <goro/time.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
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
  std::shared_ptr<const std::string> text_;
};

// ---------------------------------------------------------------------------------------
// Addresses

// An endpoint: an IP address and port (tcp, tcp4, tcp6) or a path (unix). Empty by default.
class addr {
 public:
  addr() = default;

  // Go's Addr.Network(): "tcp" or "unix"; "" when empty.
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

}  // namespace goro::net

template <>
struct std::is_error_code_enum<goro::net::errc> : std::true_type {};
