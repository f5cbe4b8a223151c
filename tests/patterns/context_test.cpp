// Go's context (docs/reference.md §6): Go's own context_test.go ported, plus the Go 1.20-1.21
// additions and the C++ interop.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "support.hpp"

using goro::context;
using goro::context_errc;

namespace {

bool is_done(const context& c) {
  return test::fired(c.done());
}

std::string cause_message(const context& c) {
  return goro::error_message(goro::cause(c));
}

}  // namespace

TEST_CASE("context_errc is an error-code enum with Go's messages") {
  static_assert(std::is_error_code_enum_v<context_errc>);
  std::error_code canceled = context_errc::canceled;
  std::error_code expired = context_errc::deadline_exceeded;
  CHECK(canceled.message() == "context canceled");
  CHECK(expired.message() == "context deadline exceeded");
  CHECK(canceled == context_errc::canceled);
  CHECK(canceled != context_errc::deadline_exceeded);
  CHECK(std::string(canceled.category().name()) == "context");
  CHECK(&canceled.category() == &goro::context_category());
  // Go's DeadlineExceeded is a timeout; Canceled maps to the portable condition too.
  CHECK(expired == std::errc::timed_out);
  CHECK(canceled == std::errc::operation_canceled);
  CHECK(!std::error_code());
}

TEST_CASE("the shapes of the context types") {
  static_assert(std::is_nothrow_copy_constructible_v<context>);
  static_assert(std::is_copy_assignable_v<context>);
  static_assert(!std::is_copy_constructible_v<goro::context_key<int>>);  // compared by identity
  static_assert(std::is_copy_constructible_v<goro::cancel_func>);
  static_assert(std::is_copy_constructible_v<goro::cancel_cause_func>);
  static_assert(std::is_invocable_v<const goro::cancel_func&>);
  static_assert(std::is_same_v<decltype(context().done()), goro::recv_chan<goro::unit>>);
  static_assert(std::is_same_v<decltype(context().err()), std::error_code>);
  static_assert(
      std::is_same_v<decltype(context().deadline()), std::optional<goro::clock::time_point>>);
  static const goro::context_key<std::string> key{"k"};
  static_assert(std::is_same_v<decltype(context().value(key)), const std::string*>);
}

TEST_CASE("background and todo are empty and never done") {
  test::run([] {
    for (const context& c : {goro::background(), goro::todo(), context()}) {
      CHECK(c.done() == nullptr);
      CHECK(!is_done(c));
      CHECK(!c.err());
      CHECK(!c.deadline());
      CHECK(!goro::cause(c));
      CHECK(!c.stop_token().stop_possible());
    }
    CHECK(goro::background().string() == "context.Background");
    CHECK(goro::todo().string() == "context.TODO");
    CHECK(context() == goro::background());
    CHECK(goro::todo() != goro::background());
  });
}

TEST_CASE("with_cancel: cancel propagates synchronously to descendants") {
  test::run([] {
    auto [c1, cancel] = goro::with_cancel(goro::background());
    CHECK(c1.string() == "context.Background.WithCancel");
    auto [c2, cancel2] = goro::with_cancel(c1);
    static const goro::context_key<int> key{"k"};
    context c3 = goro::with_value(c2, key, 1);
    for (const context& c : {c1, c2, c3}) {
      CHECK(c.done() != nullptr);
      CHECK(!c.err());
      CHECK(!is_done(c));
    }
    cancel();
    for (const context& c : {c1, c2, c3}) {
      CHECK(is_done(c));
      CHECK(c.err() == context_errc::canceled);
      CHECK(c.err().message() == "context canceled");
    }
    (void)cancel2;
  });
}

