// goro::testing::leak_check — goleak for goro: fail a test that leaves goroutines behind.
//
//   TEST_CASE("pipeline stops") {
//     goro::run([] {
//       goro::testing::leak_check leaks;          // records the goroutines alive now
//       auto done = goro::make_chan<goro::unit>();
//       auto first = goro::take(done, goro::repeat(done, 1), 3);
//       for (int v : first) (void)v;
//       done.close();
//     });                                         // ~leak_check: must be gone within 1 s
//   }
//
// At destruction it waits (up to the timeout, 1 s by default) for every goroutine started
// since its construction to end. If some are still alive then, it fails:
//   - by default it throws goro::testing::leak_error, whose what() lists each leaked
//     goroutine as goleak does: "goroutine 7 [chan receive], created at file.cpp:42". A test
//     framework reports that exception as a failure of the test (doctest, Catch2 and
//     GoogleTest all do). If the scope is already being left by an exception, it only prints
//     the report to stderr instead (a second exception would end the program).
//   - with a handler (the constructor's argument), it calls the handler with the leaked
//     goroutines instead, e.g. [](auto& leaked) { ADD_FAIL_CHECK(format(leaked)); }.
// check() does the same wait at a point of your choice and returns the leaked goroutines
// (empty: none); the destructor then checks nothing more.
//
// It needs a running goro runtime: goro::goroutines() lists nothing outside goro::run.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <goro/debug.hpp>
#include <goro/detail/chrono.hpp>
#include <goro/detail/functional.hpp>

namespace goro::testing {

// What a failing leak_check throws.
class leak_error : public std::runtime_error {
 public:
  leak_error(const std::string& what, std::vector<goroutine_info> leaked);
  leak_error(const leak_error&) = default;
  leak_error& operator=(const leak_error&) = default;
  ~leak_error() override;
  const std::vector<goroutine_info>& leaked() const noexcept { return leaked_; }

 private:
  std::vector<goroutine_info> leaked_;
};

// "found unexpected goroutines:\n  goroutine 7 [chan receive], created at a.cpp:42\n..."
std::string format_leaks(const std::vector<goroutine_info>& leaked);

class leak_check {
 public:
  using handler = std::function<void(const std::vector<goroutine_info>& leaked)>;

  leak_check();
  explicit leak_check(handler on_leak,
                      std::chrono::steady_clock::duration timeout = std::chrono::seconds(1));
  leak_check(const leak_check&) = delete;
  leak_check& operator=(const leak_check&) = delete;
  ~leak_check() noexcept(false);

  // Waits up to the timeout for the goroutines started since construction to end; returns
  // those still alive (empty: no leak). Disarms the destructor.
  std::vector<goroutine_info> check();

 private:
  // The ids alive at construction, sorted. Not a std::unordered_set: <unordered_set> cost
  // every file that includes goro.hpp 0.08 s of the compiler's time (docs/header_cost.md).
  std::vector<std::uint64_t> baseline_;
  handler on_leak_;
  std::chrono::steady_clock::duration timeout_;
  int uncaught_;
  bool checked_ = false;
};

}  // namespace goro::testing
