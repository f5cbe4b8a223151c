// The benchmark harness shared by the goro and Boost.Fiber programs.
//
// It is a port of what Go's `testing` package does for a benchmark, so that the three
// implementations are measured the same way:
//   - `B` is `testing.B`: the body runs `b.n` operations, and `measure` grows `b.n` with
//     Go's own rule (B.launch in go/src/testing/benchmark.go) until one run takes at least
//     the bench time (or runs exactly N times with a bench time of "Nx").
//   - `parallel_counter` and `PB` are `testing.PB`: the iteration counter that
//     `b.RunParallel` hands out in grains to GOMAXPROCS goroutines.
// Besides wall time it records the process's CPU time (user + system, every thread), so
// a spinning scheduler shows up.
//
// Every program prints one line per workload:
//   RESULT name=<workload> threads=<n> value=<wall per unit> cpu=<cpu per unit>
//          unit=<unit> iters=<n> check=<ok|FAIL:why>
// which bench/run.py parses.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline std::int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the whole process (all threads), user + system.
inline std::int64_t cpu_now_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 +
           static_cast<std::int64_t>(tv.tv_usec) * 1'000;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// Resident set size of this process in bytes (VmRSS in /proc/self/status).
inline std::int64_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

// Peak resident set size of this process in bytes (VmHWM in /proc/self/status).
inline std::int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

// Go's -benchtime: a duration ("1s", "200ms") or an iteration count ("100x").
struct bench_time {
  std::int64_t ns = 1'000'000'000;
  std::int64_t n = 0;  // > 0: run exactly n iterations
};

inline std::optional<bench_time> parse_bench_time(std::string_view s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const std::string str(s);
  const double v = std::strtod(str.c_str(), &end);
  const std::string_view suffix(end);
  if (end == str.c_str() || v < 0) return std::nullopt;
  bench_time t;
  if (suffix == "x") {
    t.n = static_cast<std::int64_t>(v);
    return t.n > 0 ? std::optional(t) : std::nullopt;
  }
  double scale = 0;
  if (suffix == "s") scale = 1e9;
  if (suffix == "ms") scale = 1e6;
  if (suffix == "us") scale = 1e3;
  if (suffix == "ns") scale = 1;
  if (scale == 0) return std::nullopt;
  t.ns = static_cast<std::int64_t>(v * scale);
  return t;
}

// testing.B: `n` is b.N. The timer runs from construction until stop_timer().
class B {
 public:
  B(std::int64_t n, std::int64_t previous_n, std::int64_t previous_wall_ns)
      : n(n), previous_n_(previous_n), previous_wall_ns_(previous_wall_ns) {
    start_timer();
  }

  void start_timer() {
    if (timing_) return;
    wall_start_ = wall_now_ns();
    cpu_start_ = cpu_now_ns();
    timing_ = true;
  }

  void stop_timer() {
    if (!timing_) return;
    wall_ns_ += wall_now_ns() - wall_start_;
    cpu_ns_ += cpu_now_ns() - cpu_start_;
    timing_ = false;
  }

  void reset_timer() {
    if (timing_) {
      wall_start_ = wall_now_ns();
      cpu_start_ = cpu_now_ns();
    }
    wall_ns_ = 0;
    cpu_ns_ = 0;
  }

  std::int64_t wall_ns() const { return wall_ns_; }
  std::int64_t cpu_ns() const { return cpu_ns_; }

