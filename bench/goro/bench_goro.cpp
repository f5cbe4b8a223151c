// goro versions of the benchmark workloads. The first group is a line-by-line port of Go's
// runtime benchmarks (go/src/runtime/chan_test.go and proc_test.go, Go 1.19), the rest
// mirrors bench/go/main.go: skynet, pipelines, context cancellation, memory per parked
// goroutine and the idle cost of goroutines sleeping on timers.
//
//   bench_goro [--threads N] [--benchtime 1s|200ms|100x] [--smoke] [--list] [WORKLOAD...]
//
// bench/run.py runs one workload per process and compares with Go and Boost.Fiber.
#include <goro/goro.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using namespace std::chrono_literals;
using goro::make_chan;
using goro::on_default;
using goro::on_recv;
using goro::on_send;
using goro::select;

// b.RunParallel: GOMAXPROCS goroutines share the iteration counter.
template <class Body>
void run_parallel(bench::B& b, Body body) {
  bench::parallel_counter counter(b);
  goro::wait_group wg;
  for (unsigned p = 0; p < goro::gomaxprocs(); ++p) {
    wg.go([&counter, &body] {
      bench::PB pb(counter);
      body(pb);
    });
  }
  wg.wait();
}

// ---- Go's runtime benchmarks (src/runtime/chan_test.go, proc_test.go) -----------------

void chan_nonblocking(bench::B& b) {
  auto myc = make_chan<int>();
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) select(on_recv(myc), on_default());
  });
}

void select_uncontended(bench::B& b) {
  run_parallel(b, [](bench::PB& pb) {
    auto myc1 = make_chan<int>(1);
    auto myc2 = make_chan<int>(1);
    myc1.send(0);
    while (pb.next()) {
      if (select(on_recv(myc1), on_recv(myc2)) == 0) {
        myc2.send(0);
      } else {
        myc1.send(0);
      }
    }
  });
}

void select_sync_contended(bench::B& b) {
  auto myc1 = make_chan<int>();
  auto myc2 = make_chan<int>();
  auto myc3 = make_chan<int>();
  auto done = make_chan<int>();
  run_parallel(b, [&](bench::PB& pb) {
    goro::go([myc1, myc2, myc3, done] {
      for (;;) {
        const auto i = select(on_send(myc1, 0), on_send(myc2, 0), on_send(myc3, 0), on_recv(done));
        if (i == 3) return;
      }
    });
    while (pb.next()) select(on_recv(myc1), on_recv(myc2), on_recv(myc3));
  });
  done.close();
}

void select_async_contended(bench::B& b) {
  const unsigned procs = goro::gomaxprocs();
  auto myc1 = make_chan<int>(procs);
  auto myc2 = make_chan<int>(procs);
  run_parallel(b, [&](bench::PB& pb) {
    myc1.send(0);
    while (pb.next()) {
      if (select(on_recv(myc1), on_recv(myc2)) == 0) {
        myc2.send(0);
      } else {
        myc1.send(0);
      }
    }
  });
}

void select_nonblock(bench::B& b) {
  auto myc1 = make_chan<int>();
  auto myc2 = make_chan<int>();
  auto myc3 = make_chan<int>(1);
  auto myc4 = make_chan<int>(1);
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) {
      select(on_recv(myc1), on_default());
      select(on_send(myc2, 0), on_default());
      select(on_recv(myc3), on_default());
      select(on_send(myc4, 0), on_default());
    }
  });
}

void chan_uncontended(bench::B& b) {
  constexpr int C = 100;
  run_parallel(b, [](bench::PB& pb) {
    auto myc = make_chan<int>(C);
    while (pb.next()) {
      for (int i = 0; i < C; ++i) myc.send(0);
      for (int i = 0; i < C; ++i) myc.recv();
    }
  });
}

void chan_contended(bench::B& b) {
  constexpr int C = 100;
  auto myc = make_chan<int>(C * goro::gomaxprocs());
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) {
      for (int i = 0; i < C; ++i) myc.send(0);
      for (int i = 0; i < C; ++i) myc.recv();
    }
  });
}

