// docs/reference.md §3, select: static and dynamic forms, callbacks, default, random choice, nil
// cases, duplicate channels, closed channels.
#include "test_util.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

using namespace goro_test;

namespace {

// The variadic select takes only select_cases, so it never competes with the span form.
template <class... A>
concept can_select = requires(A&&... a) { goro::select(std::forward<A>(a)...); };
static_assert(can_select<goro::select_case>);
static_assert(can_select<goro::select_case&, goro::select_case>);
static_assert(can_select<std::span<goro::select_case>>);
static_assert(!can_select<int>);
static_assert(!can_select<goro::chan<int>>);
static_assert(std::is_same_v<decltype(goro::select(goro::on_default())), std::size_t>);
static_assert(std::is_nothrow_move_constructible_v<goro::select_case>);

// Cases respect a channel's direction, as Go's `<-c` and `c <- v` do.
template <class H>
concept can_recv_case = requires(H h) { goro::on_recv(h); };
template <class H>
concept can_send_case = requires(H h) { goro::on_send(h, 1); };
static_assert(can_recv_case<goro::chan<int>> && can_recv_case<goro::recv_chan<int>>);
static_assert(!can_recv_case<goro::send_chan<int>>);
static_assert(can_send_case<goro::chan<int>> && can_send_case<goro::send_chan<int>>);
static_assert(!can_send_case<goro::recv_chan<int>>);
static_assert(!can_recv_case<int>);

bool within(int count, int expected, int slack) {
  return count >= expected - slack && count <= expected + slack;
}

}  // namespace

TEST_CASE("select performs exactly the one case it returns") {
  for (int iter = 0; iter < 200; ++iter) {
    // Two ready receive cases: exactly one value is taken, from the case returned.
    auto a = goro::make_chan<int>(1);
    auto b = goro::make_chan<int>(1);
    a.send(1);
    b.send(2);
    int got = 0;
    const auto i = goro::select(goro::on_recv(a, [&](std::optional<int> v) { got = *v; }),
                                goro::on_recv(b, [&](std::optional<int> v) { got = *v; }));
    REQUIRE(i < 2);
    CHECK(got == (i == 0 ? 1 : 2));
    CHECK(a.len() == (i == 0 ? 0u : 1u));
    CHECK(b.len() == (i == 1 ? 0u : 1u));

    // Two ready send cases: exactly one value is put, into the case returned.
    auto c = goro::make_chan<int>(1);
    auto d = goro::make_chan<int>(1);
    const auto j = goro::select(goro::on_send(c, 10), goro::on_send(d, 20));
    REQUIRE(j < 2);
    CHECK(c.len() + d.len() == 1);
    if (j == 0) CHECK(*c.recv() == 10);
    if (j == 1) CHECK(*d.recv() == 20);
  }
}

TEST_CASE("select calls only the chosen case's callback, with the value or nullopt") {
  auto a = goro::make_chan<int>(1);
  auto b = goro::make_chan<int>(1);
  auto out = goro::make_chan<std::string>(1);
  int a_calls = 0, b_calls = 0, send_calls = 0, default_calls = 0;
  std::optional<int> a_value;
  auto cases = [&] {
    return goro::select(goro::on_recv(a,
                                      [&](std::optional<int> v) {
                                        ++a_calls;
                                        a_value = v;
                                      }),
                        goro::on_recv(b, [&](std::optional<int>) { ++b_calls; }),
                        goro::on_send(out, "s", [&] { ++send_calls; }),
                        goro::on_default([&] { ++default_calls; }));
  };
  // Only the send case is ready.
  CHECK(cases() == 2);
  CHECK(send_calls == 1);
  CHECK(*out.recv() == "s");
  // Only a is ready.
  a.send(4);
  out.send("full");
  CHECK(cases() == 0);
  CHECK(a_calls == 1);
  CHECK(a_value == std::optional<int>(4));
  // Nothing is ready: default.
  CHECK(cases() == 3);
  CHECK(default_calls == 1);
  // A closed channel is ready and its callback gets nullopt.
  a.close();
  CHECK(cases() == 0);
  CHECK(a_calls == 2);
  CHECK(a_value == std::nullopt);
  CHECK(b_calls == 0);
  CHECK(send_calls == 1);
  CHECK(default_calls == 1);

  // Without callbacks a closed receive case is still chosen.
  auto closed = goro::make_chan<int>();
  closed.close();
  CHECK(goro::select(goro::on_recv(closed)) == 0);
  CHECK(goro::select(goro::on_recv(closed), goro::on_default()) == 0);
}

