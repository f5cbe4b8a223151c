// Errors with Go's text, and addresses: printing (Go's TCPAddr.String / UnixAddr.String),
// splitting (Go's ipsock.go SplitHostPort / JoinHostPort) and resolving (getaddrinfo inside
// goro::blocking, so a slow resolver never stalls a worker; a deadline or a cancelled dial
// stops the wait for it, see resolve.hpp).
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <goro/blocking.hpp>
#include <goro/detail/shared_handle_impl.hpp>
#include <goro/net/detail/resolver_hook.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/time.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstring>
#include <exception>
#include <optional>

#include "errors.hpp"
#include "resolve.hpp"

namespace goro::net {

// ---------------------------------------------------------------------------------------
// Errors

namespace {

class net_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro.net"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::timeout:
        return "i/o timeout";
      case errc::closed:
        return "use of closed network connection";
    }
    return "unknown goro.net error";
  }
  // A timeout is also the portable std::errc::timed_out.
  bool equivalent(int c, const std::error_condition& cond) const noexcept override {
    if (c == static_cast<int>(errc::timeout) && cond == std::errc::timed_out) return true;
    return default_error_condition(c) == cond;
  }
};

class resolver_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int c) const override {
    // Go's DNSError text for a name that does not exist.
    if (c == EAI_NONAME || c == EAI_NODATA) return "no such host";
    return ::gai_strerror(c);
  }
};

}  // namespace

const std::error_category& net_category() noexcept {
  static const net_category_impl c;
  return c;
}

const std::error_category& resolver_category() noexcept {
  static const resolver_category_impl c;
  return c;
}

op_error::op_error(std::error_code ec, std::string text)
    : std::system_error(ec),
      text_(goro::detail::to_handle(std::make_shared<const std::string>(std::move(text)))) {}

namespace detail {

std::string errno_text(int err) {
  std::string s = std::generic_category().message(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string error_text(std::error_code ec) {
  if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
    return errno_text(ec.value());
  }
  return ec.message();
}

std::string op_text(std::string_view op, std::string_view net, const addr& source, const addr& dest,
                    std::string_view err) {
  std::string s(op);
  if (!net.empty()) s.append(" ").append(net);
  const std::string src = source.string(), dst = dest.string();
  if (!src.empty()) s.append(" ").append(src);
  if (!dst.empty()) s.append(src.empty() ? " " : "->").append(dst);
  s.append(": ").append(err);
  return s;
}

op_error make_op_error(std::string_view op, std::string_view net, const addr& source,
                       const addr& dest, std::error_code ec, std::string_view call) {
  std::string err = error_text(ec);
  if (!call.empty()) err = std::string(call) + ": " + err;
  return op_error(ec, op_text(op, net, source, dest, err));
}

}  // namespace detail

namespace {

[[noreturn]] void throw_bad_address(std::string_view op, std::string_view net,
                                    std::string_view address, std::string_view why) {
  std::string s(op);
  if (!net.empty()) s.append(s.empty() ? "" : " ").append(net);
  s.append(s.empty() ? "" : ": ").append("address ").append(address).append(": ").append(why);
  throw op_error(std::make_error_code(std::errc::invalid_argument), s);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// addr

addr addr::from_sockaddr(std::string network, const void* sa, std::uint32_t size) {
  addr a;
  a.network_ = std::move(network);
  a.size_ = std::min<std::uint32_t>(size, sizeof a.storage_);
  std::memcpy(a.storage_, sa, a.size_);
  return a;
}

std::string addr::ip() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (size_ == 0) return {};
  const auto* sa = reinterpret_cast<const sockaddr*>(storage_);
  if (sa->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof buf);
    std::string s = buf;
    char ifname[IF_NAMESIZE] = {};
    if (s6->sin6_scope_id != 0) {
      s += '%';
      s += ::if_indextoname(s6->sin6_scope_id, ifname) ? std::string(ifname)
                                                       : std::to_string(s6->sin6_scope_id);
    }
    return s;
  }
  return {};
}

std::uint16_t addr::port() const noexcept {
  if (size_ == 0) return 0;
  const auto* sa = reinterpret_cast<const sockaddr*>(storage_);
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  }
  return 0;
}