void chan_sync(bench::B& b) {
  constexpr int calls_per_sched = 1000;
  constexpr int procs = 2;
  std::atomic<std::int64_t> n{b.n / calls_per_sched / procs * procs};
  auto c = make_chan<bool>(procs);
  auto myc = make_chan<int>();
  for (int p = 0; p < procs; ++p) {
    goro::go([&n, c, myc] {
      for (;;) {
        const std::int64_t i = n.fetch_sub(1) - 1;
        if (i < 0) break;
        for (int g = 0; g < calls_per_sched; ++g) {
          if (i % 2 == 0) {
            myc.recv();
            myc.send(0);
          } else {
            myc.send(0);
            myc.recv();
          }
        }
      }
      c.send(true);
    });
  }
  for (int p = 0; p < procs; ++p) c.recv();
}

void chan_prod_cons(bench::B& b, std::size_t chan_size, int work) {
  constexpr int calls_per_sched = 1000;
  const unsigned procs = goro::gomaxprocs();
  std::atomic<std::int64_t> n{b.n / calls_per_sched};
  auto c = make_chan<bool>(2 * procs);
  auto myc = make_chan<int>(chan_size);
  for (unsigned p = 0; p < procs; ++p) {
    goro::go([&n, c, myc, work] {
      std::int64_t foo = 0;
      while (n.fetch_sub(1) - 1 >= 0) {
        for (int g = 0; g < calls_per_sched; ++g) {
          bench::local_work(foo, work);
          myc.send(1);
        }
      }
      myc.send(0);
      c.send(foo == 42);
    });
    goro::go([c, myc, work] {
      std::int64_t foo = 0;
      for (;;) {
        if (*myc.recv() == 0) break;
        bench::local_work(foo, work);
      }
      c.send(foo == 42);
    });
  }
  for (unsigned p = 0; p < procs; ++p) {
    c.recv();
    c.recv();
  }
}

void select_prod_cons(bench::B& b) {
  constexpr int calls_per_sched = 1000;
  const unsigned procs = goro::gomaxprocs();
  std::atomic<std::int64_t> n{b.n / calls_per_sched};
  auto c = make_chan<bool>(2 * procs);
  auto myc = make_chan<int>(128);
  auto myclose = make_chan<bool>();
  for (unsigned p = 0; p < procs; ++p) {
    // Producer: sends to myc.
    goro::go([&n, c, myc, myclose] {
      std::int64_t foo = 0;
      auto mytimer = goro::after(1h);  // intended not to fire during benchmarking
      while (n.fetch_sub(1) - 1 >= 0) {
        for (int g = 0; g < calls_per_sched; ++g) {
          bench::local_work(foo, 100);
          select(on_send(myc, 1), on_recv(mytimer), on_recv(myclose));
        }
      }
      myc.send(0);
      c.send(foo == 42);
    });
    // Consumer: receives from myc.
    goro::go([c, myc, myclose] {
      std::int64_t foo = 0;
      auto mytimer = goro::after(1h);
      for (;;) {
        std::optional<int> v;
        const auto i = select(on_recv(myc, [&v](std::optional<int> got) { v = got; }),
                              on_recv(mytimer), on_recv(myclose));
        if (i == 0 && v.value_or(0) == 0) break;
        bench::local_work(foo, 100);
      }
      c.send(foo == 42);
    });
  }
  for (unsigned p = 0; p < procs; ++p) {
    c.recv();
    c.recv();
  }
}

void chan_creation(bench::B& b) {
  run_parallel(b, [](bench::PB& pb) {
    while (pb.next()) {
      auto myc = make_chan<int>(1);
      myc.send(0);
      myc.recv();
    }
  });
}

void chan_sem(bench::B& b) {
  auto myc = make_chan<goro::unit>(goro::gomaxprocs());
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) {
      myc.send(goro::unit{});
      myc.recv();
    }
  });
}