TEST_CASE("on_recv with a callback of T: the value, or T{} from a closed channel") {
  // Go's `case v := <-c`: the zero value when c is closed.
  auto c = goro::make_chan<int>(1);
  int got = -1;
  auto recv_int = [&] {
    return goro::select(goro::on_recv(c, [&](int v) { got = v; }), goro::on_default());
  };
  CHECK(recv_int() == 1);  // nothing ready: the callback is not called
  CHECK(got == -1);
  c.send(5);
  CHECK(recv_int() == 0);
  CHECK(got == 5);
  c.close();
  CHECK(recv_int() == 0);
  CHECK(got == 0);

  // const T& works too, and a string's zero value is "".
  auto s = goro::make_chan<std::string>(1);
  std::string text = "unset";
  s.send("hello");
  auto take_text = [&] {
    goro::select(goro::on_recv(s, [&](const std::string& v) { text = v; }),
                 goro::on_recv(goro::chan<int>()), goro::on_recv(goro::chan<int>()));
  };
  take_text();
  CHECK(text == "hello");
  s.close();
  take_text();
  CHECK(text == "");

  // A move-only T: moved in, nullptr from a closed channel.
  auto p = goro::make_chan<std::unique_ptr<int>>(1);
  p.send(std::make_unique<int>(3));
  int pointee = 0;
  bool null_seen = false;
  auto take_ptr = [&] {
    goro::select(goro::on_recv(p, [&](std::unique_ptr<int> v) {
      if (v) {
        pointee = *v;
      } else {
        null_seen = true;
      }
    }));
  };
  take_ptr();
  CHECK(pointee == 3);
  CHECK_FALSE(null_seen);
  p.close();
  take_ptr();
  CHECK(null_seen);

  // A callback that could take either (a generic lambda) gets the std::optional<T>.
  auto g = goro::make_chan<int>(1);
  g.close();
  bool got_optional = false, engaged = true;
  goro::select(goro::on_recv(g, [&](auto v) {
    if constexpr (std::is_same_v<decltype(v), std::optional<int>>) {
      got_optional = true;
      engaged = v.has_value();
    }
  }));
  CHECK(got_optional);
  CHECK_FALSE(engaged);

  // Received in a goroutine that blocked first, and in the dynamic form.
  run_on(2, [] {
    auto u = goro::make_chan<int>();
    goro::go([u] {
      goro::sleep(5ms);
      u.send(9);
      u.close();
    });
    int first = 0, second = -1;
    goro::select(goro::on_recv(u, [&](int v) { first = v; }));
    CHECK(first == 9);
    std::vector<goro::select_case> cases;
    cases.push_back(goro::on_recv(u, [&](int v) { second = v; }));
    CHECK(goro::select(cases) == 0);
    CHECK(second == 0);
  });
}

