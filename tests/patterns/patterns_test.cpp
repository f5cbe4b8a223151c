// The Go concurrency patterns (docs/reference.md §7): each pattern's rules, and the common ones:
// done first, output closed and goroutines ended when done closes or the input ends (even
// if nobody reads), nothing lost or duplicated, chan<T> accepted for recv_chan<T>.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "support.hpp"

using goro::unit;

namespace {

// A channel that is never closed and never sent on: an input that "does not end".
template <class T>
goro::chan<T> forever() {
  return goro::make_chan<T>();
}

std::vector<int> iota_vec(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

TEST_CASE("produce: lexical confinement, closed when f returns") {
  test::run([] {
    goro::recv_chan<int> results = goro::produce<int>(5, [](goro::send_chan<int> out) {
      for (int i = 0; i <= 5; ++i) out.send(i);
    });
    CHECK(results.cap() == 5);
    CHECK(test::drain(results) == std::vector<int>{0, 1, 2, 3, 4, 5});
    // f may close the channel itself; a mutable lambda keeps its state.
    auto own = goro::produce<int>(0, [n = 0](goro::send_chan<int> out) mutable {
      out.send(++n);
      out.send(++n);
      out.close();
    });
    CHECK(test::drain(own) == std::vector<int>{1, 2});
    // Move-only values.
    auto ptrs = goro::produce<std::unique_ptr<int>>(
        1, [](goro::send_chan<std::unique_ptr<int>> out) { out.send(std::make_unique<int>(42)); });
    auto p = ptrs.recv();
    REQUIRE(p);
    CHECK(**p == 42);
    CHECK(!ptrs.recv());
  });
}

TEST_CASE("or_channel: closes when any input closes, with one goroutine") {
  test::run([] {
    CHECK(goro::or_channel() == nullptr);  // no argument: a nil channel
    CHECK(goro::or_channel(std::vector<goro::done_chan>{}) == nullptr);
    CHECK(goro::or_channel(goro::done_chan(), goro::done_chan()) == nullptr);
    auto a = goro::make_chan<unit>();
    CHECK(goro::or_channel(a) == goro::done_chan(a));  // one input: itself

    std::size_t base = goro::num_goroutine();
    std::vector<goro::chan<unit>> chans;
    for (int i = 0; i < 10; ++i) chans.push_back(goro::make_chan<unit>());
    goro::done_chan any = goro::or_channel(chans);
    CHECK(goro::num_goroutine() == base + 1);  // one goroutine, not a tree
    CHECK(!test::fired(any));
    chans[7].close();
    CHECK(test::fires_within(any, 5s));
    CHECK(test::back_to(base));

    // Variadic, with a nil input among them; Go's sig(after) example.
    auto start = goro::clock::now();
    goro::or_channel(test::closes_after(2h), test::closes_after(5min), goro::done_chan(),
                     test::closes_after(30ms), test::closes_after(1h))
        .recv();
    auto took = goro::clock::now() - start;
    CHECK(took >= 30ms);
    CHECK(took < 2s);
  });
}

TEST_CASE("or_done: the input's values until it ends or done closes") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto in = goro::make_chan<int>();  // a chan<int> where recv_chan<int> is expected
    goro::go([in] {
      for (int i = 0; i < 5; ++i) in.send(i);
      in.close();
    });
    CHECK(test::drain(goro::or_done(done, in)) == std::vector<int>{0, 1, 2, 3, 4});

    // An input that never ends: done ends the range.
    auto out = goro::or_done(done, forever<int>());
    goro::after_func(10ms, [done] { done.close(); });
    CHECK(test::drain(out).empty());

    // A nil done never fires.
    auto in2 = goro::generator(goro::done_chan(), 1, 2, 3);
    CHECK(test::drain(goro::or_done(goro::done_chan(), in2)) == std::vector<int>{1, 2, 3});
  });
}