std::string addr::string() const {
  if (size_ == 0) return {};
  const auto* sa = reinterpret_cast<const sockaddr*>(storage_);
  if (sa->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    const std::size_t n = size_ - offsetof(sockaddr_un, sun_path);
    if (n == 0) return {};
    if (un->sun_path[0] == '\0')
      return std::string(1, '@').append(un->sun_path + 1, n - 1);  // abstract
    return std::string(un->sun_path, ::strnlen(un->sun_path, n));
  }
  return join_host_port(ip(), std::to_string(port()));
}

bool operator==(const addr& a, const addr& b) noexcept {
  return a.network_ == b.network_ && a.size_ == b.size_ &&
         std::memcmp(a.storage_, b.storage_, a.size_) == 0;
}

// ---------------------------------------------------------------------------------------
// Splitting and joining (Go's ipsock.go)

std::pair<std::string, std::string> split_host_port(std::string_view hostport) {
  auto bad = [&](std::string_view why) { throw_bad_address("", "", hostport, why); };
  const std::size_t colon = hostport.rfind(':');
  if (colon == std::string_view::npos) bad("missing port in address");
  std::string_view host;
  if (!hostport.empty() && hostport[0] == '[') {
    const std::size_t end = hostport.find(']');
    if (end == std::string_view::npos) bad("missing ']' in address");
    if (end + 1 == hostport.size()) bad("missing port in address");
    if (end + 1 != colon)
      bad(hostport[end + 1] == ':' ? "too many colons in address" : "missing port in address");
    host = hostport.substr(1, end - 1);
  } else {
    host = hostport.substr(0, colon);
    if (host.find(':') != std::string_view::npos) bad("too many colons in address");
  }
  if (host.find_first_of("[]") != std::string_view::npos) bad("unexpected '[' or ']' in address");
  const std::string_view port = hostport.substr(colon + 1);
  if (port.find_first_of("[]") != std::string_view::npos) bad("unexpected ']' in address");
  return {std::string(host), std::string(port)};
}

// Appended piece by piece, as the abstract socket name above: GCC 12 at -O3 reported a
// false -Wrestrict (an overlap of 2^63 bytes inside std::string's copy) for the operator+
// chains these were.
std::string join_host_port(std::string_view host, std::string_view port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string s;
  s.reserve(host.size() + port.size() + 3);
  if (v6) s += '[';
  s += host;
  if (v6) s += ']';
  s += ':';
  s += port;
  return s;
}

// ---------------------------------------------------------------------------------------
// Resolving

namespace {

struct family_of {
  bool ok;       // a network that goro::net knows
  bool is_unix;  // "unix"
  int family;    // AF_INET, AF_INET6, AF_UNSPEC ("tcp", "udp"), AF_UNIX
};

family_of network_family(std::string_view network) {
  if (network == "tcp") return {true, false, AF_UNSPEC};
  if (network == "tcp4") return {true, false, AF_INET};
  if (network == "tcp6") return {true, false, AF_INET6};
  if (network == "udp") return {true, false, AF_UNSPEC};
  if (network == "udp4") return {true, false, AF_INET};
  if (network == "udp6") return {true, false, AF_INET6};
  if (network == "unix") return {true, true, AF_UNIX};
  return {false, false, 0};
}

// A unix address: a path, or "@name" in Linux's abstract namespace.
addr unix_addr(std::string_view path) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.size() >= sizeof un.sun_path) {
    throw_bad_address("", "unix", path, "path too long");
  }
  std::memcpy(un.sun_path, path.data(), path.size());
  std::uint32_t len = static_cast<std::uint32_t>(offsetof(sockaddr_un, sun_path) + path.size());
  if (!path.empty() && path[0] == '@') {
    un.sun_path[0] = '\0';  // abstract: the length says where the name ends
  } else if (!path.empty()) {
    ++len;  // the terminating NUL of a path
  }
  return addr::from_sockaddr("unix", &un, len);
}

// Go's baked-in services (net/lookup.go), for a system without /etc/services (Go's issue
// 18213): what a port name means when the services database does not know it.
struct known_service {
  const char* proto;
  const char* name;
  std::uint16_t port;
};
constexpr known_service kGoServices[] = {
    {"udp", "domain", 53}, {"tcp", "ftp", 21},    {"tcp", "ftps", 990},  {"tcp", "gopher", 70},
    {"tcp", "http", 80},   {"tcp", "https", 443}, {"tcp", "imap2", 143}, {"tcp", "imap3", 220},
    {"tcp", "imaps", 993}, {"tcp", "pop3", 110},  {"tcp", "pop3s", 995}, {"tcp", "smtp", 25},
    {"tcp", "ssh", 22},    {"tcp", "telnet", 23},
};

