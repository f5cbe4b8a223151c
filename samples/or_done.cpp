// The or-done-channel: read a channel you do not own, whose owner may never close it,
// until your own work is canceled.
//
// The for-select loop does it but buries the real work; goro::or_done(done, c) wraps it
// so that a plain range-for ends when c is closed or done is. Go original:
// samples/go/or_done/main.go.
#include <cstdio>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

int main() {
  return goro::run([]() -> int {
    // Somebody else's channel: five values, then it stalls without ever being closed.
    auto theirs = [] {
      auto c = goro::make_chan<int>();
      goro::go([c] {
        for (int i = 0; i < 5; i++) c.send(i);
        goro::select();  // select {}: blocks forever
      });
      return goro::recv_chan<int>(c);
    };

    std::printf("-- a for-select loop --\n");
    auto done = goro::make_chan<goro::unit>();
    goro::after_func(100ms, [done] { done.close(); });
    auto my_chan = theirs();
    for (;;) {
      std::optional<int> maybe_val;
      std::size_t k = goro::select(
          goro::on_recv(done), goro::on_recv(my_chan, [&](auto v) { maybe_val = std::move(v); }));
      if (k == 0) break;         // case <-done: break loop
      if (!maybe_val) return 0;  // closed: or maybe break from for
      // Do something with val
      std::printf("val: %d\n", *maybe_val);
    }
    std::printf("canceled\n");

    std::printf("-- orDone --\n");
    done = goro::make_chan<goro::unit>();
    goro::after_func(100ms, [done] { done.close(); });
    my_chan = theirs();
    for (int val : goro::or_done(done, my_chan)) {
      // Do something with val
      std::printf("val: %d\n", val);
    }
    std::printf("canceled\n");
    return 0;
  });
}
