// docs/reference.md §2, channels: handles, directions, nil, close, panics, FIFO, len/cap,
// move-only T.
#include "test_util.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using namespace goro_test;

namespace {

// Lexical confinement is enforced by the type system: these say what compiles.
template <class C>
concept can_send = requires(const C& c) { c.send(std::declval<typename C::value_type>()); };
template <class C>
concept can_recv = requires(const C& c) { c.recv(); };
template <class C>
concept can_close = requires(const C& c) { c.close(); };
template <class C>
concept can_range = requires(const C& c) {
  c.begin();
  c.end();
};
template <class C>
concept has_len_cap = requires(const C& c) {
  { c.len() } -> std::same_as<std::size_t>;
  { c.cap() } -> std::same_as<std::size_t>;
};

using ci = goro::chan<int>;
using ri = goro::recv_chan<int>;
using si = goro::send_chan<int>;

// Every operation is a const member, so it works on a const handle (a by-value capture).
static_assert(can_send<ci> && can_recv<ci> && can_close<ci> && can_range<ci> && has_len_cap<ci>);
static_assert(can_recv<ri> && can_range<ri> && has_len_cap<ri>);
static_assert(!can_send<ri> && !can_close<ri>, "recv_chan has no send or close");
static_assert(can_send<si> && can_close<si> && has_len_cap<si>);
static_assert(!can_recv<si> && !can_range<si>, "send_chan has no recv or range");
// chan converts implicitly to both views; the views do not convert back or to each other.
static_assert(std::is_convertible_v<ci, ri> && std::is_convertible_v<ci, si>);
static_assert(std::is_convertible_v<const ci&, ri> && std::is_convertible_v<const ci&, si>);
static_assert(!std::is_convertible_v<ri, ci> && !std::is_convertible_v<si, ci>);
static_assert(!std::is_convertible_v<ri, si> && !std::is_convertible_v<si, ri>);
static_assert(!std::is_constructible_v<ri, si> && !std::is_constructible_v<si, ri>);
// Handles are cheap copyable values, and nullptr is the nil channel.
static_assert(std::is_nothrow_copy_constructible_v<ci> && std::is_nothrow_copy_assignable_v<ci>);
static_assert(std::is_convertible_v<std::nullptr_t, ci> &&
              std::is_convertible_v<std::nullptr_t, ri> &&
              std::is_convertible_v<std::nullptr_t, si>);
// recv returns std::optional<T>.
static_assert(std::is_same_v<decltype(std::declval<ci>().recv()), std::optional<int>>);
// Move-only element types are allowed.
static_assert(can_send<goro::chan<std::unique_ptr<int>>>);

// A producer that sees only the sending side, as in Go's lexical confinement.
void produce(goro::send_chan<int> out, int n) {
  for (int i = 0; i < n; ++i) out.send(i);
  out.close();
}
int consume(goro::recv_chan<int> in) {
  int sum = 0;
  for (int v : in) sum += v;
  return sum;
}

void check_panics(const std::function<void()>& f, const char* message) {
  try {
    f();
    FAIL_CHECK("expected goro::panic_error(\"" << message << "\")");
  } catch (const goro::panic_error& e) {
    CHECK(std::string(e.what()) == message);
  }
}

}  // namespace

TEST_CASE("handles: nil, copies, equality, views") {
  goro::chan<int> nil;
  CHECK(nil == nullptr);
  CHECK(!nil);
  CHECK_FALSE(static_cast<bool>(nil));
  CHECK(nil.len() == 0);
  CHECK(nil.cap() == 0);
  goro::chan<int> nil2 = nullptr;
  CHECK(nil == nil2);

  auto a = goro::make_chan<int>(3);
  auto b = goro::make_chan<int>(3);
  CHECK(a != nullptr);
  CHECK(static_cast<bool>(a));
  CHECK(a != b);
  CHECK(a != nil);
  goro::chan<int> copy = a;
  CHECK(copy == a);
  goro::chan<int> assigned;
  assigned = a;
  CHECK(assigned == a);
  goro::chan<int> moved = std::move(assigned);
  CHECK(moved == a);

  // Views of the same channel compare equal to it, have its len and cap, and share its
  // state: a value sent through one view is received through the other.
  goro::recv_chan<int> r = a;
  goro::send_chan<int> s = a;
  CHECK(r == a);
  CHECK(s == a);
  CHECK(r != nullptr);
  CHECK(s != nullptr);
  CHECK(r.cap() == 3);
  CHECK(s.cap() == 3);
  s.send(11);
  CHECK(a.len() == 1);
  CHECK(r.len() == 1);
  CHECK(s.len() == 1);
  CHECK(*r.recv() == 11);
  CHECK(r.len() == 0);

  goro::recv_chan<int> rnil;
  goro::send_chan<int> snil = nullptr;
  CHECK(rnil == nullptr);
  CHECK(!snil);
  CHECK(rnil.len() == 0);
  CHECK(snil.cap() == 0);

  // Setting a handle to nullptr leaves the channel alone for the other handles.
  copy = nullptr;
  CHECK(copy == nullptr);
  CHECK(a != nullptr);
  a.send(1);
  CHECK(*r.recv() == 1);
}