void chan_popular(bench::B& b) {
  constexpr int n = 1000;
  auto c = make_chan<bool>();
  std::vector<goro::chan<bool>> a;
  goro::wait_group wg;
  wg.add(n);
  for (int j = 0; j < n; ++j) {
    auto d = make_chan<bool>();
    a.push_back(d);
    goro::go([c, d, &wg, iters = b.n] {
      for (std::int64_t i = 0; i < iters; ++i) select(on_recv(c), on_recv(d));
      wg.done();
    });
  }
  for (std::int64_t i = 0; i < b.n; ++i) {
    for (const auto& d : a) d.send(true);
  }
  wg.wait();
}

std::atomic<bool> g_chan_closed_failed{false};

void chan_closed(bench::B& b) {
  auto c = make_chan<goro::unit>();
  c.close();
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) {
      if (select(on_recv(c), on_default()) != 0) g_chan_closed_failed = true;  // unreachable
    }
  });
}

// Go's closure captures c; each link here owns a handle and moves it on to the next, as
// the Boost.Fiber port moves its shared_ptr (a copy is a reference-count RMW on a line that
// both chains of CreateGoroutinesParallel write: 41% of the row's time at P=2 when the
// VM's two vCPUs were far apart).
void create_chain(int n, goro::chan<bool> c) {
  if (n == 0) {
    c.send(true);
    return;
  }
  goro::go(create_chain, n - 1, std::move(c));
}

void create_goroutines(bench::B& b, unsigned procs) {
  auto c = make_chan<bool>();
  for (unsigned i = 0; i < procs; ++i) goro::go(create_chain, static_cast<int>(b.n / procs), c);
  for (unsigned i = 0; i < procs; ++i) c.recv();
}

// Go's hog spins in a non-blocking receive and Go's scheduler preempts it; goroutines are
// cooperative, so this hog yields after each check. The benchmark runs at GOMAXPROCS=1 in
// Go whatever -cpu says (main starts the runtime with one thread for it).
void ping_pong_hog(bench::B& b) {
  auto stop = make_chan<bool>();
  auto done = make_chan<bool>();
  goro::go([stop, done] {
    for (;;) {
      if (select(on_recv(stop), on_default()) == 0) {
        done.send(true);
        return;
      }
      goro::yield();
    }
  });
  auto ping = make_chan<bool>();
  auto pong = make_chan<bool>();
  goro::go([=, n = b.n] {
    for (std::int64_t j = 0; j < n; ++j) pong.send(*ping.recv());
    stop.close();
    done.send(true);
  });
  goro::go([=, n = b.n] {
    for (std::int64_t i = 0; i < n; ++i) ping.send(*pong.recv());
    done.send(true);
  });
  b.reset_timer();
  ping.send(true);  // start ping-pong
  stop.recv();
  b.stop_timer();
  ping.recv();  // let the last ponger exit
  for (int i = 0; i < 3; ++i) done.recv();
}

// ---- skynet, pipelines -------------------------------------------------------------------

void skynet(goro::chan<std::int64_t> c, std::int64_t num, std::int64_t size, std::int64_t div) {
  if (size == 1) {
    c.send(num);
    return;
  }
  auto rc = make_chan<std::int64_t>();
  for (std::int64_t i = 0; i < div; ++i) {
    goro::go(skynet, rc, num + i * (size / div), size / div, div);
  }
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += *rc.recv();
  c.send(sum);
}

bench::report skynet_workload(const bench::config& cfg) {
  const std::int64_t leaves = bench::sizes::of(cfg).skynet_leaves;
  const std::int64_t want = bench::skynet_sum(leaves);
  std::string check = "ok";
  auto r = bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          auto c = make_chan<std::int64_t>();
          goro::go(skynet, c, 0, leaves, 10);
          const std::int64_t sum = *c.recv();
          if (sum != want) check = bench::fail("sum", sum, want);
        }
      },
      cfg.time, 1e6);  // ms per skynet
  r.check = check;
  return r;
}

using int_chan = goro::chan<std::int64_t>;