TEST_CASE("tee: both outputs see every value, in order") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto [out1, out2] = goro::tee(done, goro::take(done, goro::repeat(done, 1, 2), 4));
    std::vector<std::pair<int, int>> seen;
    for (int v1 : out1) seen.emplace_back(v1, *out2.recv());
    CHECK(seen == std::vector<std::pair<int, int>>{{1, 1}, {2, 2}, {1, 1}, {2, 2}});
    CHECK(!out2.recv());

    // Readers in the other order, and strings.
    auto [a, b] = goro::tee(done, goro::generator(done, std::string("x"), std::string("y")));
    CHECK(*b.recv() == "x");
    CHECK(*a.recv() == "x");
    CHECK(*a.recv() == "y");
    CHECK(*b.recv() == "y");
    CHECK(!a.recv());
    CHECK(!b.recv());

    // Two readers in parallel get everything.
    auto [c, d] = goro::tee(done, goro::generator(done, iota_vec(200)));
    auto got = goro::make_chan<std::vector<int>>(1);
    goro::go([d = d, got] { got.send(test::drain(d)); });
    CHECK(test::drain(c) == iota_vec(200));
    CHECK(*got.recv() == iota_vec(200));
    done.close();
  });
}

TEST_CASE("bridge: a channel of channels as one stream") {
  test::run([] {
    auto gen_vals = [] {
      auto chan_stream = goro::make_chan<goro::recv_chan<int>>();
      goro::go([chan_stream] {
        for (int i = 0; i < 10; ++i) {
          auto stream = goro::make_chan<int>(1);
          stream.send(i);
          stream.close();
          chan_stream.send(stream);
        }
        chan_stream.close();
      });
      return chan_stream;
    };
    // A nil done, as in the Go example.
    CHECK(test::drain(goro::bridge(goro::done_chan(), gen_vals())) == iota_vec(10));

    // Inner channels of type chan<T>, several values each.
    auto streams = goro::make_chan<goro::chan<int>>(3);
    for (int s = 0; s < 3; ++s) {
      auto c = goro::make_chan<int>(3);
      for (int k = 0; k < 3; ++k) c.send(s * 3 + k);
      c.close();
      streams.send(c);
    }
    streams.close();
    CHECK(test::drain(goro::bridge(goro::done_chan(), streams)) == iota_vec(9));

    // done closes while an inner stream never ends.
    auto done = goro::make_chan<unit>();
    auto stuck = goro::make_chan<goro::recv_chan<int>>(1);
    stuck.send(forever<int>());
    auto out = goro::bridge(done, stuck);
    done.close();
    CHECK(test::drain(out).empty());
  });
}

TEST_CASE("fan_in: every value of every input exactly once") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    std::vector<goro::recv_chan<int>> ins;
    for (int k = 0; k < 5; ++k) {
      std::vector<int> vals;
      for (int i = 0; i < 100; ++i) vals.push_back(k * 1000 + i);
      ins.push_back(goro::generator(done, vals));
    }
    std::vector<int> got = test::drain(goro::fan_in(done, ins));
    CHECK(got.size() == 500);
    // Each input's values keep their order.
    for (int k = 0; k < 5; ++k) {
      std::vector<int> mine;
      for (int v : got) {
        if (v / 1000 == k) mine.push_back(v % 1000);
      }
      CHECK(mine == iota_vec(100));
    }
    // No input: closed at once. Variadic, with chan<T> inputs.
    CHECK(test::drain(goro::fan_in(done, std::vector<goro::recv_chan<int>>{})).empty());
    auto a = goro::make_chan<int>(1), b = goro::make_chan<int>(1);
    a.send(1);
    b.send(2);
    a.close();
    b.close();
    std::vector<int> two = test::drain(goro::fan_in(done, a, b));
    std::sort(two.begin(), two.end());
    CHECK(two == std::vector<int>{1, 2});
    // A vector of chan<T>.
    auto c = goro::make_chan<int>(1);
    c.send(3);
    c.close();
    CHECK(test::drain(goro::fan_in(done, std::vector<goro::chan<int>>{c})) == std::vector<int>{3});
    done.close();
  });
}

TEST_CASE("fan_out: n copies of a stage share one input") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    // Each worker has its own copy of a mutable lambda.
    auto workers =
        goro::fan_out(done, goro::generator(done, iota_vec(1000)), 4, [calls = 0](int v) mutable {
          ++calls;
          return std::pair<int, int>(v * 2, calls);
        });
    CHECK(workers.size() == 4);
    std::vector<int> got;
    int total_calls = 0;
    for (auto& w : workers) {
      int last = 0;
      for (auto [v, calls] : w) {  // sequentially: workers block until read, fine
        got.push_back(v);
        last = calls;
      }
      total_calls += last;
    }
    (void)total_calls;
    std::sort(got.begin(), got.end());
    std::vector<int> want;
    for (int i = 0; i < 1000; ++i) want.push_back(2 * i);
    CHECK(got == want);
    CHECK(goro::fan_out(done, forever<int>(), 0, [](int v) { return v; }).empty());
    done.close();
  });
}

