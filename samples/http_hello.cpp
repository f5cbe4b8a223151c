// An HTTP/1.1 "hello" server: Boost.Beast's synchronous parser and serializer on goro
// connections, one goroutine per connection that keeps it open for the next request
// (keep-alive), as Go's net/http serves. The default run serves on 127.0.0.1:0 and makes
// requests with Beast's synchronous client on two connections: several on the first
// (keep-alive), a POST whose body comes back, a 404 for an unknown path, and a last one that
// asks the server to close ("Connection: close"). `http_hello serve ADDR` serves forever on
// ADDR instead, printing nothing (a benchmark drives it with wrk).
// Beast does all the HTTP; goro::net::asio_stream makes a goro::net::conn the synchronous
// stream that Beast reads and writes, parking the goroutine, never the worker thread.
// Go original: samples/go/http_hello/main.go.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

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

// ---------------------------------------------------------------------------------------
// The server.

response text(const request& req, http::status status, std::string body) {
  response res(status, req.version());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
  return res;
}

// The handlers, and the ServeMux that picks one: "/echo" exactly, anything else "/". The
// path is the target without its query ("/?x=1" is "/"), as Go's r.URL.Path.
response handle(const request& req) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/echo") return text(req, http::status::ok, req.body());
  if (path != "/") return text(req, http::status::not_found, "404 page not found\n");
  return text(req, http::status::ok, "hello, world\n");
}

// One connection, in its own goroutine, as net/http's conn.serve: read a request, answer it,
// and go on while both sides keep the connection alive.
void serve_conn(net::conn c) {
  goro::defer closer([&] { c.close(); });
  net::asio_stream stream(c);
  beast::flat_buffer buf;  // what was read past a request: the start of the next one
  for (;;) {
    request req;
    beast::error_code ec;
    http::read(stream, buf, req, ec);
    if (ec == http::error::end_of_stream) return;  // the client is done
    if (ec) {
      // A malformed request gets net/http's answer; a broken connection, nothing.
      if (ec.category() == make_error_code(http::error::bad_target).category() &&
          ec != http::error::partial_message) {
        response res(http::status::bad_request, 11);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.keep_alive(false);
        res.body() = "400 Bad Request";
        res.prepare_payload();
        http::write(stream, res, ec);
      }
      return;
    }
    response res = handle(req);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(stream, res, ec);
    if (ec) return;
    if (!res.keep_alive()) {  // "Connection: close": the client reads the end of the stream
      c.close_write();
      return;
    }
  }
}

// http.Server.Serve: a goroutine per connection. It ends when the listener is closed, and
// waits and tries again when accept fails for want of descriptors, as Go's does.
void serve(net::listener ln) {
  goro::clock::duration delay = 0ms;
  for (;;) {
    net::conn c;
    try {
      c = ln.accept();
    } catch (const net::op_error& e) {
      if (e.code() == net::errc::closed) return;
      delay = delay == 0ms ? 5ms : std::min<goro::clock::duration>(2 * delay, 1s);
      goro::sleep(delay);
      continue;
    }
    delay = 0ms;
    goro::go(serve_conn, c);
  }
}

// ---------------------------------------------------------------------------------------
// The client.

// Go's %q for the bodies here: printable ASCII, with \n, \r, \t, \" and \\ escaped.
std::string quote(std::string_view s) {
  std::string q = "\"";
  for (char ch : s) {
    switch (ch) {
      case '\n':
        q += "\\n";
        break;
      case '\r':
        q += "\\r";
        break;
      case '\t':
        q += "\\t";
        break;
      case '"':
        q += "\\\"";
        break;
      case '\\':
        q += "\\\\";
        break;
      default:
        q += ch;
    }
  }
  return q + "\"";
}

request make_request(http::verb method, const std::string& addr, std::string_view path,
                     std::string body = {}) {
  request req(method, path, 11);
  req.set(http::field::host, addr);
  req.body() = std::move(body);
  if (!req.body().empty()) req.prepare_payload();
  return req;
}

// Sends one request on the connection and prints the response's status line and body.
void do_request(net::asio_stream& stream, beast::flat_buffer& buf, const request& req) {
  http::write(stream, req);
  response res;
  http::read(stream, buf, res);
  std::printf("%s %s -> HTTP/%u.%u %u %s, %s: %s\n", std::string(req.method_string()).c_str(),
              std::string(req.target()).c_str(), res.version() / 10, res.version() % 10,
              res.result_int(), std::string(res.reason()).c_str(),
              std::string(res[http::field::content_type]).c_str(), quote(res.body()).c_str());
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "serve") == 0) {
    return goro::run([addr = std::string(argv[2])] { serve(net::listen("tcp", addr)); });
  }
  if (argc != 1) {
    std::fprintf(stderr, "usage: http_hello [serve ADDR]\n");
    return 2;
  }
  return goro::run([] {
    net::listener ln = net::listen("tcp", "127.0.0.1:0");
    goro::go(serve, ln);
    const std::string addr = ln.addr().string();

    {
      // Connection 1: keep-alive, several requests in turn.
      net::asio_stream stream(net::dial("tcp", addr));
      goro::defer closer([&] { stream.next_layer().close(); });
      beast::flat_buffer buf;
      std::printf("connection 1\n");
      do_request(stream, buf, make_request(http::verb::get, addr, "/"));
      do_request(stream, buf, make_request(http::verb::get, addr, "/"));
      do_request(stream, buf, make_request(http::verb::post, addr, "/echo", "ping"));
      do_request(stream, buf, make_request(http::verb::get, addr, "/nothing-here"));
    }
    {
      // Connection 2: the client asks the server to close after its response.
      net::asio_stream stream(net::dial("tcp", addr));
      goro::defer closer([&] { stream.next_layer().close(); });
      beast::flat_buffer buf;
      std::printf("connection 2\n");
      request last = make_request(http::verb::get, addr, "/");
      last.keep_alive(false);  // "Connection: close"
      do_request(stream, buf, last);
      std::byte b[1];
      if (buf.size() == 0 && stream.next_layer().read(b) == 0) {
        std::printf("the server closed the connection\n");
      }
    }
    ln.close();
  });
}
