// Helpers shared by the tests of the patterns layer.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

namespace test {

// Runs body as the main goroutine of a fresh runtime with two worker threads.
template <class F>
void run(F body) {
  goro::options opts;
  opts.threads = 2;
  int rc = goro::run(opts, std::move(body));
  CHECK(rc == 0);
}

// Waits up to `limit` for num_goroutine() to come down to `baseline`.
inline bool back_to(std::size_t baseline, goro::clock::duration limit = 1s) {
  auto deadline = goro::clock::now() + limit;
  while (goro::num_goroutine() > baseline) {
    if (goro::clock::now() >= deadline) return false;
    goro::sleep(1ms);
  }
  return true;
}

// Whether a done channel is closed (or has a value) right now, without blocking.
inline bool fired(const goro::done_chan& c) {
  return goro::select(goro::on_recv(c), goro::on_default()) == 0;
}

// Whether c closes (or delivers) within `limit`.
template <class T>
bool fires_within(const goro::recv_chan<T>& c, goro::clock::duration limit) {
  return goro::select(goro::on_recv(c), goro::on_recv(goro::after(limit))) == 0;
}

// Every value of c until it is closed.
template <class C>
auto drain(const C& c) {
  std::vector<goro::chan_value_t<C>> out;
  for (auto v : goro::recv_chan<goro::chan_value_t<C>>(c)) out.push_back(std::move(v));
  return out;
}

// A channel that closes after d (Go's sig(after)).
inline goro::done_chan closes_after(goro::clock::duration d) {
  auto c = goro::make_chan<goro::unit>();
  goro::after_func(d, [c] { c.close(); });
  return c;
}

}  // namespace test