int_chan generator(std::int64_t n) {
  auto out = make_chan<std::int64_t>();
  goro::go([out, n] {
    for (std::int64_t i = 0; i < n; ++i) out.send(i);
    out.close();
  });
  return out;
}

template <class F>
int_chan stage(goro::recv_chan<std::int64_t> in, F f) {
  auto out = make_chan<std::int64_t>();
  goro::go([in, out, f] {
    for (std::int64_t v : in) out.send(f(v));
    out.close();
  });
  return out;
}

std::int64_t sink(goro::recv_chan<std::int64_t> in) {
  std::int64_t sum = 0;
  for (std::int64_t v : in) sum += v;
  return sum;
}

// generator -> stage1 -> stage2 -> stage3 -> sink, unbuffered channels.
std::int64_t pipeline(std::int64_t n, int /*workers*/) {
  return sink(stage(stage(stage(generator(n), bench::stage1), bench::stage2), bench::stage3));
}

// generator -> workers (each applies stage1..3) -> fan-in (one forwarder per worker into
// one channel; the last forwarder closes it) -> sink.
std::int64_t fan_out_in(std::int64_t n, int workers) {
  auto source = generator(n);
  auto merged = make_chan<std::int64_t>();
  auto live = std::make_shared<std::atomic<int>>(workers);
  for (int w = 0; w < workers; ++w) {
    auto out = stage(source,
                     [](std::int64_t v) { return bench::stage3(bench::stage2(bench::stage1(v))); });
    goro::go([out, merged, live] {
      for (std::int64_t v : out) merged.send(v);
      if (live->fetch_sub(1) == 1) merged.close();
    });
  }
  return sink(merged);
}

// Runs run(n, fan_workers) b.N times over sizes.pipeline_values values, checking each sum.
bench::report pipeline_workload(const bench::config& cfg,
                                std::int64_t (*run)(std::int64_t n, int workers)) {
  const auto sz = bench::sizes::of(cfg);
  const std::int64_t n = sz.pipeline_values;
  std::string check = "ok";
  auto r = bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          const std::int64_t sum = run(n, sz.fan_workers);
          if (sum != bench::pipeline_sum(n))
            check = bench::fail("sum", sum, bench::pipeline_sum(n));
        }
      },
      cfg.time, static_cast<double>(n));
  r.check = check;
  return r;
}

// ---- pipelines with a done channel: goro's patterns layer ------------------------------

// The pipeline and fan-out/fan-in through goro::generator, stage, fan_out and fan_in, which
// select on done at every send and receive; bench/go/main.go has the same in Go.

std::vector<std::int64_t> iota64(std::int64_t n) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(n));
  std::iota(values.begin(), values.end(), std::int64_t{0});
  return values;
}

std::int64_t pipeline_done(std::int64_t n, int /*workers*/) {
  auto done = make_chan<goro::unit>();
  auto gen = goro::generator(done, iota64(n));
  const std::int64_t sum = sink(
      goro::stage(done, goro::stage(done, goro::stage(done, gen, bench::stage1), bench::stage2),
                  bench::stage3));
  done.close();
  return sum;
}

std::int64_t fan_out_in_done(std::int64_t n, int workers) {
  auto done = make_chan<goro::unit>();
  auto gen = goro::generator(done, iota64(n));
  auto f = [](std::int64_t v) { return bench::stage3(bench::stage2(bench::stage1(v))); };
  const std::int64_t sum =
      sink(goro::fan_in(done, goro::fan_out(done, gen, static_cast<std::size_t>(workers), f)));
  done.close();
  return sum;
}

// ---- context -----------------------------------------------------------------------------

