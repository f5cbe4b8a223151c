// Name resolution bounded by a deadline and a dial_canceller (Go's lookupIPAddr, which
// selects on the lookup and ctx.Done()), shared by addr.cpp and sock.cpp.
//
// Invariants:
// - A lookup's state is shared by the goroutine that waits for it and the goroutine that
//   runs getaddrinfo under goro::blocking; the waiter may leave (deadline, cancel) while
//   getaddrinfo still runs, and the lookup then frees its state when it ends. So no thread
//   ever touches the waiter's stack after the waiter left.
// - dial_canceller::state::canceled_ch is closed exactly once, by the cancel() that set
//   `canceled`, so a waiter that selects on it wakes whether it started before or after.
#pragma once

#include <goro/chan.hpp>
#include <goro/net.hpp>
#include <goro/unit.hpp>

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace goro::net {

struct dial_canceller::state {
  std::mutex mu;
  bool canceled = false;
  std::shared_ptr<detail::netfd> connecting;   // the socket being connected, if any
  chan<unit> canceled_ch = make_chan<unit>();  // closed by the first cancel()
};

namespace detail {

// resolve(network, address), giving up with errc::timeout ("lookup host: i/o timeout") at
// `deadline` (clock::time_point{}: none) or with errc::closed once `cancel` (may be null)
// fires, while a name is being looked up.
std::vector<addr> resolve(std::string_view network, std::string_view address,
                          clock::time_point deadline, const dial_canceller* cancel);

}  // namespace detail
}  // namespace goro::net
