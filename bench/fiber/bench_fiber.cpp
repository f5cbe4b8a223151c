// Boost.Fiber versions of the goro benchmark workloads (bench/goro/bench_goro.cpp), for
// the rows where Boost.Fiber has the means: it has channels and fibers but no select, so
// every select-based workload is left out (the table shows n/a).
//
// Scheduling: round_robin on one thread; work_stealing on N threads (the main thread plus
// N-1 helpers whose main fibers sleep on a condition variable while their dispatchers run
// stolen fibers). work_stealing is used with its default (suspend = false), the
// configuration of Boost's own examples: idle threads spin, which the CPU column shows.
//
// Channel mapping: an unbuffered Go channel is a boost::fibers::unbuffered_channel; a Go
// channel of capacity c is a buffered_channel whose capacity is the smallest power of two
// that holds c values (Boost's ring keeps one slot free, and wants a power of two).
// Channels that fibers may still touch after the owner stops waiting are shared_ptrs, as a
// Go channel lives as long as someone refers to it.
#include <boost/fiber/algo/round_robin.hpp>
#include <boost/fiber/algo/work_stealing.hpp>
#include <boost/fiber/all.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace {

namespace fibers = boost::fibers;
using fibers::buffered_channel;
using fibers::channel_op_status;
using fibers::unbuffered_channel;

unsigned g_threads = 1;  // GOMAXPROCS of this process

// The stack of every fiber: BENCH_FIBER_STACK_KB, else 64 KiB (see stack_size()).
fibers::fixedsize_stack g_stack;

std::size_t boost_capacity(std::size_t go_capacity) {
  std::size_t c = 2;
  while (c - 1 < go_capacity) c *= 2;
  return c;
}

template <class T>
std::shared_ptr<buffered_channel<T>> make_buffered(std::size_t go_capacity) {
  return std::make_shared<buffered_channel<T>>(boost_capacity(go_capacity));
}

template <class T>
std::shared_ptr<unbuffered_channel<T>> make_unbuffered() {
  return std::make_shared<unbuffered_channel<T>>();
}

template <class F>
fibers::fiber spawn(F&& f) {
  return fibers::fiber(std::allocator_arg, g_stack, std::forward<F>(f));
}

template <class F>
void go(F&& f) {
  spawn(std::forward<F>(f)).detach();
}

// b.RunParallel: GOMAXPROCS fibers share the iteration counter.
template <class Body>
void run_parallel(bench::B& b, Body body) {
  bench::parallel_counter counter(b);
  std::vector<fibers::fiber> workers;
  for (unsigned p = 0; p < g_threads; ++p) {
    workers.push_back(spawn([&counter, &body] {
      bench::PB pb(counter);
      body(pb);
    }));
  }
  for (auto& w : workers) w.join();
}

template <class T>
T recv(buffered_channel<T>& c) {
  return c.value_pop();
}

template <class T>
T recv(unbuffered_channel<T>& c) {
  return c.value_pop();
}

// ---- Go's runtime benchmarks (src/runtime/chan_test.go, proc_test.go) -----------------

void chan_uncontended(bench::B& b) {
  constexpr int C = 100;
  run_parallel(b, [](bench::PB& pb) {
    buffered_channel<int> myc(boost_capacity(C));
    while (pb.next()) {
      for (int i = 0; i < C; ++i) myc.push(0);
      for (int i = 0; i < C; ++i) recv(myc);
    }
  });
}

void chan_contended(bench::B& b) {
  constexpr int C = 100;
  buffered_channel<int> myc(boost_capacity(C * g_threads));
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) {
      for (int i = 0; i < C; ++i) myc.push(0);
      for (int i = 0; i < C; ++i) recv(myc);
    }
  });
}

void chan_sync(bench::B& b) {
  constexpr int calls_per_sched = 1000;
  constexpr int procs = 2;
  std::atomic<std::int64_t> n{b.n / calls_per_sched / procs * procs};
  auto c = make_buffered<bool>(procs);
  auto myc = make_unbuffered<int>();
  for (int p = 0; p < procs; ++p) {
    go([&n, c, myc] {
      for (;;) {
        const std::int64_t i = n.fetch_sub(1) - 1;
        if (i < 0) break;
        for (int g = 0; g < calls_per_sched; ++g) {
          if (i % 2 == 0) {
            recv(*myc);
            myc->push(0);
          } else {
            myc->push(0);
            recv(*myc);
          }
        }
      }
      c->push(true);
    });
  }
  for (int p = 0; p < procs; ++p) recv(*c);
}

