// The bridge-channel: consume a channel of channels (a sequence of streams, say one per
// batch or per connection) as one stream, in order.
//
// goro::bridge(done, streams) is Go's bridge. As in the Go example, done may be nil (a nil
// channel never closes). Go original: samples/go/bridge/main.go.
#include <cstdio>

#include <goro/goro.hpp>

int main() {
  return goro::run([] {
    auto gen_vals = [] {
      auto chan_stream = goro::make_chan<goro::recv_chan<int>>();
      goro::go([chan_stream] {
        goro::defer close_it([chan_stream] { chan_stream.close(); });
        for (int i = 0; i < 10; i++) {
          auto stream = goro::make_chan<int>(1);
          stream.send(i);
          stream.close();
          chan_stream.send(stream);
        }
      });
      return goro::recv_chan<goro::recv_chan<int>>(chan_stream);
    };

    for (int v : goro::bridge(nullptr, gen_vals())) std::printf("%d ", v);
    std::printf("\n");
  });
}
