// The for-select loop: `for { select { ... } }`, the shape of most goroutines.
//
// A select with on_default() never blocks, so the loop can check for cancellation between
// pieces of work. Note: goro does not preempt goroutines, so a loop that never blocks must
// give the scheduler a chance now and then (goro::yield(), or any blocking call: here the
// work sleeps). Go original: samples/go/for_select/main.go.
#include <cstdio>
#include <string>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

int main() {
  return goro::run([] {
    std::printf("-- sending iteration variables out on a channel --\n");
    auto done = goro::make_chan<goro::unit>();
    auto string_stream = goro::make_chan<std::string>();
    goro::go([done, string_stream] {
      goro::defer close_it([string_stream] { string_stream.close(); });
      for (std::string s : {"a", "b", "c"}) {
        if (goro::select(goro::on_recv(done),              // case <-done:
                         goro::on_send(string_stream, s))  // case stringStream <- s:
            == 0) {
          return;
        }
      }
    });
    for (const std::string& s : string_stream) std::printf("%s\n", s.c_str());

    std::printf("-- looping infinitely waiting to be stopped --\n");
    done = goro::make_chan<goro::unit>();
    goro::after_func(20ms, [done] { done.close(); });
    int work = 0;
    [&] {
      for (;;) {
        if (goro::select(goro::on_recv(done), goro::on_default()) == 0) return;
        // Do non-preemptable work
        work++;
        goro::sleep(1ms);
      }
    }();
    std::printf("stopped; did some work: %s\n", work > 0 ? "true" : "false");

    std::printf("-- the work in the default clause --\n");
    done = goro::make_chan<goro::unit>();
    goro::after_func(20ms, [done] { done.close(); });
    work = 0;
    [&] {
      for (;;) {
        bool stop = false;
        goro::select(goro::on_recv(done, [&](auto) { stop = true; }), goro::on_default([&] {
                       // Do non-preemptable work
                       work++;
                       goro::sleep(1ms);
                     }));
        if (stop) return;
      }
    }();
    std::printf("stopped; did some work: %s\n", work > 0 ? "true" : "false");
  });
}