TEST_CASE("directional views through function parameters") {
  run_on(2, [] {
    auto c = goro::make_chan<int>();
    goro::go(produce, c, 100);  // chan converts to send_chan
    CHECK(consume(c) == 4950);  // and to recv_chan
  });
}

TEST_CASE("handles captured by value in a lambda work (operations are const)") {
  run_on(2, [] {
    const auto c = goro::make_chan<int>(1);
    auto done = goro::make_chan<goro::unit>();
    goro::go([c, done] {  // non-mutable lambda: the captures are const
      c.send(c.cap() == 1 ? 5 : -1);
      c.close();
      done.send({});
    });
    done.recv();
    CHECK(c.len() == 1);
    CHECK(*c.recv() == 5);
    CHECK(c.recv() == std::nullopt);
  });
}

TEST_CASE("send and on_send convert their argument as Go's assignability does") {
  struct base {
    virtual ~base() = default;
    virtual int id() const { return 1; }
  };
  struct derived : base {
    int id() const override { return 2; }
  };
  auto longs = goro::make_chan<long>(1);
  longs.send(7);  // an int literal
  CHECK(*longs.recv() == 7L);
  auto strings = goro::make_chan<std::string>(1);
  strings.send("text");  // a const char*
  CHECK(*strings.recv() == "text");
  auto bases = goro::make_chan<std::unique_ptr<base>>(1);
  bases.send(std::make_unique<derived>());  // a derived pointer
  CHECK((*bases.recv())->id() == 2);
  derived d;
  auto raw = goro::make_chan<base*>(1);
  raw.send(&d);
  CHECK((*raw.recv())->id() == 2);
  CHECK(goro::select(goro::on_send(longs, 8)) == 0);
  CHECK(goro::select(goro::on_send(strings, "more")) == 0);
  CHECK(goro::select(goro::on_send(bases, std::make_unique<derived>())) == 0);
  CHECK(*longs.recv() == 8L);
  CHECK(*strings.recv() == "more");
  CHECK((*bases.recv())->id() == 2);
}

TEST_CASE("unbuffered: the value is handed over only when sender and receiver meet") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto c = goro::make_chan<int>();
      CHECK(c.cap() == 0);
      // Sender first: it stays blocked until a receiver comes.
      std::atomic<bool> sent{false};
      goro::go([c, &sent] {
        c.send(1);
        sent = true;
      });
      settle();
      GO_CHECK_MESSAGE(!sent.load(), "threads=" << n);
      CHECK(c.len() == 0);  // an unbuffered channel never holds a value
      CHECK(*c.recv() == 1);
      CHECK(eventually([&] { return sent.load(); }));

      // Receiver first: it stays blocked until a sender comes.
      std::atomic<int> received{0};
      goro::go([c, &received] { received = *c.recv(); });
      settle();
      GO_CHECK_MESSAGE(received.load() == 0, "threads=" << n);
      c.send(2);
      CHECK(eventually([&] { return received.load() == 2; }));

      // A non-blocking send with nobody receiving does not happen.
      CHECK(goro::select(goro::on_send(c, 3), goro::on_default()) == 1);
    });
  }
}