void chan_prod_cons(bench::B& b, std::size_t chan_size, int work) {
  constexpr int calls_per_sched = 1000;
  const unsigned procs = g_threads;
  std::atomic<std::int64_t> n{b.n / calls_per_sched};
  auto c = make_buffered<bool>(2 * procs);
  // Both kinds of channel behind one interface: push and pop by value.
  struct channel {
    std::unique_ptr<unbuffered_channel<int>> unbuffered;
    std::unique_ptr<buffered_channel<int>> buffered;
    void push(int v) { unbuffered ? unbuffered->push(v) : buffered->push(v); }
    int pop() { return unbuffered ? unbuffered->value_pop() : buffered->value_pop(); }
  };
  auto myc = std::make_shared<channel>();
  if (chan_size == 0) {
    myc->unbuffered = std::make_unique<unbuffered_channel<int>>();
  } else {
    myc->buffered = std::make_unique<buffered_channel<int>>(boost_capacity(chan_size));
  }
  for (unsigned p = 0; p < procs; ++p) {
    go([&n, c, myc, work] {
      std::int64_t foo = 0;
      while (n.fetch_sub(1) - 1 >= 0) {
        for (int g = 0; g < calls_per_sched; ++g) {
          bench::local_work(foo, work);
          myc->push(1);
        }
      }
      myc->push(0);
      c->push(foo == 42);
    });
    go([c, myc, work] {
      std::int64_t foo = 0;
      for (;;) {
        if (myc->pop() == 0) break;
        bench::local_work(foo, work);
      }
      c->push(foo == 42);
    });
  }
  for (unsigned p = 0; p < procs; ++p) {
    recv(*c);
    recv(*c);
  }
}

void chan_creation(bench::B& b) {
  run_parallel(b, [](bench::PB& pb) {
    while (pb.next()) {
      buffered_channel<int> myc(boost_capacity(1));
      myc.push(0);
      recv(myc);
    }
  });
}

void chan_sem(bench::B& b) {
  struct empty {};
  buffered_channel<empty> myc(boost_capacity(g_threads));
  run_parallel(b, [&](bench::PB& pb) {
    while (pb.next()) {
      myc.push(empty{});
      recv(myc);
    }
  });
}

void create_chain(int n, std::shared_ptr<unbuffered_channel<bool>> c) {
  if (n == 0) {
    c->push(true);
    return;
  }
  go([n, c = std::move(c)]() mutable { create_chain(n - 1, std::move(c)); });
}

void create_goroutines(bench::B& b, unsigned procs) {
  auto c = make_unbuffered<bool>();
  for (unsigned i = 0; i < procs; ++i) {
    go([n = static_cast<int>(b.n / procs), c] { create_chain(n, c); });
  }
  for (unsigned i = 0; i < procs; ++i) recv(*c);
}

// Go's hog spins in a non-blocking receive and is preempted by Go's scheduler; fibers are
// cooperative, so this hog yields after each check. Go runs this benchmark at
// GOMAXPROCS=1 whatever -cpu says; so does this port.
void ping_pong_hog(bench::B& b) {
  auto stop = make_buffered<bool>(0);  // only ever closed: try_pop is Go's select/default
  auto done = make_unbuffered<bool>();
  auto ping = make_unbuffered<bool>();
  auto pong = make_unbuffered<bool>();
  go([stop, done] {
    for (;;) {
      bool v;
      if (stop->try_pop(v) == channel_op_status::closed) {
        done->push(true);
        return;
      }
      boost::this_fiber::yield();
    }
  });
  const std::int64_t n = b.n;
  go([=] {
    for (std::int64_t j = 0; j < n; ++j) pong->push(recv(*ping));
    stop->close();
    done->push(true);
  });
  go([=] {
    for (std::int64_t i = 0; i < n; ++i) ping->push(recv(*pong));
    done->push(true);
  });
  b.reset_timer();
  ping->push(true);
  bool v;
  stop->pop(v);  // returns once stop is closed
  b.stop_timer();
  recv(*ping);
  for (int i = 0; i < 3; ++i) recv(*done);
}