TEST_CASE("a parent cancels its children and forgets them") {
  test::run([] {
    // parent -> cancel_child; parent -> value_child -> timer_child
    auto [parent, cancel] = goro::with_cancel(goro::background());
    auto [cancel_child, stop1] = goro::with_cancel(parent);
    static const goro::context_key<std::string> key{"key"};
    context value_child = goro::with_value(parent, key, "value");
    auto [timer_child, stop2] = goro::with_timeout(value_child, 1000h);
    for (const context& c : {parent, cancel_child, value_child, timer_child}) CHECK(!is_done(c));
    CHECK(goro::detail::context_children(parent) == 2);
    cancel();
    CHECK(goro::detail::context_children(parent) == 0);
    for (const context& c : {parent, cancel_child, value_child, timer_child}) {
      CHECK(is_done(c));
      CHECK(c.err() == context_errc::canceled);
    }
    // Derived from a canceled parent: canceled from the start.
    context late = goro::with_value(parent, key, "value");
    CHECK(is_done(late));
    CHECK(late.err() == context_errc::canceled);
    auto [late2, stop3] = goro::with_cancel(parent);
    CHECK(is_done(late2));
    CHECK(late2.err() == context_errc::canceled);
    CHECK(goro::detail::context_children(parent) == 0);
    stop1();
    stop2();
    stop3();
  });
}

TEST_CASE("a child canceled first unlinks itself and leaves the parent alone") {
  test::run([] {
    auto [cancelable, stop] = goro::with_cancel(goro::background());
    for (const context& parent : {goro::background(), cancelable}) {
      auto [child, cancel] = goro::with_cancel(parent);
      CHECK(!is_done(parent));
      CHECK(!is_done(child));
      if (parent != goro::background()) CHECK(goro::detail::context_children(parent) == 1);
      cancel();
      CHECK(goro::detail::context_children(parent) == 0);
      CHECK(is_done(child));
      CHECK(child.err() == context_errc::canceled);
      CHECK(!is_done(parent));
      CHECK(!parent.err());
    }
    stop();
  });
}

TEST_CASE("with_deadline and with_timeout expire with deadline_exceeded") {
  test::run([] {
    auto check_expires = [](const context& c) {
      CHECK(test::fires_within(c.done(), 5s));
      CHECK(c.err() == context_errc::deadline_exceeded);
      CHECK(c.err().message() == "context deadline exceeded");
    };
    {
      auto [c, cancel] = goro::with_deadline(goro::background(), goro::clock::now() + 1ms);
      CHECK(c.string().starts_with("context.Background.WithDeadline("));
      check_expires(c);
      cancel();
    }
    {
      // A short deadline above a long one: the long one inherits the short.
      auto [c, cancel] = goro::with_deadline(goro::background(), goro::clock::now() + 1ms);
      auto [c2, cancel2] = goro::with_deadline(c, goro::clock::now() + 1000h);
      check_expires(c2);
      cancel2();
      cancel();
    }
    {
      auto [c, cancel] = goro::with_deadline(goro::background(), goro::clock::now() - 1ms);
      CHECK(is_done(c));  // in the past: done at once
      check_expires(c);
      cancel();
    }
    {
      auto [c, cancel] = goro::with_deadline(goro::background(), goro::clock::now());
      check_expires(c);
      cancel();
    }
    {
      auto [c, cancel] = goro::with_timeout(goro::background(), 1ms);
      check_expires(c);
      cancel();
    }
    {
      auto [c, cancel] = goro::with_timeout(goro::background(), 1ms);
      auto [c2, cancel2] = goro::with_timeout(c, 1000h);
      check_expires(c2);
      cancel2();
      cancel();
    }
  });
}

TEST_CASE("canceling a timeout context gives canceled, not deadline_exceeded") {
  test::run([] {
    auto [parent, stop] = goro::with_timeout(goro::background(), 1s);
    auto [c, cancel] = goro::with_timeout(parent, 1000h);
    cancel();
    CHECK(is_done(c));
    CHECK(c.err() == context_errc::canceled);
    CHECK(!is_done(parent));
    stop();
  });
}