// Values larger than a case's inline room (48 bytes) live on the heap: receive and send
// cases, with and without callbacks, through every path (settled inline with a default,
// ready at once, blocked, moved into a std::vector).
TEST_CASE("select with large values") {
  struct big {
    std::string s;
    std::array<char, 64> a{};
    int n = 0;
  };
  static_assert(sizeof(big) > 48);
  auto make = [](int n) {
    big b;
    b.s = "value " + std::to_string(n);
    b.a.fill(static_cast<char>('a' + n));
    b.n = n;
    return b;
  };
  auto c = goro::make_chan<big>(1);
  auto arrays = goro::make_chan<std::array<char, 64>>(1);

  CHECK(goro::select(goro::on_send(c, make(1)), goro::on_default()) == 0);
  CHECK(goro::select(goro::on_send(c, make(2)), goro::on_default()) == 1);  // full
  big got;
  CHECK(goro::select(goro::on_recv(c, [&](std::optional<big> v) { got = std::move(*v); }),
                     goro::on_default()) == 0);
  CHECK(got.s == "value 1");
  CHECK(got.a[63] == 'b');
  CHECK(got.n == 1);

  bool sent = false;
  CHECK(goro::select(goro::on_send(c, make(3), [&] { sent = true; }), goro::on_recv(arrays),
                     goro::on_recv(goro::chan<int>())) == 0);
  CHECK(sent);
  CHECK(goro::select(goro::on_recv(c, [&](big v) { got = std::move(v); }), goro::on_recv(arrays),
                     goro::on_recv(goro::chan<int>())) == 0);
  CHECK(got.s == "value 3");

  std::array<char, 64> arr{};
  arr.fill('x');
  CHECK(goro::select(goro::on_send(arrays, arr), goro::on_default()) == 0);
  std::vector<goro::select_case> cases;
  cases.push_back(goro::on_recv(c));
  cases.push_back(goro::on_recv(arrays));
  CHECK(goro::select(cases) == 1);
  auto a = cases[1].received<std::array<char, 64>>();
  REQUIRE(a.has_value());
  CHECK((*a)[0] == 'x');
  CHECK((*a)[63] == 'x');

  c.close();
  got.n = -1;
  CHECK(goro::select(goro::on_recv(c, [&](big v) { got = std::move(v); }), goro::on_default()) ==
        0);
  CHECK(got.n == 0);
  CHECK(got.s.empty());

  run_on(2, [make] {
    auto u = goro::make_chan<big>();
    goro::go([u, make] {
      goro::sleep(5ms);
      u.send(make(4));
      goro::select(goro::on_send(u, make(5)));
    });
    big v;
    goro::select(goro::on_recv(u, [&](big x) { v = std::move(x); }),
                 goro::on_recv(goro::after(10s)));
    CHECK(v.s == "value 4");
    std::vector<goro::select_case> cs;
    cs.push_back(goro::on_recv(u, [&](std::optional<big> x) { v = std::move(*x); }));
    cs.push_back(goro::on_recv(goro::after(10s)));
    CHECK(goro::select(cs) == 0);
    CHECK(v.n == 5);
  });
}

TEST_CASE("select blocks until a case can proceed, on receive and on send") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto a = goro::make_chan<int>();
      auto b = goro::make_chan<int>();
      goro::go([b] {
        goro::sleep(10ms);
        b.send(7);
      });
      int got = 0;
      const auto i =
          goro::select(goro::on_recv(a), goro::on_recv(b, [&](std::optional<int> v) { got = *v; }));
      GO_CHECK_MESSAGE(i == 1, "threads=" << n);
      CHECK(got == 7);

      // A blocked send case completes when a receiver comes.
      auto r = goro::make_chan<int>();
      goro::go([r] {
        goro::sleep(10ms);
        CHECK(*r.recv() == 8);
      });
      GO_CHECK_MESSAGE(goro::select(goro::on_recv(a), goro::on_send(r, 8)) == 1, "threads=" << n);

      // Many goroutines selecting over the same channels: each value goes to exactly one.
      auto x = goro::make_chan<int>();
      auto y = goro::make_chan<int>();
      auto results = goro::make_chan<int>(200);
      goro::wait_group wg;
      for (int k = 0; k < 100; ++k) {
        wg.go([x, y, results] {
          goro::select(goro::on_recv(x, [&](std::optional<int> v) { results.send(*v); }),
                       goro::on_recv(y, [&](std::optional<int> v) { results.send(*v); }));
        });
      }
      for (int k = 0; k < 50; ++k) {
        x.send(k);
        y.send(100 + k);
      }
      wg.wait();
      results.close();
      int sum = 0, count = 0;
      for (int v : results) {
        sum += v;
        ++count;
      }
      GO_CHECK_MESSAGE(count == 100, "threads=" << n);
      GO_CHECK_MESSAGE(sum == 2 * 1225 + 5000, "threads=" << n);
    });
  }
}