// A tree of contexts (node i's parent is node (i-1)/10), one goroutine waiting on each
// node's done(); the timed part is cancelling the root until every goroutine has woken.
bench::report context_workload(const bench::config& cfg) {
  const int n = bench::sizes::of(cfg).context_tree;
  const bench::bench_time bt = cfg.smoke ? cfg.time : bench::bench_time{0, 5};
  return bench::measure(
      [n](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          b.stop_timer();
          std::vector<goro::context> ctxs;
          std::vector<goro::cancel_func> cancels;
          ctxs.reserve(n);
          cancels.reserve(n);
          auto [root, cancel_root] = goro::with_cancel(goro::background());
          ctxs.push_back(root);
          for (int j = 1; j < n; ++j) {
            auto [ctx, cancel] = goro::with_cancel(ctxs[(j - 1) / 10]);
            ctxs.push_back(ctx);
            cancels.push_back(cancel);
          }
          goro::wait_group ready;
          goro::wait_group woken;
          ready.add(n);
          woken.add(n);
          for (const auto& ctx : ctxs) {
            goro::go([done = ctx.done(), &ready, &woken] {
              ready.done();
              done.recv();
              woken.done();
            });
          }
          ready.wait();
          b.start_timer();
          cancel_root();
          woken.wait();
          b.stop_timer();
          for (const auto& cancel : cancels) cancel();
        }
      },
      bt, n);
}

// ---- memory and idle cost --------------------------------------------------------------

// Resident bytes per goroutine parked on a channel receive.
bench::report memory_workload(std::int64_t n) {
  auto c = make_chan<bool>();
  goro::wait_group started;
  goro::wait_group exited;
  started.add(n);
  exited.add(n);
  const std::int64_t before = bench::rss_bytes();
  for (std::int64_t i = 0; i < n; ++i) {
    goro::go([c, &started, &exited] {
      started.done();
      c.recv();  // parked until c is closed
      exited.done();
    });
  }
  started.wait();
  goro::sleep(10ms);  // let the last ones park
  const std::int64_t after = bench::rss_bytes();
  c.close();
  exited.wait();
  return bench::memory_report(before, after, n);
}

// Wall and CPU milliseconds while the goroutines sleep on timers (bench::idle_report).
bench::report idle_workload(const bench::config& cfg) {
  const auto sz = bench::sizes::of(cfg);
  goro::wait_group started;
  goro::wait_group woken;
  started.add(sz.idle_goroutines);
  for (std::int64_t i = 0; i < sz.idle_goroutines; ++i) {
    woken.go([&started, wait = sz.idle_wait] {
      started.done();
      goro::sleep(wait);
    });
  }
  started.wait();
  const std::int64_t wall0 = bench::wall_now_ns();
  const std::int64_t cpu0 = bench::cpu_now_ns();
  woken.wait();
  return bench::idle_report(bench::wall_now_ns() - wall0, bench::cpu_now_ns() - cpu0,
                            sz.idle_goroutines);
}

// ---- spawning many at once, the daisy chain, exit with goroutines parked ---------------

// Spawns n goroutines from one goroutine, each doing wg.done(), then waits for them all:
// nanoseconds per goroutine. At P=1 all n exist before the first runs.
bench::report spawn_join_workload(const bench::config& cfg) {
  const std::int64_t n = cfg.smoke ? 1'000 : 1'000'000;
  return bench::measure(
      [n](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          goro::wait_group wg;
          wg.add(n);
          for (std::int64_t j = 0; j < n; ++j) goro::go([&wg] { wg.done(); });
          wg.wait();
        }
      },
      cfg.time, static_cast<double>(n));
}

// Pike's "whispers": n goroutines linked by unbuffered channels, each doing
// left <- 1 + <-right; the value sent in at the right end comes out n + 1 at the left.
std::int64_t whispers(int n) {
  auto leftmost = make_chan<int>();
  auto left = leftmost;
  for (int i = 0; i < n; ++i) {
    auto right = make_chan<int>();
    goro::go([](goro::chan<int> l, goro::chan<int> r) { l.send(1 + *r.recv()); }, std::move(left),
             right);
    left = std::move(right);
  }
  goro::go([](goro::chan<int> r) { r.send(1); }, std::move(left));
  return *leftmost.recv();
}