// ---- skynet, pipelines -------------------------------------------------------------------

void skynet(std::shared_ptr<unbuffered_channel<std::int64_t>> c, std::int64_t num,
            std::int64_t size, std::int64_t div) {
  if (size == 1) {
    c->push(num);
    return;
  }
  auto rc = make_unbuffered<std::int64_t>();
  for (std::int64_t i = 0; i < div; ++i) {
    const std::int64_t sub_num = num + i * (size / div);
    go([rc, sub_num, size, div] { skynet(rc, sub_num, size / div, div); });
  }
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += recv(*rc);
  c->push(sum);
}

bench::report skynet_workload(const bench::config& cfg) {
  const std::int64_t leaves = bench::sizes::of(cfg).skynet_leaves;
  std::string check = "ok";
  auto r = bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          auto c = make_unbuffered<std::int64_t>();
          go([c, leaves] { skynet(c, 0, leaves, 10); });
          const std::int64_t sum = recv(*c);
          if (sum != bench::skynet_sum(leaves))
            check = bench::fail("sum", sum, bench::skynet_sum(leaves));
        }
      },
      cfg.time);
  r.value /= 1e6;  // ms per skynet
  r.cpu /= 1e6;
  r.check = check;
  return r;
}

using int_chan = unbuffered_channel<std::int64_t>;

// One pipeline stage: range over in, send f(v) to out, close out.
template <class F>
fibers::fiber stage(int_chan& in, int_chan& out, F f) {
  return spawn([&in, &out, f] {
    std::int64_t v;
    while (in.pop(v) == channel_op_status::success) out.push(f(v));
    out.close();
  });
}

fibers::fiber generator(int_chan& out, std::int64_t n) {
  return spawn([&out, n] {
    for (std::int64_t i = 0; i < n; ++i) out.push(i);
    out.close();
  });
}

std::int64_t sink(int_chan& in) {
  std::int64_t sum = 0;
  std::int64_t v;
  while (in.pop(v) == channel_op_status::success) sum += v;
  return sum;
}

// generator -> stage1 -> stage2 -> stage3 -> sink, unbuffered channels.
std::int64_t pipeline(std::int64_t n) {
  int_chan c0, c1, c2, c3;
  std::vector<fibers::fiber> fs;
  fs.push_back(generator(c0, n));
  fs.push_back(stage(c0, c1, bench::stage1));
  fs.push_back(stage(c1, c2, bench::stage2));
  fs.push_back(stage(c2, c3, bench::stage3));
  const std::int64_t sum = sink(c3);
  for (auto& f : fs) f.join();
  return sum;
}

// generator -> `workers` workers (each applies stage1..3) -> fan-in (one forwarder per
// worker into one channel, closed when all are done) -> sink.
std::int64_t fan_out_in(std::int64_t n, int workers) {
  int_chan source;
  int_chan merged;
  std::vector<int_chan> outs(static_cast<std::size_t>(workers));
  std::vector<fibers::fiber> fs;
  fs.push_back(generator(source, n));
  for (auto& out : outs) {
    fs.push_back(stage(source, out, [](std::int64_t v) {
      return bench::stage3(bench::stage2(bench::stage1(v)));
    }));
  }
  std::atomic<int> live{workers};
  for (auto& out : outs) {
    fs.push_back(spawn([&out, &merged, &live] {
      std::int64_t v;
      while (out.pop(v) == channel_op_status::success) merged.push(v);
      if (live.fetch_sub(1) == 1) merged.close();
    }));
  }
  const std::int64_t sum = sink(merged);
  for (auto& f : fs) f.join();
  return sum;
}

