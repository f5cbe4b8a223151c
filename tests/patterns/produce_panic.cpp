// produce's f throws: the channel is closed and the exception escapes the goroutine, a
// panic (exit status 2, "panic: " and what() on stderr). Run by expect_panic.py.
#include <cstdio>
#include <stdexcept>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

int main() {
  return goro::run([] {
    auto c = goro::produce<int>(0, [](goro::send_chan<int> out) {
      out.send(1);
      throw std::runtime_error("boom");
    });
    for (int v : c) std::printf("got %d\n", v);
    std::printf("closed\n");
    std::fflush(stdout);
    goro::sleep(5s);  // the panic ends the process first
    return 0;
  });
}