TEST_CASE("ready cases are chosen uniformly at random") {
  constexpr int kTrials = 6000;
  // Receive cases: three channels that always have a value; expectation 2000 each, standard
  // deviation about 37. The bounds are 8 deviations wide: loose, yet a bias toward the first
  // or last case (a select that scans in order) is far outside them.
  auto a = goro::make_chan<int>(1);
  auto b = goro::make_chan<int>(1);
  auto c = goro::make_chan<int>(1);
  a.send(0);
  b.send(1);
  c.send(2);
  std::array<int, 4> count{};
  for (int t = 0; t < kTrials; ++t) {
    int v = -1;
    auto put_back = [&](std::optional<int> x) { v = *x; };
    const auto i = goro::select(goro::on_recv(a, put_back), goro::on_recv(b, put_back),
                                goro::on_recv(c, put_back), goro::on_default());
    REQUIRE(i < 3);  // default never taken while a case is ready
    ++count[i];
    CHECK(v == static_cast<int>(i));
    (i == 0 ? a : i == 1 ? b : c).send(v);
  }
  GO_CHECK_MESSAGE(within(count[0], 2000, 300), count[0] << " " << count[1] << " " << count[2]);
  GO_CHECK_MESSAGE(within(count[1], 2000, 300), count[0] << " " << count[1] << " " << count[2]);
  GO_CHECK_MESSAGE(within(count[2], 2000, 300), count[0] << " " << count[1] << " " << count[2]);

  // Send cases: three buffered channels with room for everything.
  auto x = goro::make_chan<int>(kTrials);
  auto y = goro::make_chan<int>(kTrials);
  auto z = goro::make_chan<int>(kTrials);
  for (int t = 0; t < kTrials; ++t) {
    goro::select(goro::on_send(x, t), goro::on_send(y, t), goro::on_send(z, t));
  }
  CHECK(x.len() + y.len() + z.len() == static_cast<std::size_t>(kTrials));
  GO_CHECK_MESSAGE(within(int(x.len()), 2000, 300), x.len() << " " << y.len() << " " << z.len());
  GO_CHECK_MESSAGE(within(int(y.len()), 2000, 300), x.len() << " " << y.len() << " " << z.len());
  GO_CHECK_MESSAGE(within(int(z.len()), 2000, 300), x.len() << " " << y.len() << " " << z.len());

  // Through the dynamic form as well.
  std::array<int, 3> dyn{};
  for (int t = 0; t < kTrials; ++t) {
    std::vector<goro::select_case> cases;
    cases.push_back(goro::on_recv(a));
    cases.push_back(goro::on_recv(b));
    cases.push_back(goro::on_recv(c));
    const auto i = goro::select(cases);
    REQUIRE(i < 3);
    ++dyn[i];
    (i == 0 ? a : i == 1 ? b : c).send(*cases[i].received<int>());
  }
  GO_CHECK_MESSAGE(within(dyn[0], 2000, 300), dyn[0] << " " << dyn[1] << " " << dyn[2]);
  GO_CHECK_MESSAGE(within(dyn[1], 2000, 300), dyn[0] << " " << dyn[1] << " " << dyn[2]);
  GO_CHECK_MESSAGE(within(dyn[2], 2000, 300), dyn[0] << " " << dyn[1] << " " << dyn[2]);
}

