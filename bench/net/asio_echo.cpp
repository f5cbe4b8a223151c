// The Boost.Asio echo server of the network benchmarks (bench/net/run.py), the C++
// reference: C++20 coroutines (co_spawn, awaitable), one coroutine per connection doing
// async_read_some -> async_write, as Asio's own cpp20/coroutines/echo_server example.
//
//   asio_echo 127.0.0.1:PORT THREADS
//
// THREADS io_contexts, each run by one thread (Asio's "io_context per core" design; with
// one, it is created with concurrency hint 1, so it takes no locks). The acceptor runs on
// the first and hands the sockets out round-robin. Prints "LISTENING addr" once it
// listens, then serves until killed.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

static awaitable<void> echo(tcp::socket socket) {
  try {
    char data[4096];
    for (;;) {
      std::size_t n = co_await socket.async_read_some(asio::buffer(data), use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), use_awaitable);
    }
  } catch (const std::exception&) {
    // the end of the stream, or a reset: the connection is done
  }
}

static awaitable<void> listener(tcp::acceptor acceptor,
                                std::vector<std::unique_ptr<asio::io_context>>& ctxs) {
  std::size_t next = 0;
  for (;;) {
    asio::io_context& ctx = *ctxs[next++ % ctxs.size()];
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(ctx.get_executor(), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      std::fprintf(stderr, "asio_echo: accept: %s\n", ec.message().c_str());
      continue;
    }
    socket.set_option(tcp::no_delay(true));  // Go and goro set TCP_NODELAY on every conn
    asio::co_spawn(ctx, echo(std::move(socket)), asio::detached);
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: asio_echo HOST:PORT THREADS\n");
    return 2;
  }
  std::string address = argv[1];
  auto colon = address.rfind(':');
  int threads = std::max(1, std::atoi(argv[2]));
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  for (int i = 0; i < threads; i++) ctxs.push_back(std::make_unique<asio::io_context>(1));

  tcp::endpoint ep(asio::ip::make_address(address.substr(0, colon)),
                   static_cast<unsigned short>(std::atoi(address.c_str() + colon + 1)));
  tcp::acceptor acceptor(*ctxs[0], ep);  // reuse_address, listen(max_listen_connections)
  std::printf("LISTENING %s:%u\n", acceptor.local_endpoint().address().to_string().c_str(),
              acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(*ctxs[0], listener(std::move(acceptor), ctxs), asio::detached);

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; i++) pool.emplace_back([&ctxs, i] { ctxs[i]->run(); });
  auto guard = asio::make_work_guard(*ctxs[0]);
  ctxs[0]->run();
  for (auto& t : pool) t.join();
}