bench::report pipeline_workload(const bench::config& cfg, bool fan) {
  const auto sz = bench::sizes::of(cfg);
  const std::int64_t n = sz.pipeline_values;
  std::string check = "ok";
  auto r = bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          const std::int64_t sum = fan ? fan_out_in(n, sz.fan_workers) : pipeline(n);
          if (sum != bench::pipeline_sum(n))
            check = bench::fail("sum", sum, bench::pipeline_sum(n));
        }
      },
      cfg.time, static_cast<double>(n));
  r.check = check;
  return r;
}

// ---- memory and idle cost --------------------------------------------------------------

bench::report memory_workload(std::int64_t n) {
  auto c = make_unbuffered<bool>();
  auto exited = make_buffered<bool>(0);
  std::atomic<std::int64_t> started{0};
  std::atomic<std::int64_t> left{n};
  const std::int64_t before = bench::rss_bytes();
  for (std::int64_t i = 0; i < n; ++i) {
    go([&, c, exited] {
      started.fetch_add(1);
      bool v;
      c->pop(v);  // parked until c is closed
      if (left.fetch_sub(1) == 1) exited->close();
    });
  }
  while (started.load() < n) boost::this_fiber::yield();
  boost::this_fiber::sleep_for(std::chrono::milliseconds(10));  // let the last ones park
  const std::int64_t after = bench::rss_bytes();
  c->close();
  bool v;
  exited->pop(v);
  return bench::memory_report(before, after, n);
}

// Wall and CPU milliseconds while the fibers sleep on timers (bench::idle_report).
bench::report idle_workload(const bench::config& cfg) {
  const auto sz = bench::sizes::of(cfg);
  std::atomic<std::int64_t> started{0};
  std::vector<fibers::fiber> fs;
  fs.reserve(static_cast<std::size_t>(sz.idle_goroutines));
  for (std::int64_t i = 0; i < sz.idle_goroutines; ++i) {
    fs.push_back(spawn([&started, wait = sz.idle_wait] {
      started.fetch_add(1);
      boost::this_fiber::sleep_for(wait);
    }));
  }
  while (started.load() < sz.idle_goroutines) boost::this_fiber::yield();
  const std::int64_t wall0 = bench::wall_now_ns();
  const std::int64_t cpu0 = bench::cpu_now_ns();
  for (auto& f : fs) f.join();
  return bench::idle_report(bench::wall_now_ns() - wall0, bench::cpu_now_ns() - cpu0,
                            sz.idle_goroutines);
}

// ---- spawning many at once, the daisy chain ----------------------------------------------

// Spawns n fibers from one fiber, each counting itself done (the last closes `done`, as
// memory_workload's do: Boost.Fiber has no wait group), then waits: ns per fiber.
bench::report spawn_join_workload(const bench::config& cfg) {
  const std::int64_t n = cfg.smoke ? 1'000 : 1'000'000;
  return bench::measure(
      [n](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          auto done = make_buffered<bool>(0);
          std::atomic<std::int64_t> left{n};
          for (std::int64_t j = 0; j < n; ++j) {
            go([&left, done] {
              if (left.fetch_sub(1) == 1) done->close();
            });
          }
          bool v;
          done->pop(v);
        }
      },
      cfg.time, static_cast<double>(n));
}

// Pike's "whispers": n fibers linked by unbuffered channels.
std::int64_t whispers(int n) {
  auto leftmost = make_unbuffered<int>();
  auto left = leftmost;
  for (int i = 0; i < n; ++i) {
    auto right = make_unbuffered<int>();
    go([left, right] { left->push(1 + recv(*right)); });
    left = std::move(right);
  }
  go([left] { left->push(1); });
  return recv(*leftmost);
}