TEST_CASE("buffered: holds up to cap values in FIFO order, then blocks") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto c = goro::make_chan<int>(5);
      CHECK(c.cap() == 5);
      CHECK(c.len() == 0);
      for (int i = 0; i < 5; ++i) {
        c.send(i);  // does not block: main is the only goroutine
        CHECK(c.len() == static_cast<std::size_t>(i + 1));
      }
      CHECK(c.cap() == 5);
      CHECK(goro::select(goro::on_send(c, 99), goro::on_default()) == 1);  // full

      // A sender blocked on the full buffer...
      std::atomic<bool> sent{false};
      goro::go([c, &sent] {
        c.send(5);
        sent = true;
      });
      settle();
      GO_CHECK_MESSAGE(!sent.load(), "threads=" << n);
      CHECK(c.len() == 5);
      // ...completes once there is room, and its value queues behind the buffered ones.
      CHECK(*c.recv() == 0);
      CHECK(eventually([&] { return sent.load(); }));
      for (int i = 1; i <= 5; ++i) CHECK(*c.recv() == i);
      CHECK(c.len() == 0);

      // Senders blocked on a full buffer are served in the order they blocked.
      auto d = goro::make_chan<int>(2);
      d.send(0);
      d.send(1);
      goro::go([d] { d.send(2); });
      GO_CHECK_MESSAGE(wait_parked(1), "threads=" << n);
      goro::go([d] { d.send(3); });
      GO_CHECK_MESSAGE(wait_parked(2), "threads=" << n);
      for (int i = 0; i < 4; ++i) GO_CHECK_MESSAGE(*d.recv() == i, "threads=" << n);

      // FIFO under concurrency: one sender, one receiver, through a small buffer.
      auto e = goro::make_chan<int>(7);
      goro::go([e] {
        for (int i = 0; i < 10000; ++i) e.send(i);
        e.close();
      });
      int expect = 0;
      bool in_order = true;
      for (int v : e) in_order = in_order && v == expect++;
      GO_CHECK_MESSAGE(in_order, "threads=" << n);
      CHECK(expect == 10000);
    });
  }
}

TEST_CASE("sending on or receiving from a nil channel blocks forever") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      goro::chan<int> nil;
      goro::recv_chan<int> rnil;
      goro::send_chan<int> snil;
      std::atomic<int> finished{0};
      goro::go([nil, &finished] {
        nil.recv();
        ++finished;
      });
      goro::go([nil, &finished] {
        nil.send(1);
        ++finished;
      });
      goro::go([rnil, &finished] {
        rnil.recv();
        ++finished;
      });
      goro::go([snil, &finished] {
        snil.send(1);
        ++finished;
      });
      goro::go([nil, &finished] {
        for (int v : nil) (void)v;
        ++finished;
      });
      // A select with a timeout sees that nothing ever comes.
      CHECK(goro::select(goro::on_recv(nil), goro::on_recv(goro::after(50ms))) == 1);
      CHECK(goro::select(goro::on_send(nil, 1), goro::on_recv(goro::after(50ms))) == 1);
      CHECK_FALSE(recv_for(rnil, 50ms).has_value());
      settle();
      GO_CHECK_MESSAGE(finished.load() == 0, "threads=" << n);
      CHECK(goro::num_goroutine() == 6);  // they are still there, blocked (a leak Go shows)
      // They stay blocked until run returns.
    });
  }
}

TEST_CASE("panics with Go's messages") {
  auto c = goro::make_chan<int>(1);
  c.close();
  check_panics([&] { c.send(1); }, "send on closed channel");
  check_panics([&] { c.close(); }, "close of closed channel");
  goro::chan<int> nil;
  check_panics([&] { nil.close(); }, "close of nil channel");
  goro::send_chan<int> snil;
  check_panics([&] { snil.close(); }, "close of nil channel");
  goro::send_chan<int> sc = goro::make_chan<int>();
  sc.close();
  check_panics([&] { sc.send(1); }, "send on closed channel");
  check_panics([&] { sc.close(); }, "close of closed channel");

  // panic_error is a std::logic_error.
  static_assert(std::is_base_of_v<std::logic_error, goro::panic_error>);
  CHECK_THROWS_AS(c.send(2), std::logic_error);

  // The same inside goroutines, where it can be caught like any exception.
  run_on(2, [] {
    auto d = goro::make_chan<std::string>();
    d.close();
    check_panics([&] { d.send("x"); }, "send on closed channel");
    check_panics([&] { d.close(); }, "close of closed channel");
    check_panics([] { goro::chan<std::string>().close(); }, "close of nil channel");
    // A panic from a send leaves the value's owner in a usable state and the channel too.
    CHECK(d.recv() == std::nullopt);
  });
}