TEST_CASE("with on_default select never blocks") {
  auto c = goro::make_chan<int>();
  goro::chan<int> nil;
  bool called = false;
  CHECK(goro::select(goro::on_recv(c), goro::on_send(c, 1), goro::on_default()) == 2);
  CHECK(goro::select(goro::on_default([&] { called = true; })) == 0);
  CHECK(called);
  // Default may stand anywhere; its index is where it stands.
  CHECK(goro::select(goro::on_default(), goro::on_recv(c)) == 0);
  CHECK(goro::select(goro::on_recv(nil), goro::on_default(), goro::on_send(nil, 1)) == 1);
  // A ready case always wins over default, wherever default stands.
  auto r = goro::make_chan<int>(1);
  for (int i = 0; i < 100; ++i) {
    r.send(i);
    CHECK(goro::select(goro::on_default(), goro::on_recv(r)) == 1);
  }
  // From a plain thread and inside the runtime alike.
  run_on(1, [] {
    auto d = goro::make_chan<int>();
    CHECK(goro::select(goro::on_recv(d), goro::on_default()) == 1);
    goro::go([d] { d.recv(); });
    // A blocked receiver makes the send case ready.
    CHECK(eventually([&] { return goro::select(goro::on_send(d, 1), goro::on_default()) == 0; }));
  });
}

TEST_CASE("cases on nil channels never fire") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::chan<int> nil;
      auto ready = goro::make_chan<int>(1);
      for (int i = 0; i < 200; ++i) {
        ready.send(i);
        CHECK(goro::select(goro::on_recv(nil), goro::on_send(nil, 1), goro::on_recv(ready)) == 2);
      }
      CHECK(goro::select(goro::on_recv(nil), goro::on_send(nil, 1), goro::on_default()) == 2);

      // Setting a handle to nullptr switches its case off (Go's TestSelectStress idiom).
      auto a = goro::make_chan<int>(100);
      auto b = goro::make_chan<int>(100);
      for (int i = 0; i < 100; ++i) {
        a.send(i);
        b.send(i);
      }
      goro::chan<int> ca = a, cb = b;
      int from_a = 0, from_b = 0;
      for (int i = 0; i < 200; ++i) {
        switch (goro::select(goro::on_recv(ca), goro::on_recv(cb))) {
          case 0:
            if (++from_a == 100) ca = nullptr;
            break;
          case 1:
            if (++from_b == 100) cb = nullptr;
            break;
        }
      }
      GO_CHECK_MESSAGE(from_a == 100, "threads=" << n);
      CHECK(from_b == 100);
    });
  }
}

TEST_CASE("a select with no cases, or only nil ones, blocks forever") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      std::atomic<int> finished{0};
      goro::chan<int> nil;
      goro::go([&finished] {
        goro::select();
        ++finished;
      });
      goro::go([&finished, nil] {
        goro::select(goro::on_recv(nil), goro::on_send(nil, 1));
        ++finished;
      });
      goro::go([&finished] {
        std::vector<goro::select_case> none;
        goro::select(std::span<goro::select_case>(none));
        ++finished;
      });
      goro::go([&finished, nil] {
        std::vector<goro::select_case> nils;
        nils.push_back(goro::on_recv(nil));
        nils.push_back(goro::on_send(nil, 2));
        goro::select(nils);
        ++finished;
      });
      goro::sleep(50ms * kSlow);
      GO_CHECK_MESSAGE(finished.load() == 0, "threads=" << n);
      CHECK(goro::num_goroutine() == 5);
    });
  }
}

