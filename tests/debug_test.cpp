// Diagnostics (DESIGN §7, issue "diagnostics"): goroutine snapshots and dumps, names, and
// the debug_migrate option. Panics, deadlocks, SIGQUIT and stack overflows end the process
// and are tested in panic_test.cpp.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

using namespace goro_test;

namespace {

// The OS thread, by system call: pthread_self() is declared const, so a compiler may
// reuse a value read before a switch (the thread-local hazard).
long current_tid() {
  return ::syscall(SYS_gettid);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("goroutines() and dump_goroutines() name each state in Go's words") {
  std::vector<goro::goroutine_info> seen;
  std::string dump;
  // Outside run: the goroutines that use them may still be unwinding when main returns.
  goro::mutex held;
  goro::wait_group wg;
  run_on(2, [&] {
    // Separate channels, so that no two of these goroutines can meet.
    auto never = goro::make_chan<int>();
    auto never2 = goro::make_chan<int>();
    auto nobody_receives = goro::make_chan<int>();
    auto nobody_sends = goro::make_chan<int>();
    held.lock();
    wg.add(1);
    goro::go([never] {
      goro::set_goroutine_name("receiver");
      never.recv();
    });
    goro::go([nobody_receives] { nobody_receives.send(1); });
    goro::go([nobody_sends, never2] {
      goro::select(goro::on_recv(nobody_sends), goro::on_recv(never2));
    });
    goro::go([] { goro::select(); });
    goro::go([] { goro::chan<int>().recv(); });
    goro::go([] { goro::sleep(std::chrono::hours(1)); });
    goro::go([&wg] { wg.wait(); });
    goro::go([&held] {
      held.lock();
      held.unlock();
    });
    // All eight must be parked before the snapshot: a fixed pause (settle) left the nil
    // channel's receiver still "running" under ThreadSanitizer on a loaded machine.
    CHECK(wait_parked(8));
    seen = goro::goroutines();
    std::ostringstream out;
    goro::dump_goroutines(out);
    dump = out.str();
    wg.done();
    held.unlock();
  });
  std::string states;
  for (const auto& g : seen) states += "[" + g.state + "]";
  CAPTURE(states);
  CAPTURE(dump);
  CHECK(seen.size() == 9);
  CHECK(seen.front().id == 1);
  CHECK(seen.front().state == "running");
  CHECK(seen.front().created_file.empty());  // main was not created by go(...)
  for (const char* s :
       {"[chan receive]", "[chan send]", "[select]", "[select (no cases)]",
        "[chan receive (nil chan)]", "[sleep]", "[sync.WaitGroup.Wait]", "[sync.Mutex.Lock]"}) {
    CHECK(contains(states, s));
  }
  bool named = false;
  for (const auto& g : seen) {
    if (g.id == 1) continue;
    CHECK(contains(g.created_file, "debug_test.cpp"));
    CHECK(g.created_line > 0);
    if (g.name == "receiver") named = g.state == "chan receive";
    if (g.state != "running" && g.state != "runnable") CHECK(g.waiting.count() >= 0);
  }
  CHECK(named);
  CHECK(contains(dump, "goroutine 1 [running]:\ngoro::run main function"));
  CHECK(contains(dump, "(receiver) [chan receive]:\ncreated by "));
  CHECK(contains(dump, "debug_test.cpp:"));
  CHECK_FALSE(contains(dump, "minute"));  // nothing has waited that long
}

TEST_CASE("go_with_stack records its caller as the creation site") {
  // Each goroutine reports its own entry; (file, line) of the go_with_stack that made it.
  std::vector<std::pair<std::string, unsigned>> sites;
  unsigned line_no_args = 0, line_seven_args = 0;
  run_on(1, [&] {
    goro::wait_group wg;
    goro::mutex mu;
    auto report = [&] {
      const std::uint64_t id = goro::goroutine_id();
      for (const auto& g : goro::goroutines()) {
        if (g.id != id) continue;
        std::lock_guard<goro::mutex> lock(mu);
        sites.emplace_back(g.created_file, g.created_line);
      }
      wg.done();
    };
    auto report7 = [&](int, int, int, int, int, int, int) { report(); };
    wg.add(2);
    // One line each: the line a multi-line call is given is up to the compiler.
    line_no_args = __LINE__ + 1;
    goro::go_with_stack(1 << 20, report);
    line_seven_args = __LINE__ + 1;
    goro::go_with_stack(1 << 20, report7, 1, 2, 3, 4, 5, 6, 7);
    wg.wait();
  });
  REQUIRE(sites.size() == 2);
  std::sort(sites.begin(), sites.end());
  for (const auto& [file, line] : sites) {
    CAPTURE(file);
    CHECK(file.ends_with("debug_test.cpp"));
  }
  CHECK(sites[0].second == line_no_args);
  CHECK(sites[1].second == line_seven_args);
}

TEST_CASE("goroutines() is empty outside run") {
  CHECK(goro::goroutines().empty());
}

TEST_CASE("debug_migrate: every wake-up resumes the goroutine on another worker") {
  constexpr int kWakes = 50;
  int moved = 0, stayed = 0;
  goro::options opts;
  opts.threads = 3;
  opts.debug_migrate = true;
  goro::run(opts, [&] {
    auto c = goro::make_chan<int>();
    auto done = goro::make_chan<goro::unit>();
    goro::go([&, c, done] {
      for (int i = 0; i < kWakes; ++i) {
        const long before = current_tid();
        c.recv();
        (current_tid() != before ? moved : stayed) += 1;
      }
      done.close();
    });
    for (int i = 0; i < kWakes; ++i) {
      wait_parked(1);
      c.send(i);
    }
    done.recv();
  });
  CHECK(moved == kWakes);
  CHECK(stayed == 0);
}