TEST_CASE("fan_out + fan_in: results of all workers, each once") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto outs = goro::fan_out(done, goro::generator(done, iota_vec(500)), 3,
                              [](int v) { return std::to_string(v); });
    std::vector<std::string> got = test::drain(goro::fan_in(done, outs));
    std::vector<int> nums;
    for (auto& s : got) nums.push_back(std::stoi(s));
    std::sort(nums.begin(), nums.end());
    CHECK(nums == iota_vec(500));
    done.close();
  });
}

TEST_CASE("generator, repeat, repeat_fn, take") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    CHECK(test::drain(goro::generator(done, 1, 2, 3, 4)) == std::vector<int>{1, 2, 3, 4});
    CHECK(test::drain(goro::generator(done, {5, 6})) == std::vector<int>{5, 6});
    CHECK(test::drain(goro::generator(done, std::vector<int>{})).empty());
    // Move-only values go through generator.
    std::vector<std::unique_ptr<int>> ptrs;
    ptrs.push_back(std::make_unique<int>(9));
    auto moved = goro::generator(done, std::move(ptrs));
    CHECK(**moved.recv() == 9);
    CHECK(!moved.recv());

    CHECK(test::drain(goro::take(done, goro::repeat(done, 1), 10)) == std::vector<int>(10, 1));
    CHECK(test::drain(goro::take(done, goro::repeat(done, {1, 2}), 5)) ==
          std::vector<int>{1, 2, 1, 2, 1});
    std::string message;
    for (const char* token : goro::take(done, goro::repeat(done, "I", "am."), 5)) message += token;
    CHECK(message == "Iam.Iam.I");
    CHECK(test::drain(goro::repeat(done, std::vector<int>{})).empty());  // nothing to repeat

    auto counter = goro::repeat_fn(done, [n = 0]() mutable { return n++; });
    CHECK(test::drain(goro::take(done, counter, 5)) == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(*counter.recv() >= 5);  // the generator goes on until done

    CHECK(test::drain(goro::take(done, goro::repeat(done, 1), 0)).empty());
    // The input ends before n: take ends with it.
    CHECK(test::drain(goro::take(done, goro::generator(done, 1, 2), 10)) == std::vector<int>{1, 2});
    done.close();
  });
}

TEST_CASE("stage: a pipeline of stages (generator, multiply, add)") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto int_stream = goro::generator(done, 1, 2, 3, 4);
    auto multiply = [](int m) { return [m](int v) { return v * m; }; };
    auto add = [](int a) { return [a](int v) { return v + a; }; };
    auto pipeline = goro::stage(
        done, goro::stage(done, goro::stage(done, int_stream, multiply(2)), add(1)), multiply(2));
    CHECK(test::drain(pipeline) == std::vector<int>{6, 10, 14, 18});
    // Changing the type, and a mutable lambda.
    auto strings = goro::stage(done, goro::generator(done, 1, 2, 3),
                               [sum = 0](int v) mutable { return std::to_string(sum += v); });
    CHECK(test::drain(strings) == std::vector<std::string>{"1", "3", "6"});
    // A chan<T> input.
    auto c = goro::make_chan<int>(2);
    c.send(20);
    c.send(21);
    c.close();
    CHECK(test::drain(goro::stage(done, c, [](int v) { return v * 2.0; })) ==
          std::vector<double>{40.0, 42.0});
    done.close();
  });
}

TEST_CASE("buffer: a queue of n between stages") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto q = goro::buffer(done, goro::generator(done, iota_vec(100)), 8);
    CHECK(q.cap() == 8);
    // The producer runs ahead: the queue fills up with nobody reading.
    auto deadline = goro::clock::now() + 2s;
    while (q.len() < 8 && goro::clock::now() < deadline) goro::sleep(1ms);
    CHECK(q.len() == 8);
    CHECK(test::drain(q) == iota_vec(100));
    done.close();
  });
}