TEST_CASE("the same channel may appear in several cases") {
  // Receive twice from one channel: one value is taken once, by either case.
  std::array<int, 2> which{};
  auto c = goro::make_chan<int>(1);
  for (int i = 0; i < 1000; ++i) {
    c.send(i);
    int got = -1;
    const auto k =
        goro::select(goro::on_recv(c, [&](std::optional<int> v) { got = *v; }),
                     goro::on_recv(c, [&](std::optional<int> v) { got = *v; }), goro::on_default());
    REQUIRE(k < 2);
    ++which[k];
    CHECK(got == i);
    CHECK(c.len() == 0);
  }
  CHECK(which[0] > 300);  // both cases get chosen: random choice among duplicates too
  CHECK(which[1] > 300);

  // Send twice to one channel: one value goes in, the one of the case returned.
  auto d = goro::make_chan<int>(1);
  for (int i = 0; i < 100; ++i) {
    const auto k = goro::select(goro::on_send(d, 1), goro::on_send(d, 2));
    CHECK(*d.recv() == static_cast<int>(k) + 1);
    CHECK(d.len() == 0);
  }

  // Send and receive on one buffered channel: whichever is possible happens.
  auto e = goro::make_chan<int>(1);
  CHECK(goro::select(goro::on_recv(e), goro::on_send(e, 5)) == 1);  // empty: only send
  CHECK(goro::select(goro::on_send(e, 6), goro::on_recv(e)) == 1);  // full: only receive
  CHECK(e.len() == 0);

  run_on(2, [] {
    // A select never meets itself: send and receive on one unbuffered channel, with nobody
    // else there, block (here until the timeout case).
    auto u = goro::make_chan<int>();
    CHECK(goro::select(goro::on_send(u, 1), goro::on_recv(u), goro::on_recv(goro::after(30ms))) ==
          2);
    // A blocked select with duplicate cases is woken once, and the channel stays sane.
    auto f = goro::make_chan<int>();
    auto got = goro::make_chan<int>(2);
    goro::go([f, got] {
      goro::select(goro::on_recv(f, [&](std::optional<int> v) { got.send(*v); }),
                   goro::on_recv(f, [&](std::optional<int> v) { got.send(*v); }));
    });
    goro::go([f, got] { got.send(*f.recv()); });
    settle();
    f.send(1);
    f.send(2);
    const int s = *got.recv() + *got.recv();
    CHECK(s == 3);
  });
}

TEST_CASE("a chosen send case on a closed channel throws panic_error") {
  auto closed = goro::make_chan<int>(1);
  closed.close();
  CHECK_THROWS_WITH_AS(goro::select(goro::on_send(closed, 1)), "send on closed channel",
                       goro::panic_error);
  // A closed channel's send case is ready, so it is chosen over default, as in Go.
  CHECK_THROWS_WITH_AS(goro::select(goro::on_send(closed, 1), goro::on_default()),
                       "send on closed channel", goro::panic_error);
  // Against another ready case, sometimes the one and sometimes the other is chosen.
  auto ready = goro::make_chan<int>(1);
  int threw = 0, received = 0;
  for (int i = 0; i < 200; ++i) {
    ready.send(i);
    try {
      if (goro::select(goro::on_send(closed, 1), goro::on_recv(ready)) == 1) ++received;
    } catch (const goro::panic_error& e) {
      CHECK(std::string(e.what()) == "send on closed channel");
      ++threw;
      ready.recv();
    }
  }
  CHECK(threw + received == 200);
  CHECK(threw > 20);
  CHECK(received > 20);
  // The dynamic form too.
  std::vector<goro::select_case> cases;
  cases.push_back(goro::on_send(closed, 3));
  CHECK_THROWS_WITH_AS(goro::select(cases), "send on closed channel", goro::panic_error);
  // A receive case on the closed channel is fine: it gets nullopt.
  bool got_nullopt = false;
  closed.recv();
  goro::select(goro::on_recv(closed, [&](std::optional<int> v) { got_nullopt = !v; }));
  CHECK(got_nullopt);
}

TEST_CASE("lvalue cases are accepted and keep the received value") {
  auto c = goro::make_chan<int>(1);
  c.send(42);
  auto rc = goro::on_recv(c);
  auto dc = goro::on_default();
  CHECK(goro::select(rc, dc) == 0);
  CHECK(rc.received<int>() == std::optional<int>(42));
  CHECK(rc.received<int>() == std::nullopt);  // taken out already

  auto sc = goro::on_send(c, 43);
  CHECK(goro::select(sc) == 0);
  CHECK(*c.recv() == 43);
}

