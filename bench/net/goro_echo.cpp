// The goro echo server of the network benchmarks (bench/net/run.py): one goroutine per
// connection doing read -> write, as Go's servers are written (and as go/echo/main.go).
//
//   goro_echo 127.0.0.1:PORT THREADS
//
// Prints "LISTENING addr" once it listens, then serves until killed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <goro/goro.hpp>
#include <goro/net.hpp>

namespace net = goro::net;

static void handle(net::conn c) {
  // Nothing but this goroutine touches its stack: while a connection idles, the runtime may
  // give back the stack pages below the top one (the idle row; runtime/README.md).
  goro::allow_stack_shrink();
  std::byte buf[4096];
  std::error_code ec;
  while (std::size_t n = c.read(buf, ec)) {
    c.write(std::span<const std::byte>(buf, n), ec);
    if (ec) break;
  }
  c.close();
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: goro_echo HOST:PORT THREADS\n");
    return 2;
  }
  std::string address = argv[1];
  goro::options opts;
  opts.threads = static_cast<unsigned>(std::atoi(argv[2]));
  return goro::run(opts, [&] {
    net::listener ln = net::listen("tcp", address);
    std::printf("LISTENING %s\n", ln.addr().string().c_str());
    std::fflush(stdout);
    for (;;) {
      net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error& e) {
        std::fprintf(stderr, "goro_echo: %s\n", e.what());  // EMFILE and such: go on
        continue;
      }
      goro::go(handle, c);
    }
  });
}