bench::report daisy_chain_workload(const bench::config& cfg) {
  const int n = cfg.smoke ? 1'000 : 100'000;
  std::string check = "ok";
  auto r = bench::measure(
      [&](bench::B& b) {
        for (std::int64_t i = 0; i < b.n; ++i) {
          if (const std::int64_t got = whispers(n); got != n + 1)
            check = bench::fail("sum", got, n + 1);
        }
      },
      cfg.time, 1e6);  // ms per chain
  r.check = check;
  return r;
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

bench::report timed(void (*body)(bench::B&), const bench::config& cfg) {
  return bench::measure(body, cfg.time);
}

std::vector<bench::workload> workloads() {
  using bench::config;
  auto prod_cons = [](std::size_t size, int work) {
    return [=](const config& cfg) {
      return bench::measure([=](bench::B& b) { chan_prod_cons(b, size, work); }, cfg.time);
    };
  };
  auto mem = [](std::int64_t n) {
    return [=](const config& cfg) { return memory_workload(cfg.smoke ? 1'000 : n); };
  };
  return {
      {"ChanUncontended", "ns/op", [](const config& c) { return timed(chan_uncontended, c); }},
      {"ChanContended", "ns/op", [](const config& c) { return timed(chan_contended, c); }},
      {"ChanSync", "ns/op", [](const config& c) { return timed(chan_sync, c); }},
      {"ChanProdCons0", "ns/op", prod_cons(0, 0)},
      {"ChanProdCons10", "ns/op", prod_cons(10, 0)},
      {"ChanProdCons100", "ns/op", prod_cons(100, 0)},
      {"ChanProdConsWork0", "ns/op", prod_cons(0, 100)},
      {"ChanProdConsWork10", "ns/op", prod_cons(10, 100)},
      {"ChanProdConsWork100", "ns/op", prod_cons(100, 100)},
      {"ChanCreation", "ns/op", [](const config& c) { return timed(chan_creation, c); }},
      {"ChanSem", "ns/op", [](const config& c) { return timed(chan_sem, c); }},
      {"CreateGoroutines", "ns/op",
       [](const config& c) {
         return bench::measure([](bench::B& b) { create_goroutines(b, 1); }, c.time);
       }},
      {"CreateGoroutinesParallel", "ns/op",
       [](const config& c) {
         return bench::measure([](bench::B& b) { create_goroutines(b, g_threads); }, c.time);
       }},
      {"PingPongHog", "ns/op", [](const config& c) { return timed(ping_pong_hog, c); }},
      {"Skynet1M", "ms/run", skynet_workload},
      {"Pipeline1M", "ns/value", [](const config& c) { return pipeline_workload(c, false); }},
      {"FanOutIn1M", "ns/value", [](const config& c) { return pipeline_workload(c, true); }},
      {"MemParked100k", "B/goroutine", mem(100'000)},
      {"MemParked1M", "B/goroutine", mem(1'000'000)},
      {"IdleTimers10k", "ms", idle_workload},
      {"SpawnJoin1M", "ns/goroutine", spawn_join_workload},
      {"DaisyChain100k", "ms/run", daisy_chain_workload},
      {"DaisyChainRSS100k", "MB", daisy_chain_rss_workload},
  };
}

std::size_t stack_size() {
  const char* kb = std::getenv("BENCH_FIBER_STACK_KB");
  return (kb != nullptr && std::atoi(kb) > 0 ? std::atoi(kb) : 64) * std::size_t{1024};
}

// Runs main_fn on the main thread's main fiber with `threads` scheduler threads.
int run_fibers(unsigned threads, const std::function<int()>& main_fn) {
  if (threads <= 1) {
    fibers::use_scheduling_algorithm<fibers::algo::round_robin>();
    return main_fn();
  }
  fibers::mutex mtx;
  fibers::condition_variable_any cv;
  bool finished = false;
  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < threads; ++i) {
    helpers.emplace_back([&] {
      fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
      std::unique_lock lock(mtx);
      cv.wait(lock, [&] { return finished; });
    });
  }
  fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
  const int status = main_fn();
  {
    std::unique_lock lock(mtx);
    finished = true;
  }
  cv.notify_all();
  for (auto& h : helpers) h.join();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const auto cfg = bench::parse_args(argc, argv);
  if (!cfg) {
    bench::usage(argv[0]);
    return 2;
  }
  const auto all = workloads();
  if (int status = bench::check_names(all, *cfg); status != 0 || cfg->list) return status;
  // PingPongHog runs at GOMAXPROCS=1 in Go whatever -cpu says.
  const bool hog_only = cfg->names.size() == 1 && cfg->names[0] == "PingPongHog";
  g_threads = hog_only ? 1 : cfg->threads;
  g_stack = fibers::fixedsize_stack(stack_size());
  return run_fibers(g_threads, [&] { return bench::run_selected(all, *cfg, cfg->threads); });
}
