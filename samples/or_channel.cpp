// The or-channel: combine done channels into one that closes when any of them closes.
//
// First the notes' recursive `or`, ported line by line: it needs about one goroutine per
// two channels. Then goro::or_channel, which waits on all of them with one goroutine and a
// dynamic select (goro::select over a std::span<goro::select_case>, Go's reflect.Select).
// Go original: samples/go/or_channel/main.go.
#include <cstdio>
#include <functional>
#include <vector>

#include <goro/goro.hpp>

using namespace std::chrono_literals;
using goro::done_chan;

int main() {
  return goro::run([] {
    std::function<done_chan(std::vector<done_chan>)> or_ =
        [&or_](std::vector<done_chan> channels) -> done_chan {
      switch (channels.size()) {
        case 0:
          return nullptr;
        case 1:
          return channels[0];
      }
      auto or_done = goro::make_chan<goro::unit>();
      goro::go([&or_, channels, or_done] {
        goro::defer close_it([or_done] { or_done.close(); });
        switch (channels.size()) {
          case 2:
            goro::select(goro::on_recv(channels[0]), goro::on_recv(channels[1]));
            break;
          default: {
            std::vector<done_chan> rest(channels.begin() + 3, channels.end());
            rest.push_back(or_done);
            goro::select(goro::on_recv(channels[0]), goro::on_recv(channels[1]),
                         goro::on_recv(channels[2]), goro::on_recv(or_(rest)));
          }
        }
      });
      return or_done;
    };

    auto sig = [](goro::clock::duration after) -> done_chan {
      auto c = goro::make_chan<goro::unit>();
      goro::go([c, after] {
        goro::defer close_it([c] { c.close(); });
        goro::sleep(after);
      });
      return c;
    };

    auto start = goro::clock::now();
    or_({sig(2h), sig(5min), sig(1s), sig(1h), sig(1min)}).recv();
    std::printf("done after %s\n", goro::format_duration(goro::clock::now() - start).c_str());

    // One goroutine, one dynamic select over all the channels.
    start = goro::clock::now();
    goro::or_channel(sig(2h), sig(5min), sig(1s), sig(1h), sig(1min)).recv();
    std::printf("done after %s\n", goro::format_duration(goro::clock::now() - start).c_str());
  });
}