TEST_CASE("result: a value or an exception") {
  goro::result<int> ok{5};
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK(ok.value() == 5);
  CHECK(*ok == 5);
  CHECK(!ok.error());
  goro::result<int> bad{std::make_exception_ptr(std::runtime_error("boom"))};
  CHECK(!bad.has_value());
  CHECK(bad.error() != nullptr);
  CHECK_THROWS_WITH_AS(bad.value(), "boom", std::runtime_error);
  CHECK(bad.value_or(7) == 7);
  CHECK(goro::error_message(bad.error()) == "boom");
  CHECK(goro::error_message(nullptr).empty());
  goro::result<std::string> s = "text";
  CHECK(s->size() == 4);
  auto r = goro::try_invoke([](int x) { return x * 2; }, 21);
  CHECK(r.value() == 42);
  auto e = goro::try_invoke([]() -> int { throw std::invalid_argument("bad arg"); });
  CHECK(goro::error_message(e.error()) == "bad arg");
  goro::result<void> v = goro::try_invoke([] {});
  CHECK(v.has_value());
  goro::result<void> ve = goro::try_invoke([] { throw std::runtime_error("void boom"); });
  CHECK_THROWS_WITH(ve.value(), "void boom");
  goro::result<std::unique_ptr<int>> mo{std::make_unique<int>(3)};
  CHECK(*std::move(mo).value() == 3);
  static_assert(std::is_nothrow_move_constructible_v<goro::result<std::string>>);
  // Through a channel, as in Go's checkStatus.
  test::run([] {
    auto results = goro::make_chan<goro::result<int>>(2);
    results.send(goro::result<int>(1));
    results.send(goro::result<int>(std::make_exception_ptr(std::runtime_error("x"))));
    results.close();
    int errors = 0;
    for (goro::result<int> res : results) errors += !res.has_value();
    CHECK(errors == 1);
  });
}

// After done closes, every pattern's goroutines end within a second, even with nobody
// reading its output, and its output is closed.
TEST_CASE("every pattern stops when done closes, even if nobody reads") {
  // Each maker starts a pattern, on inputs that never end, and drops its outputs.
  using maker = std::function<void(goro::done_chan)>;
  std::map<std::string, maker> patterns = {
      {"or_done", [](goro::done_chan d) { (void)goro::or_done(d, goro::repeat(d, 1)); }},
      {"or_done (input never ready)",
       [](goro::done_chan d) { (void)goro::or_done(d, forever<int>()); }},
      {"tee", [](goro::done_chan d) { (void)goro::tee(d, goro::repeat(d, 1)); }},
      {"tee (one reader)",
       [](goro::done_chan d) {
         auto [a, b] = goro::tee(d, goro::repeat(d, 1));
         (void)a.recv();  // the other output is never read
         (void)b;
       }},
      {"bridge",
       [](goro::done_chan d) {
         (void)goro::bridge(d, goro::repeat(d, goro::recv_chan<int>(goro::repeat(d, 1))));
       }},
      {"bridge (streams never ready)",
       [](goro::done_chan d) { (void)goro::bridge(d, forever<goro::recv_chan<int>>()); }},
      {"fan_in",
       [](goro::done_chan d) {
         (void)goro::fan_in(d, goro::repeat(d, 1), goro::repeat(d, 2), forever<int>());
       }},
      {"fan_out",
       [](goro::done_chan d) {
         (void)goro::fan_out(d, goro::repeat(d, 1), 3, [](int v) { return v; });
       }},
      {"generator", [](goro::done_chan d) { (void)goro::generator(d, iota_vec(10)); }},
      {"repeat", [](goro::done_chan d) { (void)goro::repeat(d, 1, 2, 3); }},
      {"repeat_fn", [](goro::done_chan d) { (void)goro::repeat_fn(d, [] { return 1; }); }},
      {"take", [](goro::done_chan d) { (void)goro::take(d, goro::repeat(d, 1), 100); }},
      {"take (input never ready)",
       [](goro::done_chan d) { (void)goro::take(d, forever<int>(), 100); }},
      {"stage",
       [](goro::done_chan d) {
         (void)goro::stage(d, goro::repeat(d, 1), [](int v) { return v; });
       }},
      {"buffer", [](goro::done_chan d) { (void)goro::buffer(d, goro::repeat(d, 1), 4); }},
      {"produce with a done-aware f",
       [](goro::done_chan d) {
         (void)goro::produce<int>(0, [d](goro::send_chan<int> out) {
           while (goro::select(goro::on_send(out, 1), goro::on_recv(d)) == 0) {
           }
         });
       }},
      {"or_channel",
       [](goro::done_chan d) { (void)goro::or_channel(d, forever<unit>(), forever<unit>()); }},
      {"a whole pipeline",
       [](goro::done_chan d) {
         auto p = goro::take(d,
                             goro::fan_in(d, goro::fan_out(d, goro::repeat_fn(d, [] { return 3; }),
                                                           2, [](int v) { return v * 2; })),
                             1000);
         (void)p.recv();
       }},
  };
  test::run([&] {
    for (auto& [name, start] : patterns) {
      // (No CAPTURE or CHECK_MESSAGE here: doctest keeps their context in a thread_local,
      // and a goroutine may move between threads. See docs/porting.md.)
      std::size_t base = goro::num_goroutine();
      auto done = goro::make_chan<unit>();
      start(done);
      goro::sleep(1ms);  // let the pattern's goroutines block on their sends
      if (goro::num_goroutine() <= base) FAIL_CHECK(name << ": started no goroutine");
      done.close();
      if (!test::back_to(base, 1s)) FAIL_CHECK(name << ": goroutines still alive after 1 s");
    }
  });
}

