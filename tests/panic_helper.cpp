// A small program for panic_test.cpp: runs the scenario named by argv[1] in a goro runtime.
// Scenarios that should panic or deadlock never return normally; if the runtime fails to
// end the process they fall through to "survived" and exit 0, which the test reports.
//
// The id of a goroutine about to panic is printed on stdout as "id=N" so that the test can
// look for that id in the panic message.
#include <goro/goro.hpp>

#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

void print_id() {
  std::printf("id=%llu\n", static_cast<unsigned long long>(goro::goroutine_id()));
  std::fflush(stdout);
}

// Main waits here after starting a goroutine that panics. Long enough for any panic; the
// runtime must have ended the process before it is over.
void linger() {
  goro::sleep(10s);
}

// Deep recursion that the optimiser cannot turn into a loop.
__attribute__((noinline)) int recurse(int n) {
  volatile char frame[512];
  frame[0] = static_cast<char>(n);
  return n == 0 ? frame[0] : recurse(n - 1) + frame[0];
}

int survived() {
  std::printf("survived\n");
  std::fflush(stdout);
  return 0;
}

int scenario(const std::string& name) {
  if (name == "goroutine_throw") {
    return goro::run(goro::options{.threads = 2}, [] {
      goro::go([] {
        print_id();
        throw std::runtime_error("boom from a goroutine");
      });
      linger();
      return survived();
    });
  }
  if (name == "goroutine_throw_after_block") {
    // The goroutine panics after it has parked and resumed (possibly on another worker).
    return goro::run(goro::options{.threads = 4}, [] {
      auto c = goro::make_chan<int>();
      goro::go([c] {
        c.recv();
        goro::sleep(5ms);
        print_id();
        throw std::runtime_error("boom after blocking");
      });
      goro::go([c] { c.send(1); });
      linger();
      return survived();
    });
  }
  if (name == "seeded_panic") {
    // A run given a seed prints it when it ends in a panic, so that it can be replayed.
    return goro::run(goro::options{.threads = 1, .seed = 12345}, [] {
      goro::go([] {
        print_id();
        throw std::runtime_error("boom under a seed");
      });
      linger();
      return survived();
    });
  }
  if (name == "seeded_deadlock") {
    // GORO_SEED (set by the test) wins over options::seed.
    return goro::run(goro::options{.threads = 1, .seed = 1}, [] {
      goro::make_chan<int>().recv();
      return survived();
    });
  }
  if (name == "main_throw") {
    return goro::run(goro::options{.threads = 2}, []() -> int {
      print_id();
      throw std::runtime_error("boom from main");
    });
  }
  if (name == "main_throw_void") {
    goro::run(goro::options{.threads = 1}, [] {
      goro::sleep(1ms);
      print_id();
      throw std::logic_error("boom from a void main");
    });
    return survived();
  }
  if (name == "send_on_closed") {
    // An uncaught panic_error from the runtime itself.
    return goro::run(goro::options{.threads = 2}, [] {
      goro::go([] {
        auto c = goro::make_chan<int>(1);
        c.close();
        print_id();
        c.send(1);
      });
      linger();
      return survived();
    });
  }
  if (name == "throw_int") {
    // Not a std::exception: still a panic, with no what() to print.
    return goro::run(goro::options{.threads = 2}, [] {
      goro::go([] {
        print_id();
        throw 42;
      });
      linger();
      return survived();
    });
  }
  if (name == "after_func_throw") {
    // after_func's f runs in a goroutine of its own: its exception is a panic too.
    return goro::run(goro::options{.threads = 2}, [] {
      goro::after_func(5ms, [] {
        print_id();
        throw std::runtime_error("boom from after_func");
      });
      linger();
      return survived();
    });
  }
  if (name == "deadlock_main_recv") {
    // Main waits for a value nobody can send, and nothing else can happen.
    return goro::run(goro::options{.threads = 2}, [] {
      auto c = goro::make_chan<int>();
      c.recv();
      return survived();
    });
  }
  if (name == "deadlock_all_blocked") {
    // Main waits on a wait_group; the goroutines that should finish it wait on each other.
    return goro::run(goro::options{.threads = 4}, [] {
      goro::wait_group wg;
      auto a = goro::make_chan<int>();
      auto b = goro::make_chan<int>();
      wg.go([a, b] {
        a.recv();
        b.send(1);
      });
      wg.go([a, b] {
        b.recv();
        a.send(1);
      });
      wg.wait();
      return survived();
    });
  }
  if (name == "deadlock_after_timers") {
    // Timers pending at first are not a deadlock; once they are done and everything is
    // blocked, it is.
    return goro::run(goro::options{.threads = 2}, [] {
      goro::sleep(50ms);
      auto c = goro::make_chan<int>();
      goro::go([c] {
        goro::sleep(50ms);
        c.send(1);
      });
      c.recv();
      goro::select();  // blocks forever, with nothing left to wake it
      return survived();
    });
  }
  if (name == "no_deadlock_thread") {
    // A plain thread that will send later keeps the program alive.
    return goro::run(goro::options{.threads = 2}, [] {
      auto c = goro::make_chan<int>();
      std::thread t([c] {
        std::this_thread::sleep_for(300ms);
        c.send(1);
      });
      c.recv();
      t.join();
      return survived();
    });
  }
  if (name == "io_wait_then_deadlock") {
    // A goroutine in IO wait can be woken from outside (here by a timerfd, which the runtime
    // knows nothing of): not a deadlock. Once it is done and main blocks for good, it is.
    return goro::run(goro::options{.threads = 2}, [] {
      const int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      itimerspec its{};
      its.it_value.tv_nsec = 200'000'000;
      ::timerfd_settime(tfd, 0, &its, nullptr);
      const bool ready = goro::io::wait_readable(tfd);
      std::printf("io done %d\n", ready ? 1 : 0);
      std::fflush(stdout);
      goro::make_chan<int>().recv();
      return survived();
    });
  }
  if (name == "no_deadlock_timer") {
    // A pending timer keeps the program alive: all goroutines wait, but one will wake.
    return goro::run(goro::options{.threads = 2}, [] {
      auto c = goro::make_chan<int>();
      goro::after_func(300ms, [c] { c.send(1); });
      c.recv();
      goro::after(100ms).recv();
      return survived();
    });
  }
  if (name == "sigquit") {
    // Go's SIGQUIT: a dump of every goroutine, then exit status 2.
    return goro::run(goro::options{.threads = 2}, [] {
      auto c = goro::make_chan<int>();
      goro::go([c] {
        goro::set_goroutine_name("napper");
        c.recv();
      });
      goro::sleep(50ms);
      std::raise(SIGQUIT);
      linger();
      return survived();
    });
  }
  if (name == "stack_overflow") {
    return goro::run(goro::options{.threads = 2}, [] {
      auto c = goro::make_chan<int>();
      goro::go([c] {
        print_id();
        c.send(recurse(1 << 30));
      });
      c.recv();
      return survived();
    });
  }
  if (name == "deadlock_detection_off") {
    // The program is deadlocked, but detection is off: it waits until the alarm kills it.
    goro::options opts;
    opts.threads = 2;
    opts.detect_deadlock = false;
    return goro::run(opts, [] {
      alarm(1);
      goro::make_chan<int>().recv();
      return survived();
    });
  }
  if (name == "exit_code") {
    return goro::run([] { return 7; });
  }
  // The flush_* scenarios print without flushing, then end fatally: what they printed must
  // still reach stdout, which the test makes a pipe or a file (so stdio buffers it fully).
  if (name.rfind("flush_", 0) == 0) {
    std::printf("printf line before the end\n");
    std::cout << "cout line before the end\n";
  }
  if (name == "flush_panic") {
    return goro::run(goro::options{.threads = 2}, [] {
      goro::go([] { throw std::runtime_error("boom after printing"); });
      linger();
      return survived();
    });
  }
  if (name == "flush_deadlock") {
    return goro::run(goro::options{.threads = 2}, [] {
      goro::make_chan<int>().recv();
      return survived();
    });
  }
  if (name == "flush_sigquit") {
    return goro::run(goro::options{.threads = 2}, [] {
      std::raise(SIGQUIT);
      linger();
      return survived();
    });
  }
  if (name == "flush_stack_overflow") {
    return goro::run(goro::options{.threads = 2}, [] {
      auto c = goro::make_chan<int>();
      goro::go([c] { c.send(recurse(1 << 30)); });
      c.recv();
      return survived();
    });
  }
  if (name == "flush_locked_by_dying") {
    // The panicking goroutine holds stdout's lock (glibc's are recursive per thread).
    return goro::run(goro::options{.threads = 2}, [] {
      goro::go([] {
        flockfile(stdout);
        std::printf("printed under the lock\n");
        throw std::runtime_error("boom holding stdout");
      });
      linger();
      return survived();
    });
  }
  if (name == "flush_locked_elsewhere") {
    // A plain thread takes stdout's lock and never gives it back: the panic must still end
    // the process (its output may be lost: nobody can flush a stream another thread holds).
    return goro::run(goro::options{.threads = 2}, [] {
      auto locked = goro::make_chan<goro::unit>();
      std::thread([locked] {
        flockfile(stdout);
        locked.send({});
        for (;;) std::this_thread::sleep_for(1h);
      }).detach();
      locked.recv();
      goro::go([] { throw std::runtime_error("boom while stdout is locked"); });
      linger();
      return survived();
    });
  }
  if (name == "exit_grace_spinner") {
    // Go's exit: main returns while a goroutine computes without ever blocking. The process
    // ends with main's status after the grace, and what main printed is not lost.
    goro::options opts;
    opts.threads = 2;
    opts.exit_grace = 50ms;
    static std::atomic<bool> spinning{false};
    const int status = goro::run(opts, [] {
      goro::go([] {
        spinning = true;
        for (;;) spinning.store(true, std::memory_order_relaxed);  // never blocks
      });
      while (!spinning) goro::yield();
      std::cout << "main is done\n";
      return 3;
    });
    std::printf("survived with %d\n", status);
    return status;
  }
  if (name == "exit_grace_off_cpu") {
    // The grace counts the goroutine's CPU time: a goroutine whose thread is off the CPU
    // (here in a raw sleep, as a loaded machine deschedules a worker) for longer than the
    // grace is waited for, and run returns once it blocks.
    goro::options opts;
    opts.threads = 2;
    opts.exit_grace = 50ms;
    static std::atomic<bool> started{false};
    const int status = goro::run(opts, [] {
      goro::go([] {
        started = true;
        ::usleep(400'000);  // the worker's thread sleeps: no CPU time passes for it
        goro::sleep(1h);    // then it blocks, and the worker stops
      });
      while (!started) goro::yield();
      std::cout << "main is done\n";
      return 3;
    });
    std::printf("survived with %d\n", status);
    return 0;
  }
  std::fprintf(stderr, "panic_helper: unknown scenario %s\n", name.c_str());
  return 100;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: panic_helper SCENARIO\n");
    return 100;
  }
  return scenario(argv[1]);
}