// Times the chain, in ms per chain; with `warm`, after one untimed run in this process.
bench::report daisy_chain(const bench::config& cfg, bool warm) {
  const int n = cfg.smoke ? 1'000 : 100'000;
  std::string check = "ok";
  auto run_checked = [&] {
    if (const std::int64_t got = whispers(n); got != n + 1) check = bench::fail("sum", got, n + 1);
  };
  if (warm) run_checked();
  auto r = bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) run_checked();
      },
      cfg.time, 1e6);
  r.check = check;
  return r;
}

bench::report daisy_chain_workload(const bench::config& cfg) {
  return daisy_chain(cfg, /*warm=*/false);
}

// The same chain once the process has run it before: the stacks, g slots and channels
// come from warm pools, so this is the runtime's own cost (spawn, park, hand-off, wake)
// without the first touch of 100,000 fresh pages that DaisyChain100k is mostly made of.
bench::report daisy_chain_warm_workload(const bench::config& cfg) {
  return daisy_chain(cfg, /*warm=*/true);
}

// The peak resident set of a process that runs the chain once, in MB (VmHWM).
bench::report daisy_chain_rss_workload(const bench::config& cfg) {
  const int n = cfg.smoke ? 1'000 : 100'000;
  bench::report r;
  const std::int64_t got = whispers(n);
  if (got != n + 1) r.check = bench::fail("sum", got, n + 1);
  r.value = static_cast<double>(bench::peak_rss_bytes()) / 1e6;
  r.cpu = -1;
  r.iters = n;
  return r;
}

// How long goro::run takes to return once main_fn has returned while n goroutines are
// parked on channel receives (run releases them, or with options::unwind_at_exit unwinds
// and frees them): nanoseconds per goroutine. Runs outside the runtime: each operation is
// a whole goro::run, and one is measured per process, as Go's cell is one process exit
// (released goroutines keep their memory until the process ends).
bench::report exit_parked_workload(const bench::config& cfg, goro::options opts, bool unwind) {
  const std::int64_t n = cfg.smoke ? 1'000 : 40'000;
  opts.unwind_at_exit = unwind;
  return bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          b.stop_timer();
          goro::run(opts, [&] {
            auto c = make_chan<bool>();
            goro::wait_group started;
            started.add(n);
            for (std::int64_t j = 0; j < n; ++j) {
              goro::go([c, &started] {
                started.done();
                c.recv();  // parked until run unwinds it
              });
            }
            started.wait();
            goro::sleep(10ms);  // let the last ones park
            b.start_timer();    // main's last statement
          });
          b.stop_timer();
        }
      },
      bench::bench_time{.n = 1}, static_cast<double>(n));
}

// ---- the registry ------------------------------------------------------------------------