TEST_CASE("a child's deadline is never later than its parent's") {
  test::run([] {
    auto now = goro::clock::now();
    auto [parent, stop] = goro::with_deadline(goro::background(), now + 1h);
    CHECK(parent.deadline() == now + 1h);
    auto [later, stop2] = goro::with_deadline(parent, now + 2h);
    CHECK(later.deadline() == now + 1h);
    auto [sooner, stop3] = goro::with_deadline(parent, now + 30min);
    CHECK(sooner.deadline() == now + 30min);
    auto [plain, stop4] = goro::with_cancel(sooner);
    static const goro::context_key<int> key{"k"};
    CHECK(goro::with_value(plain, key, 1).deadline() == now + 30min);
    stop4();
    stop3();
    stop2();
    stop();
  });
}

TEST_CASE("values: typed keys compared by identity, nearest wins") {
  test::run([] {
    static const goro::context_key<std::string> k1{"k1"};
    static const goro::context_key<std::string> k2{"k2"};  // same type as k1, another key
    static const goro::context_key<int> k3{"k3"};
    auto check = [](const context& c, const char* v1, const char* v2, std::optional<int> v3) {
      const std::string* a = c.value(k1);
      const std::string* b = c.value(k2);
      const int* n = c.value(k3);
      CHECK((a ? *a : std::string()) == v1);
      CHECK((b ? *b : std::string()) == v2);
      CHECK((n ? std::optional<int>(*n) : std::nullopt) == v3);
    };
    context c0 = goro::background();
    check(c0, "", "", std::nullopt);
    context c1 = goro::with_value(c0, k1, "c1k1");
    check(c1, "c1k1", "", std::nullopt);
    CHECK(c1.string() == "context.Background.WithValue(k1, val c1k1)");
    context c2 = goro::with_value(c1, k2, "c2k2");
    check(c2, "c1k1", "c2k2", std::nullopt);
    context c3 = goro::with_value(c2, k3, 3);
    check(c3, "c1k1", "c2k2", 3);
    CHECK(c3.string() ==
          "context.Background.WithValue(k1, val c1k1).WithValue(k2, val c2k2)"
          ".WithValue(k3, val 3)");
    context c4 = goro::with_value(c3, k1, "shadow");
    check(c4, "shadow", "c2k2", 3);
    check(c3, "c1k1", "c2k2", 3);  // immutable: c3 did not change
    auto [c5, cancel] = goro::with_cancel(c4);
    check(c5, "shadow", "c2k2", 3);
    cancel();
    check(c5, "shadow", "c2k2", 3);  // values survive cancellation
    // A move-only value.
    static const goro::context_key<std::unique_ptr<int>> k4{"k4"};
    context c6 = goro::with_value(c0, k4, std::make_unique<int>(7));
    REQUIRE(c6.value(k4) != nullptr);
    CHECK(**c6.value(k4) == 7);
    CHECK(k4.name() == "k4");
  });
}

TEST_CASE("many goroutines cancel a tree of contexts at once") {
  test::run([] {
    auto [root, cancel] = goro::with_cancel(goro::background());
    std::vector<std::pair<context, goro::cancel_func>> all{{root, cancel}};
    for (std::size_t i = 0; all.size() < 100; ++i) {
      for (int k = 0; k < 4; ++k) all.push_back(goro::with_cancel(all[i].first));
    }
    std::shuffle(all.begin(), all.end(), std::mt19937(42));
    goro::wait_group wg;
    for (auto& [ctx, f] : all) wg.go([f = f] { f(); });
    for (auto& [ctx, f] : all) CHECK(test::fires_within(ctx.done(), 5s));
    wg.wait();
    for (auto& [ctx, f] : all) CHECK(ctx.err() == context_errc::canceled);
  });
}

TEST_CASE("interlocked cancels: a goroutine cancels the child when the parent is done") {
  test::run([] {
    auto [parent, cancel_parent] = goro::with_cancel(goro::background());
    auto [child, cancel_child] = goro::with_cancel(parent);
    goro::go([parent = parent, cancel_child = cancel_child] {
      parent.done().recv();
      cancel_child();
    });
    cancel_parent();
    CHECK(test::fires_within(child.done(), 5s));
  });
}

