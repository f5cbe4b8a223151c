// A concurrent fetcher with bounded parallelism and a timeout. It fetches a list of URLs
// from a local HTTP server started in the same program, at most `limit` at once (a
// goroutine per URL, and a channel of capacity `limit` as a counting semaphore), each
// request under a context with a timeout. The server's /delay/N answers after N ms, so one
// URL is slower than the timeout and fails with the context's error; another is a 404. The
// results are printed sorted by URL (the server's address replaced by ADDR), and then the
// most requests the server had in hand at once, which the limit bounds.
// HTTP is Boost.Beast's, synchronous, on goro connections (goro::net::asio_stream), for the
// server (as in the http_hello sample) and for the client, which gives up when its context
// ends as Go's http.Client does.
// Go original: samples/go/fetcher/main.go.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <goro/goro.hpp>
#include <goro/net/asio.hpp>

namespace net = goro::net;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr int limit = 3;                       // requests at once
constexpr goro::clock::duration timeout = 1s;  // for each request

// ---------------------------------------------------------------------------------------
// The server: /delay/N sleeps N ms, then answers; it counts the requests in its hands.

goro::mutex mu;
int in_flight = 0, max_seen = 0;

response text(const request& req, http::status status, std::string body) {
  response res(status, req.version());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
  return res;
}

response delay(const request& req, std::string_view path) {
  {
    std::lock_guard lock(mu);
    in_flight++;
    max_seen = std::max(max_seen, in_flight);
  }
  goro::defer done([] {
    std::lock_guard lock(mu);
    in_flight--;
  });

  const std::string_view n = path.substr(std::string_view("/delay/").size());
  int ms = 0;
  if (auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), ms);
      ec != std::errc{} || end != n.data() + n.size()) {
    return text(req, http::status::not_found, "404 page not found\n");
  }
  const goro::clock::duration d = std::chrono::milliseconds(ms);
  goro::sleep(d);
  return text(req, http::status::ok, "slept " + goro::format_duration(d) + "\n");
}

// The ServeMux: "/delay/" and what is below it; nothing else.
response handle(const request& req) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/delay/")) return delay(req, path);
  return text(req, http::status::not_found, "404 page not found\n");
}

// A goroutine per connection, keeping it for the next request (see samples/http_hello.cpp).
void serve_conn(net::conn c) {
  goro::defer closer([&] { c.close(); });
  net::asio_stream stream(c);
  beast::flat_buffer buf;
  for (;;) {
    request req;
    beast::error_code ec;
    http::read(stream, buf, req, ec);
    if (ec) return;  // the end of the stream, a broken connection or a malformed request
    response res = handle(req);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(stream, res, ec);
    if (ec) return;
    if (!res.keep_alive()) {
      c.close_write();
      return;
    }
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
    goro::go(serve_conn, c);
  }
}

// ---------------------------------------------------------------------------------------
// The client.

// http.Get with a context, on Beast's client: the request gives up when ctx ends, at its
// deadline or when it is canceled, as Go's does: dial(ctx, ...) gives up by itself, and then
// an after_func closes the connection, which wakes the goroutine from Beast's read or write
// (Go's transport closes it too). Returns the status and the body; throws Go's *url.Error
// text, with ctx's error if ctx ended the request.
std::string get(const goro::context& ctx, const std::string& addr, const std::string& path) {
  const std::string url = "http://" + addr + path;
  try {
    net::conn c = net::dial(ctx, "tcp", addr);
    goro::defer closer([&] { c.close(); });
    auto stop = goro::after_func(ctx, [c]() mutable { c.close(); });
    goro::defer unregister([&] { stop(); });

    net::asio_stream stream(c);
    request req(http::verb::get, path, 11);
    req.set(http::field::host, addr);
    http::write(stream, req);
    beast::flat_buffer buf;
    response res;
    http::read(stream, buf, res);
    std::string body = res.body();
    while (!body.empty() && body.back() == '\n') body.pop_back();  // TrimSpace, for these bodies
    return std::to_string(res.result_int()) + " " + std::string(res.reason()) + ": " + body;
  } catch (const std::exception& e) {
    const std::error_code err = ctx.err();
    throw std::runtime_error("Get \"" + url + "\": " + (err ? err.message() : e.what()));
  }
}

// fetch gets addr's path, giving up when ctx ends or after the timeout.
std::string fetch(const goro::context& parent, const std::string& addr, const std::string& path) {
  auto [ctx, cancel] = goro::with_timeout(parent, timeout);
  goro::defer release([cancel = cancel] { cancel(); });
  return get(ctx, addr, path);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

int main() {
  return goro::run([] {
    net::listener ln = net::listen("tcp", "127.0.0.1:0");
    goro::go(serve, ln);
    const std::string addr = ln.addr().string();

    const std::vector<std::string> paths = {"/delay/10",   "/delay/80", "/delay/30",
                                            "/delay/5000", "/delay/50", "/nothing-here",
                                            "/delay/20",   "/delay/60"};
    const goro::context ctx = goro::background();
    auto sem = goro::make_chan<goro::unit>(limit);  // a counting semaphore: a token a request
    goro::wait_group wg;
    goro::mutex results_mu;
    std::map<std::string, std::string> results;  // sorted by URL
    for (const std::string& path : paths) {
      wg.add(1);
      goro::go([&, path] {
        goro::defer done([&] { wg.done(); });
        sem.send(goro::unit{});                    // acquire
        goro::defer release([&] { sem.recv(); });  // release
        goro::result<std::string> res = goro::try_invoke(fetch, ctx, addr, path);
        std::lock_guard lock(results_mu);
        results["http://" + addr + path] =
            res ? *res : "error: " + goro::error_message(res.error());
      });
    }
    wg.wait();

    for (const auto& [url, res] : results) {
      std::printf("%s\n", replace_all(url + " " + res, addr, "ADDR").c_str());
    }
    {
      std::lock_guard lock(mu);
      std::printf("at most %d requests at once at the server (limit %d)\n", max_seen, limit);
    }
    ln.close();
  });
}
