// An echo server and its clients on loopback: one goroutine per connection, as Go's servers
// are written. Each client writes a line, half-closes its side (close_write), and reads the
// echo to the end; then the listener closes and one more dial is refused, with Go's text.
// Go original: samples/go/echo/main.go.
#include <cstdio>
#include <string>
#include <vector>

#include <goro/goro.hpp>
#include <goro/net.hpp>  // not in goro.hpp yet: net is the layer above the runtime

namespace net = goro::net;

// io.Copy(c, c): echo until the client closes its side (or an error, which ends it too).
void handle(net::conn c) {
  // Not in Go, which does it for every goroutine: while this connection idles, the runtime
  // may give back the stack pages below the top one, since nothing else uses this stack.
  goro::allow_stack_shrink();
  goro::defer closer([&] { c.close(); });
  std::byte buf[4096];
  std::error_code ec;
  while (std::size_t n = c.read(buf, ec)) {
    c.write(std::span<const std::byte>(buf, n), ec);
    if (ec) return;
  }
}

void serve(net::listener ln) {
  for (;;) {
    net::conn c;
    try {
      c = ln.accept();
    } catch (const std::system_error&) {
      return;  // the listener was closed
    }
    goro::go([c] { handle(c); });
  }
}

std::string client(const std::string& addr, int id) {
  try {
    net::conn c = net::dial("tcp", addr);
    goro::defer closer([&] { c.close(); });
    c.write("hello from client " + std::to_string(id));
    c.close_write();    // the server sees the end of the stream and finishes
    std::string reply;  // io.ReadAll
    std::byte buf[4096];
    while (std::size_t n = c.read(buf)) reply.append(reinterpret_cast<const char*>(buf), n);
    return reply;
  } catch (const std::system_error& e) {
    return e.what();
  }
}

int main() {
  return goro::run([] {
    net::listener ln = net::listen("tcp", "127.0.0.1:0");
    goro::go([ln] { serve(ln); });

    const int n = 5;
    std::vector<std::string> replies(n);
    goro::wait_group wg;
    for (int i = 0; i < n; i++) {
      wg.add(1);
      goro::go([&, i] {
        goro::defer done([&] { wg.done(); });
        replies[i] = client(ln.addr().string(), i);
      });
    }
    wg.wait();
    for (int i = 0; i < n; i++) std::printf("client %d got \"%s\"\n", i, replies[i].c_str());

    const std::string addr = ln.addr().string();
    ln.close();
    try {
      net::dial("tcp", addr);
    } catch (const std::system_error& e) {
      std::string err = e.what();
      err.replace(err.find(addr), addr.size(), "ADDR");
      std::printf("%s\n", err.c_str());
    }
  });
}