  // The grain of b.RunParallel: iterations in ~100us judged by the previous run, 1..1e4.
  std::uint64_t parallel_grain() const {
    std::uint64_t grain = 0;
    if (previous_n_ > 0 && previous_wall_ns_ > 0) {
      grain = static_cast<std::uint64_t>(100'000 * previous_n_ / previous_wall_ns_);
    }
    return std::clamp<std::uint64_t>(grain, 1, 10'000);
  }

  const std::int64_t n;

 private:
  std::int64_t previous_n_;
  std::int64_t previous_wall_ns_;
  bool timing_ = false;
  std::int64_t wall_start_ = 0;
  std::int64_t cpu_start_ = 0;
  std::int64_t wall_ns_ = 0;
  std::int64_t cpu_ns_ = 0;
};

// The shared iteration counter of one b.RunParallel call.
class parallel_counter {
 public:
  explicit parallel_counter(const B& b)
      : grain_(b.parallel_grain()), bn_(static_cast<std::uint64_t>(b.n)) {}

 private:
  friend class PB;
  std::atomic<std::uint64_t> next_{0};
  std::uint64_t grain_;
  std::uint64_t bn_;
};

// testing.PB: each parallel goroutine calls next() until it returns false.
class PB {
 public:
  explicit PB(parallel_counter& c) : c_(&c) {}

  bool next() {
    if (cache_ == 0) {
      const std::uint64_t n = c_->next_.fetch_add(c_->grain_) + c_->grain_;
      if (n <= c_->bn_) {
        cache_ = c_->grain_;
      } else if (n < c_->bn_ + c_->grain_) {
        cache_ = c_->bn_ + c_->grain_ - n;
      } else {
        return false;
      }
    }
    --cache_;
    return true;
  }

 private:
  parallel_counter* c_;
  std::uint64_t cache_ = 0;
};

struct report {
  double value = 0;        // wall time (or bytes, for memory rows) per unit
  double cpu = -1;         // CPU time per unit; < 0: not applicable
  std::int64_t iters = 0;  // b.N of the measured run (or the goroutine count)
  std::string check = "ok";
};

// Runs `body` the way `go test -bench` does (run1 with N = 1, then B.launch) and reports
// the last run: wall and CPU nanoseconds per operation, divided further by `per_op` when
// one operation processes `per_op` items (a pipeline of a million values, say).
inline report measure(const std::function<void(B&)>& body, bench_time bt, double per_op = 1) {
  struct run {
    std::int64_t n = 0, wall_ns = 0, cpu_ns = 0;
  };
  run last;
  auto run_n = [&](std::int64_t n) {
    B b(n, last.n, last.wall_ns);
    body(b);
    b.stop_timer();
    last = run{n, b.wall_ns(), b.cpu_ns()};
  };
  run_n(1);
  if (bt.n > 0) {
    if (bt.n > 1) run_n(bt.n);
  } else {
    for (std::int64_t n = 1; last.wall_ns < bt.ns && n < 1'000'000'000;) {
      const std::int64_t previous = n;
      // Go computes goalns * prevIters / prevns in int64; use 128 bits against overflow.
      n = static_cast<std::int64_t>(static_cast<__int128>(bt.ns) * last.n /
                                    std::max<std::int64_t>(last.wall_ns, 1));
      n += n / 5;
      n = std::min(n, 100 * previous);
      n = std::max(n, previous + 1);
      n = std::min<std::int64_t>(n, 1'000'000'000);
      run_n(n);
    }
  }
  report r;
  const double ops = static_cast<double>(last.n) * per_op;
  r.value = static_cast<double>(last.wall_ns) / ops;
  r.cpu = static_cast<double>(last.cpu_ns) / ops;
  r.iters = last.n;
  return r;
}

// ---- command line ----------------------------------------------------------------------

struct config {
  unsigned threads = 1;
  bench_time time;
  bool smoke = false;  // tiny sizes, every workload, for `meson test`
  bool list = false;
  std::vector<std::string> names;
};

inline void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--threads N] [--benchtime 1s|200ms|100x] [--smoke] [--list] "
               "[WORKLOAD...]\n",
               prog);
}

inline std::optional<config> parse_args(int argc, char** argv) {
  config cfg;
  if (const char* env = std::getenv("GOMAXPROCS")) cfg.threads = std::atoi(env);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--threads" && has_value) {
      cfg.threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (arg == "--benchtime" && has_value) {
      auto bt = parse_bench_time(argv[++i]);
      if (!bt) return std::nullopt;
      cfg.time = *bt;
    } else if (arg == "--smoke") {
      cfg.smoke = true;
    } else if (arg == "--list") {
      cfg.list = true;
    } else if (!arg.empty() && arg[0] != '-') {
      cfg.names.emplace_back(arg);
    } else {
      return std::nullopt;
    }
  }
  if (cfg.threads == 0) cfg.threads = 1;
  if (cfg.smoke) cfg.time = bench_time{0, 5};
  return cfg;
}