TEST_CASE("layers of values, cancels and timeouts") {
  for (bool timeout : {false, true}) {
    CAPTURE(timeout);
    test::run([timeout] {
      std::mt19937 rng(timeout ? 7 : 11);
      std::vector<std::unique_ptr<goro::context_key<int>>> keys;
      std::vector<goro::cancel_func> cancels;
      int timers = 0;
      context ctx = goro::background();
      for (int i = 0; i < 30 || timers == 0 || cancels.empty() || keys.empty(); ++i) {
        switch (rng() % 3) {
          case 0:
            keys.push_back(std::make_unique<goro::context_key<int>>("layer"));
            ctx = goro::with_value(ctx, *keys.back(), static_cast<int>(keys.size()));
            break;
          case 1: {
            auto [c, f] = goro::with_cancel(ctx);
            ctx = c;
            cancels.push_back(f);
            break;
          }
          default: {
            auto [c, f] = goro::with_timeout(ctx, timeout ? 1ms : 1000h);
            ctx = c;
            cancels.push_back(f);
            ++timers;
          }
        }
      }
      auto check_values = [&] {
        for (std::size_t i = 0; i < keys.size(); ++i) {
          const int* v = ctx.value(*keys[i]);
          REQUIRE(v != nullptr);
          CHECK(*v == static_cast<int>(i + 1));
        }
      };
      CHECK(ctx.string().starts_with("context.Background."));
      check_values();
      if (timeout) {
        CHECK(test::fires_within(ctx.done(), 5s));
        CHECK(ctx.err() == context_errc::deadline_exceeded);
      } else {
        CHECK(!is_done(ctx));
        cancels[rng() % cancels.size()]();
        CHECK(is_done(ctx));
        CHECK(ctx.err() == context_errc::canceled);
      }
      check_values();
      for (auto& f : cancels) f();
    });
  }
}

TEST_CASE("canceling a child removes it from its parent") {
  test::run([] {
    auto [ctx, stop] = goro::with_cancel(goro::background());
    CHECK(goro::detail::context_children(ctx) == 0);
    auto [c1, cancel1] = goro::with_cancel(ctx);
    CHECK(goro::detail::context_children(ctx) == 1);
    cancel1();
    CHECK(goro::detail::context_children(ctx) == 0);
    auto [c2, cancel2] = goro::with_timeout(ctx, 60min);
    CHECK(goro::detail::context_children(ctx) == 1);
    cancel2();
    CHECK(goro::detail::context_children(ctx) == 0);
    // Below a value node the link goes to the nearest cancelable ancestor.
    static const goro::context_key<int> key{"k"};
    auto [c3, cancel3] = goro::with_cancel(goro::with_value(ctx, key, 1));
    CHECK(goro::detail::context_children(ctx) == 1);
    cancel3();
    CHECK(goro::detail::context_children(ctx) == 0);
    stop();
  });
}

TEST_CASE("10,000 create/cancel cycles on one parent leave nothing behind") {
  test::run([] {
    auto [parent, stop] = goro::with_cancel(goro::background());
    std::size_t goroutines = goro::num_goroutine();
    for (int i = 0; i < 10000; ++i) {
      auto [c, cancel] = i % 2 ? goro::with_cancel(parent) : goro::with_timeout(parent, 1h);
      cancel();
    }
    CHECK(goro::detail::context_children(parent) == 0);
    // Contexts dropped without being canceled are unlinked when freed, too.
    for (int i = 0; i < 10000; ++i) {
      auto [c, cancel] = i % 2 ? goro::with_cancel(parent) : goro::with_timeout(parent, 1h);
    }
    CHECK(goro::detail::context_children(parent) == 0);
    for (int i = 0; i < 1000; ++i) {
      auto stop_f = goro::after_func(parent, [] {});
      CHECK(stop_f());
    }
    CHECK(goro::detail::context_children(parent) == 0);
    CHECK(test::back_to(goroutines));
    CHECK(!is_done(parent));
    stop();
  });
}