// A port: a number, or a service name ("http") that the services database
// (/etc/services, through getservbyname_r) or Go's own table knows for the network's
// protocol, as Go's LookupPort; names are case-insensitive, as in Go. Throws op_error
// "address 99999: invalid port" or "address tcp/nosuchsvc: unknown port" (Go's texts).
std::uint16_t parse_port(std::string_view address, std::string_view network,
                         std::string_view port) {
  const bool numeric = !port.empty() && std::all_of(port.begin(), port.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric && !port.empty()) {
    const std::string proto = network.starts_with("udp") ? "udp" : "tcp";
    std::string name(port);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    servent se{}, *found = nullptr;
    char buf[1024];
    if (::getservbyname_r(name.c_str(), proto.c_str(), &se, buf, sizeof buf, &found) == 0 &&
        found) {
      return ntohs(static_cast<std::uint16_t>(found->s_port));
    }
    for (const known_service& k : kGoServices) {
      if (proto == k.proto && name == k.name) return k.port;
    }
    throw op_error(std::error_code(EAI_SERVICE, resolver_category()),
                   "address " + proto + "/" + std::string(port) + ": unknown port");
  }
  unsigned v = 0;
  auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || err != std::errc{} || end != port.data() + port.size() || v > 65535) {
    throw_bad_address("", "", port.empty() ? address : port, "invalid port");
  }
  return static_cast<std::uint16_t>(v);
}