TEST_CASE("a case kept beyond its handles keeps its channel alive") {
  // Moved into a vector: the case takes its own reference (run under ASan, a dangling
  // channel would be a use after free).
  std::vector<goro::select_case> cases;
  {
    auto c = goro::make_chan<std::string>(1);
    c.send(std::string(100, 'x'));
    cases.push_back(goro::on_recv(c));
  }
  cases.push_back(goro::on_default());
  CHECK(goro::select(std::span<goro::select_case>(cases)) == 0);
  CHECK(cases[0].received<std::string>() == std::string(100, 'x'));

  // Built from a temporary handle: the case owns it.
  auto from_temporary = goro::on_send(goro::make_chan<int>(1), 7);
  CHECK(goro::select(from_temporary, goro::on_default()) == 0);
  CHECK(goro::select(from_temporary, goro::on_default()) == 1);  // full now

  // Built from a moved handle: the case takes the reference over.
  auto c = goro::make_chan<int>(1);
  auto moved = goro::on_recv(std::move(c));
  CHECK(c == nullptr);
  CHECK(goro::select(moved, goro::on_default()) == 1);
}

TEST_CASE("dynamic select over a span, with select_case::received<T>()") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      constexpr int kN = 8;
      std::vector<goro::chan<int>> chans;
      for (int i = 0; i < kN; ++i) chans.push_back(goro::make_chan<int>());
      // Fan in kN channels with a dynamic select, like reflect.Select.
      for (int i = 0; i < kN; ++i) {
        goro::go([c = chans[i], i] {
          for (int k = 0; k < 20; ++k) c.send(i * 100 + k);
          c.close();
        });
      }
      std::vector<goro::chan<int>> live = chans;
      int open = kN, got = 0;
      long sum = 0;
      while (open > 0) {
        std::vector<goro::select_case> cases;
        for (auto& c : live) cases.push_back(goro::on_recv(c));
        const auto i = goro::select(cases);
        if (std::optional<int> v = cases[i].received<int>()) {
          CHECK(*v / 100 == static_cast<int>(i));  // came from the case's channel
          sum += *v;
          ++got;
        } else {
          live[i] = nullptr;  // closed: switch the case off
          --open;
        }
      }
      long expect = 0;
      for (int i = 0; i < kN; ++i)
        for (int k = 0; k < 20; ++k) expect += i * 100 + k;
      GO_CHECK_MESSAGE(got == kN * 20, "threads=" << n);
      GO_CHECK_MESSAGE(sum == expect, "threads=" << n);
    });
  }

  // Send cases, callbacks and default in the dynamic form.
  auto a = goro::make_chan<int>(1);
  auto b = goro::make_chan<std::string>(1);
  int cb = 0;
  {
    std::vector<goro::select_case> cases;
    cases.push_back(goro::on_recv(a, [&](std::optional<int> v) { cb = *v; }));
    cases.push_back(goro::on_send(b, "hi", [&] { cb = -1; }));
    cases.push_back(goro::on_default());
    CHECK(goro::select(cases) == 1);
    CHECK(cb == -1);
    CHECK(*b.recv() == "hi");
  }
  {
    a.send(5);
    std::vector<goro::select_case> cases;
    cases.push_back(goro::on_recv(a, [&](std::optional<int> v) { cb = *v; }));
    cases.push_back(goro::on_default());
    CHECK(goro::select(cases) == 0);
    CHECK(cb == 5);
  }
  {
    std::vector<goro::select_case> cases;
    cases.push_back(goro::on_recv(a));
    cases.push_back(goro::on_default([&] { cb = 99; }));
    CHECK(goro::select(std::span<goro::select_case>(cases)) == 1);
    CHECK(cb == 99);
  }
  {
    // A closed channel's case gives nullopt.
    auto closed = goro::make_chan<int>();
    closed.close();
    std::vector<goro::select_case> cases;
    cases.push_back(goro::on_recv(a));
    cases.push_back(goro::on_recv(closed));
    CHECK(goro::select(cases) == 1);
    CHECK(cases[1].received<int>() == std::nullopt);
  }
}