TEST_CASE("cancel_func: copyable, const, idempotent, callable from goroutines and threads") {
  test::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    const goro::cancel_func copy = cancel;  // callable through a const reference
    const goro::cancel_func& ref = copy;
    static_assert(std::is_copy_constructible_v<goro::cancel_func>);
    goro::wait_group wg;
    for (int i = 0; i < 8; ++i) wg.go([ref] { ref(); });
    std::thread t([c = cancel] {
      c();
      c();
    });
    wg.wait();
    t.join();
    ref();
    CHECK(ctx.err() == context_errc::canceled);
    goro::cancel_func none;
    CHECK(!none);
    none();  // a default-constructed cancel_func does nothing
  });
}

TEST_CASE("cancellation wakes goroutines blocked on done()") {
  test::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto woke = goro::make_chan<std::error_code>(4);
    for (int i = 0; i < 4; ++i) {
      goro::go([ctx = ctx, woke] {
        ctx.done().recv();
        woke.send(ctx.err());
      });
    }
    goro::sleep(5ms);
    CHECK(woke.len() == 0);
    cancel();
    for (int i = 0; i < 4; ++i) CHECK(*woke.recv() == context_errc::canceled);
  });
}

TEST_CASE("canceling a wide tree wakes every goroutine parked on its contexts") {
  // A cancel prefetches a few children ahead (their done channels and parked receivers):
  // children of each kind, some with goroutines parked on them, some without.
  test::run([] {
    auto [root, cancel] = goro::with_cancel(goro::background());
    std::vector<context> children;
    for (int i = 0; i < 60; ++i) {
      children.push_back(i % 3 == 0 ? goro::with_timeout(root, 1h).first
                                    : goro::with_cancel(root).first);
    }
    goro::wait_group parked;
    goro::wait_group woken;
    std::atomic<int> canceled{0};
    for (std::size_t i = 0; i < children.size(); ++i) {
      for (std::size_t k = 0; k < i % 3; ++k) {
        parked.add(1);
        woken.go([ctx = children[i], &parked, &canceled] {
          parked.done();
          ctx.done().recv();
          if (ctx.err() == context_errc::canceled) canceled.fetch_add(1);
        });
      }
    }
    parked.wait();
    goro::sleep(2ms);  // let them park
    cancel();
    woken.wait();
    CHECK(canceled.load() == 60);
    for (const auto& ctx : children) CHECK(ctx.err() == context_errc::canceled);
  });
}

TEST_CASE("with_cancel_cause and cause") {
  test::run([] {
    auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
    auto [child, stop] = goro::with_cancel(ctx);
    CHECK(!goro::cause(ctx));
    cancel(std::runtime_error("out of coffee"));
    CHECK(ctx.err() == context_errc::canceled);
    CHECK(cause_message(ctx) == "out of coffee");
    CHECK(cause_message(child) == "out of coffee");  // children inherit the cause
    cancel(std::runtime_error("later"));             // only the first call counts
    CHECK(cause_message(ctx) == "out of coffee");
    stop();

    // No cause: the cause is err(), as a std::system_error.
    auto [c2, cancel2] = goro::with_cancel_cause(goro::background());
    cancel2();
    try {
      std::rethrow_exception(goro::cause(c2));
    } catch (const std::system_error& e) {
      CHECK(e.code() == context_errc::canceled);
    }
    // An error_code cause.
    auto [c3, cancel3] = goro::with_cancel_cause(goro::background());
    cancel3(std::make_error_code(std::errc::io_error));
    try {
      std::rethrow_exception(goro::cause(c3));
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::io_error);
    }
    // A plain with_cancel context's cause.
    auto [c4, cancel4] = goro::with_cancel(goro::background());
    cancel4();
    CHECK(cause_message(c4) == "context canceled");
  });
}