inline void print_report(std::string_view name, unsigned threads, std::string_view unit,
                         const report& r) {
  std::printf("RESULT name=%.*s threads=%u value=%.6g cpu=%.6g unit=%.*s iters=%lld check=%s\n",
              static_cast<int>(name.size()), name.data(), threads, r.value, r.cpu,
              static_cast<int>(unit.size()), unit.data(), static_cast<long long>(r.iters),
              r.check.c_str());
  std::fflush(stdout);
}

// ---- the workload registry of one program ----------------------------------------------

struct workload {
  std::string_view name;
  std::string_view unit;
  std::function<report(const config&)> run;
};

// Runs the workloads named in cfg (all of them when none is named) and prints their
// reports; returns the process exit status. `threads` is what the runtime was started
// with, for the report.
inline int run_selected(const std::vector<workload>& all, const config& cfg, unsigned threads) {
  int status = 0;
  for (const workload& w : all) {
    const bool selected = cfg.names.empty() ||
                          std::find(cfg.names.begin(), cfg.names.end(), w.name) != cfg.names.end();
    if (!selected) continue;
    const report r = w.run(cfg);
    print_report(w.name, threads, w.unit, r);
    if (r.check != "ok") status = 1;
  }
  return status;
}

// Returns 0 when every name in cfg is a workload of `all` (printing them with --list).
inline int check_names(const std::vector<workload>& all, const config& cfg) {
  if (cfg.list) {
    for (const workload& w : all)
      std::printf("%.*s\n", static_cast<int>(w.name.size()), w.name.data());
  }
  for (const std::string& n : cfg.names) {
    const bool known =
        std::any_of(all.begin(), all.end(), [&](const workload& w) { return w.name == n; });
    if (!known) {
      std::fprintf(stderr, "unknown workload: %s\n", n.c_str());
      return 2;
    }
  }
  return 0;
}

// ---- sizes of the fixed workloads (smaller with --smoke) ---------------------------------

struct sizes {
  std::int64_t skynet_leaves;
  std::int64_t pipeline_values;
  int fan_workers;
  int context_tree;
  std::int64_t idle_goroutines;
  std::chrono::milliseconds idle_wait;

  static sizes of(const config& cfg) {
    if (cfg.smoke) return {1'000, 1'000, 4, 1'000, 100, std::chrono::milliseconds(20)};
    return {1'000'000, 1'000'000, 4, 100'000, 10'000, std::chrono::milliseconds(2'000)};
  }
};

// Expected results, checked by every implementation.
inline std::int64_t skynet_sum(std::int64_t leaves) {
  return leaves * (leaves - 1) / 2;
}
// The pipeline maps v -> ((v + 1) * 2) - 1 = 2v + 1 over 0..n-1, whose sum is n*n.
inline std::int64_t pipeline_sum(std::int64_t n) {
  return n * n;
}
inline std::int64_t stage1(std::int64_t v) {
  return v + 1;
}
inline std::int64_t stage2(std::int64_t v) {
  return v * 2;
}
inline std::int64_t stage3(std::int64_t v) {
  return v - 1;
}

// The "local work" of Go's ChanProdConsWork benchmarks (foo *= 2; foo /= 2), kept opaque to
// the optimizer the way Go's compiler keeps it.
inline void local_work(std::int64_t& foo, int work) {
  for (int i = 0; i < work; ++i) {
    foo *= 2;
    asm volatile("" : "+r"(foo));
    foo /= 2;
    asm volatile("" : "+r"(foo));
  }
}

// The idle-cost row: wall and CPU milliseconds from the moment every goroutine has started
// (and is about to sleep) until the last one has woken; spawning them is not counted.
inline report idle_report(std::int64_t wall_ns, std::int64_t cpu_ns, std::int64_t goroutines) {
  report r;
  r.value = static_cast<double>(wall_ns) / 1e6;
  r.cpu = static_cast<double>(cpu_ns) / 1e6;
  r.iters = goroutines;
  return r;
}

// The memory rows: resident bytes per parked goroutine.
inline report memory_report(std::int64_t rss_before, std::int64_t rss_after, std::int64_t n) {
  report r;
  r.value = static_cast<double>(rss_after - rss_before) / static_cast<double>(n);
  r.cpu = -1;
  r.iters = n;
  return r;
}

inline std::string fail(const char* what, std::int64_t got, std::int64_t want) {
  return std::string("FAIL:") + what + "=" + std::to_string(got) + "(want:" + std::to_string(want) +
         ")";
}

}  // namespace bench