// An IP literal ("127.0.0.1", "::1", "fe80::1%eth0") of a family that `family` allows, or
// an empty addr if host is no literal.
addr ip_literal(std::string_view host, int family, std::uint16_t port) {
  const std::string h(host);
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(h.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return {};
  addr a = addr::from_sockaddr("tcp", res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return a;
}

// The unspecified address of a listener with no host: [::] for tcp (dual stack) and tcp6,
// 0.0.0.0 for tcp4.
addr any_addr(int family, std::uint16_t port) {
  if (family == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    return addr::from_sockaddr("tcp", &in, sizeof in);
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  return addr::from_sockaddr("tcp", &in6, sizeof in6);
}

std::atomic<detail::getaddrinfo_fn> the_getaddrinfo{&::getaddrinfo};
std::atomic<std::size_t> lookups_alive{0};

// One getaddrinfo call, shared by the goroutine that waits for it and the one that makes it
// under goro::blocking (resolve.hpp): whichever lets go last frees it.
struct lookup_call {
  lookup_call(std::string_view h, int fam, std::uint16_t p) : host(h), family(fam), port(p) {
    lookups_alive.fetch_add(1, std::memory_order_relaxed);
  }
  ~lookup_call() { lookups_alive.fetch_sub(1, std::memory_order_release); }
  lookup_call(const lookup_call&) = delete;
  lookup_call& operator=(const lookup_call&) = delete;

  // On the helper thread. Sets rc (and err, errno for EAI_SYSTEM) and out.
  void run() {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    rc = the_getaddrinfo.load(std::memory_order_acquire)(host.c_str(), std::to_string(port).c_str(),
                                                         &hints, &res);
    if (rc == EAI_SYSTEM) err = errno;
    if (rc != 0) return;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      addr a = addr::from_sockaddr("tcp", ai->ai_addr, ai->ai_addrlen);
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
    }
    ::freeaddrinfo(res);
  }

  const std::string host;
  const int family;
  const std::uint16_t port;
  int rc = 0, err = 0;
  std::vector<addr> out;
  std::exception_ptr error;              // what goro::blocking threw instead
  chan<unit> done = make_chan<unit>(1);  // one value once rc, err and out are set
};

// getaddrinfo on a helper thread (goro::blocking): the addresses of host, in the resolver's
// order. Gives up at `deadline` or when `cancel` fires, as Go's lookupIPAddr gives up when
// its ctx is done: the call then ends on its own, and its result is dropped. Throws
// op_error "lookup host: no such host", "lookup host: i/o timeout" (errc::timeout) or
// "lookup host: use of closed network connection" (errc::closed, which dial(ctx) turns
// into Go's "operation was canceled").
std::vector<addr> getaddrinfo_blocking(std::string_view host, int family, std::uint16_t port,
                                       clock::time_point deadline, const dial_canceller* cancel) {
  auto call = std::make_shared<lookup_call>(host, family, port);
  const bool expired_already = deadline != clock::time_point{} && goro::now() >= deadline;
  if (expired_already || (cancel && cancel->canceled())) {  // no lookup to start
    const std::error_code ec = make_error_code(expired_already ? errc::timeout : errc::closed);
    throw op_error(ec, "lookup " + call->host + ": " + ec.message());
  }
  if (deadline == clock::time_point{} && !cancel) {
    goro::blocking([&] { call->run(); });  // nothing to stop the wait: no goroutine needed
  } else {
    // The lookup's own goroutine waits for the helper thread, so that this one can leave.
    goro::go([call] {
      try {
        goro::blocking([&] { call->run(); });
      } catch (...) {  // no helper thread, or no memory: the waiter rethrows it
        call->error = std::current_exception();
      }
      call->done.send(unit{});  // never blocks: room for one value
    });
    std::optional<goro::timer> timer;
    recv_chan<clock::time_point> expired;  // nil: never ready
    if (deadline != clock::time_point{}) {
      timer.emplace(deadline - goro::now());
      expired = timer->c();
    }
    recv_chan<unit> canceled;
    if (cancel) canceled = cancel->get()->canceled_ch;
    const std::size_t which =
        goro::select(goro::on_recv(call->done), goro::on_recv(expired), goro::on_recv(canceled));
    if (timer) timer->stop();
    if (which != 0) {
      const std::error_code ec = make_error_code(which == 1 ? errc::timeout : errc::closed);
      throw op_error(ec, "lookup " + call->host + ": " + ec.message());
    }
  }
  if (call->error) std::rethrow_exception(call->error);
  const int rc = call->rc;
  const std::error_code ec(rc, resolver_category());
  if (rc == EAI_SYSTEM)
    throw op_error(ec, "lookup " + call->host + ": " + detail::errno_text(call->err));
  if (rc != 0 || call->out.empty()) {
    throw op_error(rc ? ec : std::error_code(EAI_NONAME, resolver_category()),
                   "lookup " + call->host + ": " + (rc ? ec.message() : "no such host"));
  }
  return std::move(call->out);
}

std::vector<addr> with_network(std::vector<addr> v, std::string_view network) {
  std::vector<addr> out;
  for (addr& a : v)
    out.push_back(addr::from_sockaddr(std::string(network).substr(0, 3), a.data(), a.size()));
  return out;
}

}  // namespace

namespace detail {

void set_getaddrinfo_for_test(getaddrinfo_fn f) noexcept {
  the_getaddrinfo.store(f ? f : &::getaddrinfo, std::memory_order_release);
}

std::size_t lookups_in_flight_for_test() noexcept {
  return lookups_alive.load(std::memory_order_acquire);
}

std::vector<addr> resolve(std::string_view network, std::string_view address,
                          clock::time_point deadline, const dial_canceller* cancel) {
  const family_of f = network_family(network);
  if (!f.ok) {
    throw op_error(std::make_error_code(std::errc::invalid_argument),
                   "unknown network " + std::string(network));
  }
  if (f.is_unix) return {unix_addr(address)};
  auto [host, port_text] = split_host_port(address);
  const std::uint16_t port = parse_port(address, network, port_text);
  if (host.empty()) return with_network({any_addr(f.family, port)}, network);
  if (addr a = ip_literal(host, f.family, port); !a.empty()) return with_network({a}, network);
  if (ip_literal(host, AF_UNSPEC, port).size() != 0) {
    throw_bad_address("", "", address, "no suitable address found");  // v4 literal for tcp6...
  }
  return with_network(getaddrinfo_blocking(host, f.family, port, deadline, cancel), network);
}

}  // namespace detail

std::vector<addr> resolve(std::string_view network, std::string_view address) {
  return detail::resolve(network, address, clock::time_point{}, nullptr);
}

std::vector<std::string> lookup_host(std::string_view host, clock::time_point deadline,
                                     const dial_canceller* cancel) {
  if (addr a = ip_literal(host, AF_UNSPEC, 0); !a.empty()) return {std::string(host)};
  std::vector<std::string> out;
  for (const addr& a : getaddrinfo_blocking(host, AF_UNSPEC, 0, deadline, cancel)) {
    out.push_back(a.ip());
  }
  return out;
}

std::vector<std::string> lookup_host(std::string_view host) {
  return lookup_host(host, clock::time_point{}, nullptr);
}

}  // namespace goro::net