TEST_CASE("deadline causes") {
  test::run([] {
    auto [c1, stop1] = goro::with_timeout(goro::background(), 1ms);
    CHECK(test::fires_within(c1.done(), 5s));
    CHECK(cause_message(c1) == "context deadline exceeded");
    auto [c2, stop2] = goro::with_timeout_cause(
        goro::background(), 1ms, std::make_exception_ptr(std::runtime_error("too slow")));
    CHECK(test::fires_within(c2.done(), 5s));
    CHECK(c2.err() == context_errc::deadline_exceeded);
    CHECK(cause_message(c2) == "too slow");
    auto [c3, stop3] =
        goro::with_deadline_cause(goro::background(), goro::clock::now() + 1h,
                                  std::make_exception_ptr(std::runtime_error("too slow")));
    stop3();  // canceled before the deadline: the deadline cause does not apply
    CHECK(c3.err() == context_errc::canceled);
    CHECK(cause_message(c3) == "context canceled");
    stop1();
    stop2();
  });
}

TEST_CASE("after_func runs f in its own goroutine once the context is done") {
  test::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto ran = goro::make_chan<std::uint64_t>(1);
    auto stop = goro::after_func(ctx, [ran] { ran.send(goro::goroutine_id()); });
    CHECK(goro::detail::context_children(ctx) == 1);
    goro::sleep(2ms);
    CHECK(ran.len() == 0);
    cancel();
    CHECK(test::fires_within(goro::recv_chan<std::uint64_t>(ran), 5s));
    CHECK(!stop());  // already started
    CHECK(goro::detail::context_children(ctx) == 0);

    auto ids = goro::make_chan<std::uint64_t>(1);
    auto stop2 = goro::after_func(ctx, [ids] { ids.send(goro::goroutine_id()); });
    std::optional<std::uint64_t> id = ids.recv();  // already done: runs at once
    REQUIRE(id);
    CHECK(*id != goro::goroutine_id());
    CHECK(!stop2());
  });
}

TEST_CASE("after_func's stop keeps f from running") {
  test::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    std::atomic<int> runs{0};
    auto stop = goro::after_func(ctx, [&runs] { ++runs; });
    CHECK(stop());
    CHECK(!stop());  // a second stop reports that f was already stopped
    CHECK(goro::detail::context_children(ctx) == 0);
    cancel();
    goro::sleep(5ms);
    CHECK(runs == 0);
    // On a context that can never be done, f never runs; stop still works.
    auto stop_bg = goro::after_func(goro::background(), [&runs] { ++runs; });
    CHECK(stop_bg());
    // Dropping the stop function does not unregister f.
    auto [ctx2, cancel2] = goro::with_cancel(goro::background());
    auto ran = goro::make_chan<goro::unit>(1);
    (void)goro::after_func(ctx2, [ran] { ran.send(goro::unit{}); });
    cancel2();
    CHECK(test::fires_within(goro::recv_chan<goro::unit>(ran), 5s));
    CHECK(runs == 0);
  });
}

TEST_CASE("without_cancel keeps values, drops cancellation and deadline") {
  test::run([] {
    static const goro::context_key<std::string> key{"user"};
    auto [parent, cancel] =
        goro::with_timeout(goro::with_value(goro::background(), key, "gopher"), 1h);
    context detached = goro::without_cancel(parent);
    CHECK(detached.done() == nullptr);
    CHECK(!detached.deadline());
    REQUIRE(detached.value(key));
    CHECK(*detached.value(key) == "gopher");
    auto [below, stop] = goro::with_cancel(detached);
    CHECK(goro::detail::context_children(parent) == 0);  // not linked to the parent
    cancel();
    CHECK(is_done(parent));
    CHECK(!is_done(detached));
    CHECK(!detached.err());
    CHECK(!is_done(below));
    CHECK(detached.string().ends_with(".WithoutCancel"));
    stop();
    CHECK(is_done(below));
  });
}

