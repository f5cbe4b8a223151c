// Users build with -Wall -Wextra -Werror. This file is compiled that way, at -O2, where g++'s
// flow-based warnings (-Wmaybe-uninitialized, -Wplacement-new) look through goro's inline
// code (tests/meson.build): a warning from a goro header fails the build. It holds the
// natural ports that drew warnings from select.hpp, and runs them, so that they also do
// what they say.
#include "test_util.hpp"

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

using namespace goro_test;

namespace {

// An element larger than a select case's inline room (48 bytes).
struct record {
  std::string name;
  std::array<char, 64> data{};
  int n = 0;
};

// case v := <-c, ported with the optional callback and a dereference (`use(*v)`): the
// channel is never closed here, so *v is always engaged.
int recv_deref(goro::chan<record> c, goro::chan<int> quit) {
  int n = -1;
  goro::select(goro::on_recv(c, [&](std::optional<record> v) { n = v->n + (*v).data[0]; }),
               goro::on_recv(quit));
  return n;
}

std::string recv_deref_string(goro::chan<std::string> c) {
  std::string s;
  goro::select(goro::on_recv(c, [&](std::optional<std::string> v) { s = *v; }), goro::on_default());
  return s;
}

int recv_deref_ptr(goro::chan<std::unique_ptr<int>> c, goro::chan<int> quit) {
  int n = -1;
  goro::select(goro::on_recv(c, [&](std::optional<std::unique_ptr<int>> v) { n = **v; }),
               goro::on_recv(quit, [&](std::optional<int> v) { n = *v; }));
  return n;
}

// case v := <-c with a callback of T.
int recv_value(goro::chan<record> c) {
  int n = -1;
  goro::select(goro::on_recv(c, [&](record v) { n = v.n; }), goro::on_default());
  return n;
}

// Large elements without callbacks, sent and received, static and dynamic.
bool large_cases(goro::chan<std::array<char, 64>> a, goro::chan<record> r) {
  std::array<char, 64> x{};
  x.fill('w');
  if (goro::select(goro::on_send(a, x), goro::on_default()) != 0) return false;
  if (goro::select(goro::on_recv(a), goro::on_default()) != 0) return false;
  record big;
  big.n = 7;
  if (goro::select(goro::on_send(r, std::move(big), [] {}), goro::on_default()) != 0) return false;
  std::vector<goro::select_case> cases;
  cases.push_back(goro::on_recv(r));
  cases.push_back(goro::on_recv(a));
  if (goro::select(cases) != 0) return false;
  std::optional<record> got = cases[0].received<record>();
  return got && got->n == 7;
}

}  // namespace

TEST_CASE("-Werror: select with large elements and dereferencing callbacks") {
  auto c = goro::make_chan<record>(1);
  auto quit = goro::make_chan<int>(1);
  record v;
  v.n = 1;
  v.data[0] = 2;
  c.send(std::move(v));
  CHECK(recv_deref(c, quit) == 3);

  auto s = goro::make_chan<std::string>(1);
  s.send("text");
  CHECK(recv_deref_string(s) == "text");

  auto p = goro::make_chan<std::unique_ptr<int>>(1);
  p.send(std::make_unique<int>(4));
  CHECK(recv_deref_ptr(p, quit) == 4);

  record w;
  w.n = 5;
  c.send(std::move(w));
  CHECK(recv_value(c) == 5);
  CHECK(recv_value(c) == -1);  // nothing ready: default
  c.close();
  CHECK(recv_value(c) == 0);  // closed: the zero value

  CHECK(large_cases(goro::make_chan<std::array<char, 64>>(1), goro::make_chan<record>(1)));
}

TEST_CASE("-Werror: porting helpers") {
  int deferred = 0;
  {
    goro::defer d{[&] { ++deferred; }};
  }
  CHECK(deferred == 1);

  std::vector<int> xs{1, 2, 3, 4};
  goro::rand::shuffle(xs.size(), [&](std::size_t a, std::size_t b) { std::swap(xs[a], xs[b]); });
  CHECK(xs.size() == 4);
  const int i = goro::rand::intn(10);
  CHECK(i >= 0);
  CHECK(i < 10);
  CHECK(goro::rand::float64() < 1.0);

  run_on(1, [] {
    goro::errgroup g;
    g.go([]() -> std::error_code { return goro::context_errc::canceled; });
    CHECK(goro::errors_is(g.wait(), goro::context_errc::canceled));
  });
}