std::vector<bench::workload> workloads() {
  using bench::config;
  auto timed = [](void (*body)(bench::B&)) {
    return [body](const config& cfg) { return bench::measure(body, cfg.time); };
  };
  auto prod_cons = [](std::size_t size, int work) {
    return [=](const config& cfg) {
      return bench::measure([=](bench::B& b) { chan_prod_cons(b, size, work); }, cfg.time);
    };
  };
  auto create = [](bool parallel) {
    return [parallel](const config& cfg) {
      return bench::measure(
          [parallel](bench::B& b) { create_goroutines(b, parallel ? goro::gomaxprocs() : 1); },
          cfg.time);
    };
  };
  auto mem = [](std::int64_t n) {
    return [n](const config& cfg) { return memory_workload(cfg.smoke ? 1'000 : n); };
  };
  return {
      {"ChanNonblocking", "ns/op", timed(chan_nonblocking)},
      {"SelectUncontended", "ns/op", timed(select_uncontended)},
      {"SelectSyncContended", "ns/op", timed(select_sync_contended)},
      {"SelectAsyncContended", "ns/op", timed(select_async_contended)},
      {"SelectNonblock", "ns/op", timed(select_nonblock)},
      {"ChanUncontended", "ns/op", timed(chan_uncontended)},
      {"ChanContended", "ns/op", timed(chan_contended)},
      {"ChanSync", "ns/op", timed(chan_sync)},
      {"ChanProdCons0", "ns/op", prod_cons(0, 0)},
      {"ChanProdCons10", "ns/op", prod_cons(10, 0)},
      {"ChanProdCons100", "ns/op", prod_cons(100, 0)},
      {"ChanProdConsWork0", "ns/op", prod_cons(0, 100)},
      {"ChanProdConsWork10", "ns/op", prod_cons(10, 100)},
      {"ChanProdConsWork100", "ns/op", prod_cons(100, 100)},
      {"SelectProdCons", "ns/op", timed(select_prod_cons)},
      {"ChanCreation", "ns/op", timed(chan_creation)},
      {"ChanSem", "ns/op", timed(chan_sem)},
      {"ChanPopular", "ns/op", timed(chan_popular)},
      {"ChanClosed", "ns/op",
       [](const config& cfg) {
         auto r = bench::measure(chan_closed, cfg.time);
         if (g_chan_closed_failed) r.check = "FAIL:default-taken-on-closed-channel";
         return r;
       }},
      {"CreateGoroutines", "ns/op", create(false)},
      {"CreateGoroutinesParallel", "ns/op", create(true)},
      {"PingPongHog", "ns/op", timed(ping_pong_hog)},
      {"Skynet1M", "ms/run", skynet_workload},
      {"Pipeline1M", "ns/value", [](const config& c) { return pipeline_workload(c, pipeline); }},
      {"FanOutIn1M", "ns/value", [](const config& c) { return pipeline_workload(c, fan_out_in); }},
      {"PipelineDone1M", "ns/value",
       [](const config& c) { return pipeline_workload(c, pipeline_done); }},
      {"FanOutInDone1M", "ns/value",
       [](const config& c) { return pipeline_workload(c, fan_out_in_done); }},
      {"ContextCancel100k", "ns/context", context_workload},
      {"MemParked100k", "B/goroutine", mem(100'000)},
      {"MemParked1M", "B/goroutine", mem(1'000'000)},
      {"IdleTimers10k", "ms", idle_workload},
      {"SpawnJoin1M", "ns/goroutine", spawn_join_workload},
      {"DaisyChain100k", "ms/run", daisy_chain_workload},
      {"DaisyChainWarm100k", "ms/run", daisy_chain_warm_workload},
      {"DaisyChainRSS100k", "MB", daisy_chain_rss_workload},
  };
}

// Workloads that start and stop the runtime themselves.
std::vector<bench::workload> outside_workloads(const goro::options& opts) {
  return {
      {"ExitParked40k", "ns/goroutine",
       [opts](const bench::config& cfg) { return exit_parked_workload(cfg, opts, false); }},
      {"ExitUnwind40k", "ns/goroutine",
       [opts](const bench::config& cfg) { return exit_parked_workload(cfg, opts, true); }},
  };
}

}  // namespace

int main(int argc, char** argv) {
  const auto cfg = bench::parse_args(argc, argv);
  if (!cfg) {
    bench::usage(argv[0]);
    return 2;
  }
  goro::options opts;
  opts.threads = cfg->threads;
  const auto inside = workloads();
  const auto outside = outside_workloads(opts);
  auto all = inside;
  all.insert(all.end(), outside.begin(), outside.end());
  if (int status = bench::check_names(all, *cfg); status != 0 || cfg->list) return status;
  auto named = [&](const std::vector<bench::workload>& ws) {
    if (cfg->names.empty()) return true;
    for (const auto& w : ws) {
      if (std::find(cfg->names.begin(), cfg->names.end(), w.name) != cfg->names.end()) return true;
    }
    return false;
  };
  int status = 0;
  if (named(inside)) {
    goro::options in = opts;
    // PingPongHog runs at GOMAXPROCS=1 in Go whatever -cpu says.
    if (cfg->names.size() == 1 && cfg->names[0] == "PingPongHog") in.threads = 1;
    status = goro::run(in, [&] { return bench::run_selected(inside, *cfg, cfg->threads); });
  }
  if (named(outside)) status |= bench::run_selected(outside, *cfg, cfg->threads);
  return status;
}