TEST_CASE("stop_token interop: a std::stop_token from a context") {
  test::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    std::stop_token token = ctx.stop_token();
    CHECK(token.stop_possible());
    CHECK(!token.stop_requested());
    std::atomic<int> calls{0};
    std::stop_callback cb(token, [&calls] { ++calls; });
    static const goro::context_key<int> key{"k"};
    std::stop_token via_value = goro::with_value(ctx, key, 1).stop_token();
    cancel();
    CHECK(token.stop_requested());
    CHECK(via_value.stop_requested());
    CHECK(calls == 1);
    CHECK(ctx.stop_token().stop_requested());  // asked for after the cancel
    // A deadline stops the token too.
    auto [timed, stop] = goro::with_timeout(goro::background(), 1ms);
    std::stop_token t2 = timed.stop_token();
    CHECK(test::fires_within(timed.done(), 5s));
    // The timer's goroutine stops the token right after closing done().
    auto deadline = goro::clock::now() + 5s;
    while (!t2.stop_requested() && goro::clock::now() < deadline) goro::sleep(1ms);
    CHECK(t2.stop_requested());
    stop();
  });
}

TEST_CASE("stop callbacks run after the cancel, and may cancel other contexts") {
  test::run([] {
    for (int round = 0; round < 200; ++round) {
      auto [parent, cancel_parent] = goro::with_cancel(goro::background());
      auto [child, cancel_child] = goro::with_cancel(parent);
      // When the child is canceled, its stop callback cancels the parent (which may be
      // being canceled by someone else at that very moment).
      std::stop_callback cb(child.stop_token(),
                            [cancel_parent = cancel_parent] { cancel_parent(); });
      goro::wait_group wg;
      wg.go([cancel_parent = cancel_parent] { cancel_parent(); });
      wg.go([cancel_child = cancel_child] { cancel_child(); });
      wg.wait();
      CHECK(parent.err() == context_errc::canceled);
      CHECK(child.err() == context_errc::canceled);
    }
  });
}

TEST_CASE("stop_token interop: a context from a std::stop_source") {
  test::run([] {
    std::stop_source source;
    context ctx = goro::from_stop_source(source);
    CHECK(!is_done(ctx));
    std::thread([source]() mutable { source.request_stop(); }).join();
    CHECK(test::fires_within(ctx.done(), 5s));
    CHECK(ctx.err() == context_errc::canceled);

    // Already stopped: done from the start.
    context late = goro::from_stop_source(source);
    CHECK(is_done(late));

    // with_stop_token keeps the parent's cancellation and values.
    auto [parent, cancel] = goro::with_cancel(goro::background());
    std::stop_source s2;
    auto [child, stop_child] = goro::with_stop_token(parent, s2.get_token());
    CHECK(goro::detail::context_children(parent) == 1);
    cancel();
    CHECK(is_done(child));
    CHECK(!s2.stop_requested());  // the context does not stop the source
    stop_child();
    // stop_child unlinks it
    auto [p3, cancel3] = goro::with_cancel(goro::background());
    std::stop_source s3;
    auto [c3, stop3] = goro::with_stop_token(p3, s3.get_token());
    s3.request_stop();
    CHECK(is_done(c3));
    CHECK(goro::detail::context_children(p3) == 0);
    CHECK(!is_done(p3));
    cancel3();
    stop3();
  });
}

TEST_CASE("canceling releases the timer: no goroutine or timer is left behind") {
  test::run([] {
    std::size_t base = goro::num_goroutine();
    {
      goro::testing::leak_check leaks;
      std::vector<goro::cancel_func> cancels;
      for (int i = 0; i < 100; ++i)
        cancels.push_back(goro::with_timeout(goro::background(), 1h).second);
      for (auto& c : cancels) c();
    }
    CHECK(goro::num_goroutine() == base);
  });
}

TEST_CASE("contexts work from plain threads") {
  test::run([] {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 20ms);
    auto seen = goro::make_chan<std::error_code>(1);
    std::thread t([seen, ctx = ctx] {
      ctx.done().recv();  // blocks the thread
      seen.send(ctx.err());
    });
    // Wait on the channel, not with join(): join would block this worker thread (see
    // docs/porting.md, "blocking calls").
    CHECK(*seen.recv() == context_errc::deadline_exceeded);
    t.join();
    cancel();
  });
}
