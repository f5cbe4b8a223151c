// Confinement: data is safe without locks when only one goroutine can reach it.
//
// Ad hoc confinement relies on a convention (only loopData touches `data`); lexical
// confinement lets the compiler enforce it: chanOwner hands out a recv_chan, which has no
// send or close, so nobody else can write to the channel. goro::produce<T>(cap, f) is
// chanOwner ready-made. Go original: samples/go/confinement/main.go.
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <goro/goro.hpp>

// Go's generator() and receiver() from the notes.
goro::recv_chan<int> generator() {
  auto results = goro::make_chan<int>(2);
  goro::go([results] {
    goro::defer close_results([results] { results.close(); });
    for (int i = 0; i < 5; i++) {
      std::printf("Sending %d\n", i);
      // do some task that can take long time
      results.send(i);
    }
  });
  return results;
}

void receiver(goro::recv_chan<int> results) {
  for (int result : results) {
    // do some task as soon as the value is available
    std::printf("Received %d\n", result);
  }
  std::printf("Done!\n");
}

int main() {
  return goro::run([] {
    std::printf("-- ad hoc confinement --\n");
    std::vector<int> data(4);
    auto loop_data = [&data](goro::send_chan<int> handle_data) {
      goro::defer close_it([handle_data] { handle_data.close(); });
      for (std::size_t i = 0; i < data.size(); i++) handle_data.send(data[i]);
    };
    auto handle_data = goro::make_chan<int>();
    goro::go(loop_data, handle_data);
    for (int num : handle_data) std::printf("%d\n", num);

    std::printf("-- lexical confinement --\n");
    auto chan_owner = [] {
      // make(chan int, 5), a goroutine that fills and closes it, and only <-chan int
      // returned: exactly what goro::produce does.
      return goro::produce<int>(5, [](goro::send_chan<int> results) {
        for (int i = 0; i <= 5; i++) results.send(i);
      });
    };
    auto consumer = [](goro::recv_chan<int> results) {
      for (int result : results) std::printf("Received: %d\n", result);
      std::printf("Done receiving!\n");
    };
    goro::recv_chan<int> results = chan_owner();
    // results.send(1);   // does not compile: a recv_chan cannot send
    consumer(results);

    std::printf("-- generator and receiver --\n");
    receiver(generator());

    std::printf("-- confining parts of a slice --\n");
    auto print_data = [](goro::wait_group* wg, std::span<const char> data) {
      goro::defer done([wg] { wg->done(); });
      std::string buff;
      for (char b : data) buff += b;
      std::printf("%s\n", buff.c_str());
    };
    goro::wait_group wg;
    wg.add(2);
    static const std::string bytes_data = "golang";
    goro::go(print_data, &wg, std::span<const char>(bytes_data).first(3));
    goro::go(print_data, &wg, std::span<const char>(bytes_data).subspan(3));
    wg.wait();
  });
}
