// TEST-ONLY hooks into goro::net's name resolution, for tests of a slow or failing
// resolver without a network (tests/net_test.cpp). Not for programs: nothing here is part
// of the API (API.md §8), and it may change with any commit.
#pragma once

#include <cstddef>

struct addrinfo;

namespace goro::net::detail {

// getaddrinfo's signature. A replacement must return what getaddrinfo would: 0 and a
// list that ::freeaddrinfo frees, or an EAI_* code.
using getaddrinfo_fn = int (*)(const char* host, const char* service, const ::addrinfo* hints,
                               ::addrinfo** res);

// TEST-ONLY. Replaces ::getaddrinfo in the lookups of names (the calls that run under
// goro::blocking; IP literals never reach it); nullptr puts ::getaddrinfo back. A lookup
// reads the hook when it starts, so set it while no lookup runs that should see the change.
void set_getaddrinfo_for_test(getaddrinfo_fn f) noexcept;

// TEST-ONLY. How many lookups have not ended yet: a lookup whose caller gave up (a
// deadline, a cancelled dial) runs on to its end on its helper thread, and only then frees
// its state. Back to 0 once every resolver call has returned: nothing is leaked.
std::size_t lookups_in_flight_for_test() noexcept;

}  // namespace goro::net::detail
