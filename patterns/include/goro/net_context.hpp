// goro::net::dial(ctx, ...): a dial that gives up when a context ends (Go's
// Dialer.DialContext). It lives in the patterns layer because goro::net sits below context.
//
//   auto [ctx, cancel] = goro::with_timeout(goro::background(), 2s);
//   goro::net::conn c = goro::net::dial(ctx, "tcp", "example.com:80");
#pragma once

#include <goro/context.hpp>
#include <goro/net.hpp>

namespace goro::net {

// Connects as dial(network, address) does, giving up when ctx is done: at ctx's deadline, or
// when it is canceled (an after_func closes the socket being connected, or stops the wait
// for the name's lookup, whose getaddrinfo then ends on its helper thread). Blocks (parks)
// while resolving and connecting. Throws op_error with the context's error as its code
// (context_errc::canceled or deadline_exceeded) and Go's text ("dial tcp 10.0.0.1:80:
// operation was canceled", "dial tcp: lookup example.com: i/o timeout"), or what dial
// throws. Thread-safe.
conn dial(const goro::context& ctx, std::string_view network, std::string_view address);

// lookup_host(host) that gives up when ctx is done (Go's Resolver.LookupHost(ctx, host)),
// with the context's error as the code and Go's text: "lookup example.com: operation was
// canceled", "lookup example.com: i/o timeout". Blocks (parks) while the name is looked
// up; an IP literal never blocks. Thread-safe.
std::vector<std::string> lookup_host(const goro::context& ctx, std::string_view host);

}  // namespace goro::net