TEST_CASE("move-only values through select, both ways and in both forms") {
  using up = std::unique_ptr<int>;
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto u = goro::make_chan<up>();
      auto b = goro::make_chan<up>(2);
      goro::go([u] {
        for (int i = 0; i < 50; ++i) goro::select(goro::on_send(u, std::make_unique<int>(i)));
        std::vector<goro::select_case> cases;
        cases.push_back(goro::on_send(u, std::make_unique<int>(1000)));
        goro::select(cases);
      });
      int sum = 0;
      for (int i = 0; i < 50; ++i) {
        // (The parameter is an rvalue reference only because GCC 12 with -fsanitize gives a false
        // -Wmaybe-uninitialized for a by-value std::optional<std::unique_ptr>.)
        goro::select(goro::on_recv(u, [&](std::optional<up>&& p) {
          if (p) sum += **p;
        }));
      }
      std::vector<goro::select_case> cases;
      cases.push_back(goro::on_recv(u));
      cases.push_back(goro::on_recv(b));
      CHECK(goro::select(cases) == 0);
      std::optional<up> p = cases[0].received<up>();
      GO_CHECK_MESSAGE(p.has_value(), "threads=" << n);
      if (p) sum += **p;
      GO_CHECK_MESSAGE(sum == 1225 + 1000, "threads=" << n);

      // A send case that is not chosen keeps its value and destroys it with the case
      // (LeakSanitizer would see it leak); nothing arrives on that channel.
      b.send(std::make_unique<int>(7));
      b.send(std::make_unique<int>(8));  // full now
      auto ready = goro::make_chan<int>(1);
      ready.send(1);
      CHECK(goro::select(goro::on_send(b, std::make_unique<int>(9)), goro::on_recv(ready)) == 1);
      CHECK(**b.recv() == 7);
      CHECK(**b.recv() == 8);
      CHECK(b.len() == 0);
    });
  }
}

// A select that wakes through one case may leave its waiter on another channel queued, for
// its next select to reuse (select.cpp, "kept waiter"). Such a waiter belongs to a select
// that is over: a later send on that channel must reach a live receiver, and close must
// still wake everyone, whichever selects came before.
TEST_CASE("waiters left queued by earlier selects never take a value") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      constexpr int kG = 8, kRounds = 200;
      auto x = goro::make_chan<int>();
      auto d = goro::make_chan<int>();  // a done-like channel, later also used for data
      goro::wait_group selected;
      for (int i = 0; i < kG; ++i) {
        // Each goroutine selects on (x, d) until x has given it kRounds values: its waiter
        // on d stays queued between selects, and when it stops selecting.
        selected.go([x, d] {
          for (int r = 0; r < kRounds; ++r) {
            if (goro::select(goro::on_recv(x), goro::on_recv(d)) != 0) return;
          }
        });
      }
      for (int i = 0; i < kG * kRounds; ++i) x.send(i);
      selected.wait();
      // Every selecting goroutine is gone or done with d: a send on d now has no receiver
      // but this one, and must reach it.
      long sum = 0;
      goro::wait_group sent;
      for (int i = 1; i <= 100; ++i) sent.go([d, i] { d.send(i); });
      for (int i = 0; i < 100; ++i) {
        auto v = recv_for(d, 10s);
        GO_CHECK_MESSAGE(v.has_value(), "threads=" << n << " value " << i << " lost");
        if (!v) break;
        sum += **v;
      }
      sent.wait();
      GO_CHECK_MESSAGE(sum == 5050, "threads=" << n);
    });
  }
  // Goroutines parked in a select on (x, done) after many rounds through x: closing done
  // wakes each of them exactly once.
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      constexpr int kG = 16;
      auto x = goro::make_chan<int>();
      auto done = goro::make_chan<goro::unit>();
      std::atomic<int> stopped{0}, got{0};
      goro::wait_group wg;
      for (int i = 0; i < kG; ++i) {
        wg.go([&, x, done] {
          for (;;) {
            if (goro::select(goro::on_recv(x), goro::on_recv(done)) == 1) break;
            ++got;
          }
          ++stopped;
        });
      }
      for (int i = 0; i < kG * 50; ++i) x.send(i);
      done.close();
      wg.wait();
      GO_CHECK_MESSAGE(stopped.load() == kG, "threads=" << n);
      GO_CHECK_MESSAGE(got.load() == kG * 50, "threads=" << n);
    });
  }
}
