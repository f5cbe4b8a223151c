// The tee-channel: split a stream in two, e.g. to execute user commands and also log them.
//
// goro::tee(done, in) is Go's tee: each value goes to both outputs (whichever reader comes
// first gets it first) before the next is read, so the two readers move in step.
// Go original: samples/go/tee/main.go.
#include <cstdio>

#include <goro/goro.hpp>

int main() {
  return goro::run([] {
    auto done = goro::make_chan<goro::unit>();
    goro::defer close_done([done] { done.close(); });

    auto [out1, out2] = goro::tee(done, goro::take(done, goro::repeat(done, 1, 2), 4));

    for (int val1 : out1) std::printf("out1: %d, out2: %d\n", val1, *out2.recv());
  });
}