TEST_CASE("receiving from a closed channel drains the buffer, then gives nullopt") {
  auto c = goro::make_chan<int>(3);
  c.send(1);
  c.send(2);
  c.close();
  CHECK(c.len() == 2);  // closing keeps the buffered values
  CHECK(c.recv() == std::optional<int>(1));
  CHECK(c.recv() == std::optional<int>(2));
  CHECK(c.recv() == std::nullopt);
  CHECK(c.recv() == std::nullopt);  // forever after, without blocking
  CHECK(c.len() == 0);
  CHECK(c.cap() == 3);

  auto u = goro::make_chan<int>();
  u.close();
  CHECK(u.recv() == std::nullopt);
  int count = 0;
  for (int v : u) count += v + 1;
  CHECK(count == 0);
}

TEST_CASE("close wakes every blocked receiver") {
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {0u, 4u}) {
      run_on(n, [n, cap] {
        auto c = goro::make_chan<int>(cap);
        constexpr int kR = 30;
        std::atomic<int> closed_seen{0};
        goro::wait_group wg;
        for (int i = 0; i < kR; ++i) {
          wg.go([c, &closed_seen] {
            if (!c.recv()) ++closed_seen;
          });
        }
        // Receivers blocked in select and in range-for are woken too.
        for (int i = 0; i < kR; ++i) {
          wg.go([c, &closed_seen] {
            goro::select(goro::on_recv(c, [&](std::optional<int> v) {
              if (!v) ++closed_seen;
            }));
          });
          wg.go([c, &closed_seen] {
            for (int v : c) (void)v;
            ++closed_seen;
          });
        }
        settle();
        c.close();
        wg.wait();
        GO_CHECK_MESSAGE(closed_seen.load() == 3 * kR, "threads=" << n << " cap=" << cap);
      });
    }
  }
}

TEST_CASE("receivers of a closed buffered channel get the buffered values first") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      auto c = goro::make_chan<int>(10);
      for (int i = 1; i <= 10; ++i) c.send(i);
      c.close();
      std::atomic<int> sum{0}, nullopts{0};
      goro::wait_group wg;
      for (int i = 0; i < 20; ++i) {
        wg.go([&, c] {
          if (auto v = c.recv()) {
            sum += *v;
          } else {
            ++nullopts;
          }
        });
      }
      wg.wait();
      GO_CHECK_MESSAGE(sum.load() == 55, "threads=" << n);
      GO_CHECK_MESSAGE(nullopts.load() == 10, "threads=" << n);
    });
  }
}

TEST_CASE("close makes every blocked sender throw") {
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {0u, 3u}) {
      run_on(n, [n, cap] {
        auto c = goro::make_chan<int>(cap);
        for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
        constexpr int kS = 30;
        std::atomic<int> panicked{0}, wrong{0};
        goro::wait_group wg;
        for (int i = 0; i < kS; ++i) {
          wg.go([c, &panicked, &wrong] {
            try {
              c.send(100);
              ++wrong;  // no receiver ever takes it
            } catch (const goro::panic_error& e) {
              if (std::string(e.what()) == "send on closed channel") ++panicked;
            }
          });
          // A sender blocked in select throws too.
          wg.go([c, &panicked, &wrong] {
            try {
              goro::select(goro::on_send(c, 200));
              ++wrong;
            } catch (const goro::panic_error& e) {
              if (std::string(e.what()) == "send on closed channel") ++panicked;
            }
          });
        }
        settle();
        c.close();
        wg.wait();
        GO_CHECK_MESSAGE(panicked.load() == 2 * kS, "threads=" << n << " cap=" << cap);
        CHECK(wrong.load() == 0);
        // The values buffered before close are still delivered; none of the failed sends'.
        for (std::size_t i = 0; i < cap; ++i) CHECK(c.recv() == std::optional<int>(int(i)));
        CHECK(c.recv() == std::nullopt);
      });
    }
  }
}

