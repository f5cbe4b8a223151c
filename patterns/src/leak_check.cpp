#include <goro/leak_check.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <thread>

#include <goro/time.hpp>

namespace goro::testing {

namespace {

// The ids of the live goroutines, sorted.
std::vector<std::uint64_t> live_ids() {
  std::vector<std::uint64_t> ids;
  for (const goroutine_info& g : goroutines()) ids.push_back(g.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

std::string format_leaks(const std::vector<goroutine_info>& leaked) {
  std::string s = "found unexpected goroutines:";
  for (const goroutine_info& g : leaked) {
    s += "\n  goroutine " + std::to_string(g.id) + " [" + g.state + "], created at " +
         g.created_file + ":" + std::to_string(g.created_line);
  }
  return s;
}

// Out of line, with leak_error's members: inline, they cost every file that includes
// goro.hpp ~20 M compiler instructions of std::vector and std::function code
// (docs/header_cost.md).
leak_error::leak_error(const std::string& what, std::vector<goroutine_info> leaked)
    : std::runtime_error(what), leaked_(std::move(leaked)) {}
leak_error::~leak_error() = default;

leak_check::leak_check() : leak_check(handler(), std::chrono::seconds(1)) {}

leak_check::leak_check(handler on_leak, std::chrono::steady_clock::duration timeout)
    : baseline_(live_ids()),
      on_leak_(std::move(on_leak)),
      timeout_(timeout),
      uncaught_(std::uncaught_exceptions()) {}

std::vector<goroutine_info> leak_check::check() {
  checked_ = true;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    std::vector<goroutine_info> leaked;
    for (goroutine_info& g : goroutines()) {
      if (!std::binary_search(baseline_.begin(), baseline_.end(), g.id))
        leaked.push_back(std::move(g));
    }
    if (leaked.empty() || std::chrono::steady_clock::now() >= deadline) return leaked;
    // goro::sleep parks a goroutine (letting the others finish) and blocks a plain thread.
    goro::sleep(pause);
    if (pause < std::chrono::milliseconds(10)) pause *= 2;
  }
}

leak_check::~leak_check() noexcept(false) {
  if (checked_) return;
  std::vector<goroutine_info> leaked = check();
  if (leaked.empty()) return;
  if (on_leak_) {
    on_leak_(leaked);
  } else if (std::uncaught_exceptions() > uncaught_) {
    std::cerr << "goro::testing::leak_check: " << format_leaks(leaked) << std::endl;
  } else {
    std::string what = format_leaks(leaked);
    throw leak_error(what, std::move(leaked));
  }
}

}  // namespace goro::testing