TEST_CASE("outputs are closed when done closes") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto a = goro::or_done(done, forever<int>());
    auto [b, c] = goro::tee(done, forever<int>());
    auto d = goro::bridge(done, forever<goro::recv_chan<int>>());
    auto e = goro::fan_in(done, forever<int>(), forever<int>());
    auto f = goro::take(done, forever<int>(), 3);
    auto g = goro::stage(done, forever<int>(), [](int v) { return v; });
    auto h = goro::buffer(done, forever<int>(), 2);
    auto i = goro::repeat_fn(done, [] { return 1; });
    done.close();
    for (const goro::recv_chan<int>& out : {a, b, c, d, e, f, g, h}) {
      CHECK(test::drain(out).empty());
    }
    // repeat_fn may still deliver a value or two (select picks at random between a ready
    // reader and done), then closes.
    (void)test::drain(i);
  });
}

TEST_CASE("every recv_chan<T> parameter also takes a chan<T>") {
  test::run([] {
    auto done = goro::make_chan<unit>();
    auto filled = [](std::initializer_list<int> values) {
      auto c = goro::make_chan<int>(values.size());
      for (int v : values) c.send(v);
      c.close();
      return c;  // a chan<int>, not a recv_chan<int>
    };
    CHECK(test::drain(goro::or_done(done, filled({1, 2}))) == std::vector<int>{1, 2});
    auto [t1, t2] = goro::tee(done, filled({3}));
    CHECK(*t1.recv() == 3);
    CHECK(*t2.recv() == 3);
    auto streams = goro::make_chan<goro::chan<int>>(1);
    streams.send(filled({4}));
    streams.close();
    CHECK(test::drain(goro::bridge(done, streams)) == std::vector<int>{4});
    CHECK(test::drain(goro::fan_in(done, filled({5}), filled({5}))) == std::vector<int>{5, 5});
    CHECK(test::drain(goro::fan_in(done, std::vector<goro::chan<int>>{filled({6})})) ==
          std::vector<int>{6});
    auto outs = goro::fan_out(done, filled({7}), 1, [](int v) { return v; });
    CHECK(test::drain(outs[0]) == std::vector<int>{7});
    CHECK(test::drain(goro::take(done, filled({8, 9}), 1)) == std::vector<int>{8});
    CHECK(test::drain(goro::stage(done, filled({10}), [](int v) { return v; })) ==
          std::vector<int>{10});
    CHECK(test::drain(goro::buffer(done, filled({11}), 1)) == std::vector<int>{11});
    auto a = goro::make_chan<unit>();
    goro::done_chan any = goro::or_channel(a, goro::make_chan<unit>());
    a.close();
    CHECK(test::fires_within(any, 5s));
    done.close();
  });
}