TEST_CASE("range-for receives until the channel is closed and drained") {
  run_on(2, [] {
    auto c = goro::make_chan<int>(3);
    goro::go([c] {
      for (int i = 0; i < 50; ++i) c.send(i);
      c.close();
    });
    std::vector<int> got;
    for (int v : c) got.push_back(v);
    CHECK(got.size() == 50);
    for (int i = 0; i < 50 && i < static_cast<int>(got.size()); ++i) CHECK(got[i] == i);
    // Through a recv_chan too.
    auto d = goro::make_chan<int>();
    goro::go([d] {
      d.send(1);
      d.send(2);
      d.close();
    });
    goro::recv_chan<int> rd = d;
    int sum = 0;
    for (int v : rd) sum += v;
    CHECK(sum == 3);
  });
}

TEST_CASE("move-only values through unbuffered, buffered channels and range-for") {
  for (unsigned n : kThreadCounts) {
    run_on(n, [n] {
      using up = std::unique_ptr<int>;
      auto u = goro::make_chan<up>();
      goro::go([u] {
        for (int i = 0; i < 100; ++i) u.send(std::make_unique<int>(i));
        u.close();
      });
      int sum = 0;
      for (up p : u) sum += *p;  // moves each value out
      GO_CHECK_MESSAGE(sum == 4950, "threads=" << n);

      auto b = goro::make_chan<up>(8);
      goro::go([b] {
        for (int i = 0; i < 100; ++i) b.send(std::make_unique<int>(i));
        b.close();
      });
      sum = 0;
      while (std::optional<up> p = b.recv()) sum += **p;
      GO_CHECK_MESSAGE(sum == 4950, "threads=" << n);

      // Values left in a channel when the last handle goes are destroyed (LeakSanitizer
      // checks this in the sanitizer build).
      {
        auto left = goro::make_chan<up>(4);
        left.send(std::make_unique<int>(1));
        left.send(std::make_unique<int>(2));
      }
    });
  }
}

TEST_CASE("values are moved, never copied, on the way") {
  run_on(2, [] {
    tracked::reset();
    auto u = goro::make_chan<tracked>();
    auto b = goro::make_chan<tracked>(4);
    goro::go([u, b] {
      for (int i = 0; i < 10; ++i) u.send(tracked(i));
      u.close();
      for (int i = 0; i < 10; ++i) b.send(tracked(i));
      b.close();
    });
    int sum = 0;
    while (auto t = u.recv()) sum += t->v;
    for (tracked t : b) sum += t.v;
    // Through select, both ways.
    auto s = goro::make_chan<tracked>(1);
    goro::select(goro::on_send(s, tracked(5)));
    goro::select(goro::on_recv(s, [&](std::optional<tracked> t) { sum += t->v; }));
    CHECK(sum == 95);
    CHECK(tracked::copies.load() == 0);
  });
}

TEST_CASE("chan<unit> is chan struct{}") {
  run_on(2, [] {
    auto done = goro::make_chan<goro::unit>();
    goro::go([done] { done.send(goro::unit{}); });
    CHECK(done.recv() == std::optional<goro::unit>(goro::unit{}));
    auto sig = goro::make_chan<goro::unit>(2);
    sig.send({});
    sig.send({});
    CHECK(sig.len() == 2);
    sig.close();
    int n = 0;
    for (goro::unit u : sig) n += (u == goro::unit{}) ? 1 : 0;
    CHECK(n == 2);
  });
}

TEST_CASE("len and cap") {
  for (std::size_t cap : {0u, 1u, 7u, 100u}) {
    auto c = goro::make_chan<int>(cap);
    CHECK(c.len() == 0);
    CHECK(c.cap() == cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(int(i));
    CHECK(c.len() == cap);
    CHECK(c.cap() == cap);
    goro::recv_chan<int> r = c;
    goro::send_chan<int> s = c;
    CHECK(r.len() == cap);
    CHECK(s.len() == cap);
    CHECK(r.cap() == cap);
    CHECK(s.cap() == cap);
    if (cap > 0) {
      c.recv();
      CHECK(c.len() == cap - 1);
    }
  }
}

TEST_CASE("a channel outlives the handles that made it, as long as one remains") {
  run_on(2, [] {
    goro::recv_chan<int> r;
    {
      auto c = goro::make_chan<int>(1);
      r = c;
      goro::go([s = goro::send_chan<int>(c)] {
        s.send(3);
        s.close();
      });
    }  // main's chan handle is gone; the goroutine's and r remain
    CHECK(r.recv() == std::optional<int>(3));
    CHECK(r.recv() == std::nullopt);
  });
}
