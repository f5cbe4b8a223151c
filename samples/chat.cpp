// The chat server of "The Go Programming Language" §8.10, and a scripted session on
// loopback. The server is the book's: a broadcaster goroutine owns the set of clients and
// hears of them on the entering, leaving and messages channels; each connection has a
// handler goroutine that reads its lines and a client_writer goroutine that writes what the
// broadcaster sends it. Then alice, bob and carol connect, talk and leave, each step waiting
// for what the last one made the server say, so that every client's transcript is the same
// on every run; they are printed at the end.
// Changed from the book, in the Go original too: the server listens on 127.0.0.1:0, not
// localhost:8000, and its accept loop ends when the listener is closed. It still names a
// client by its remote address ("127.0.0.1:40000"); since the port changes from run to
// run, the transcripts print each client's address as its name.
// Go original: samples/go/chat/main.go.
#include <cstddef>
#include <cstdio>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <goro/goro.hpp>

namespace net = goro::net;
using namespace std::chrono_literals;

// bufio.Scanner with its default split, ScanLines: the lines of a connection without their
// "\n" (or "\r\n"); a last line without one counts too. scan() is false at the end of the
// stream or on an error, which the book's server ignores.
class line_scanner {
 public:
  explicit line_scanner(net::conn c) : c_(std::move(c)) {}

  bool scan(std::string& line) {
    for (;;) {
      if (std::size_t nl = buf_.find('\n'); nl != std::string::npos) {
        line.assign(buf_, 0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      char chunk[4096];
      std::error_code ec;
      const std::size_t n = c_.read(std::as_writable_bytes(std::span(chunk)), ec);
      if (n == 0) {  // the end of the stream, or an error
        if (buf_.empty()) return false;
        line = std::exchange(buf_, {});
        return true;
      }
      buf_.append(chunk, n);
    }
  }

 private:
  net::conn c_;
  std::string buf_;
};

// fmt.Fprintln(conn, msg), ignoring network errors as the book does.
void println(net::conn& conn, const std::string& msg) {
  const std::string line = msg + "\n";
  std::error_code ec;
  conn.write(std::as_bytes(std::span(line)), ec);
}

// ---------------------------------------------------------------------------------------
// The server.

using client = goro::send_chan<std::string>;  // an outgoing message channel

const goro::chan<client> entering = goro::make_chan<client>();
const goro::chan<client> leaving = goro::make_chan<client>();
// all incoming client messages
const goro::chan<std::string> messages = goro::make_chan<std::string>();

void broadcaster() {
  std::vector<client> clients;  // all connected clients (the book's map[client]bool)
  for (;;) {
    goro::select(goro::on_recv(messages,
                               [&](std::string msg) {
                                 // Broadcast incoming message to all
                                 // clients' outgoing message channels.
                                 for (const client& cli : clients) cli.send(msg);
                               }),
                 goro::on_recv(entering, [&](client cli) { clients.push_back(cli); }),
                 goro::on_recv(leaving, [&](client cli) {
                   std::erase(clients, cli);
                   cli.close();
                 }));
  }
}

void client_writer(net::conn conn, goro::recv_chan<std::string> ch) {
  for (std::string msg : ch) println(conn, msg);  // NOTE: ignoring network errors
}

void handle_conn(net::conn conn) {
  goro::chan<std::string> ch = goro::make_chan<std::string>();  // outgoing client messages
  goro::go(client_writer, conn, goro::recv_chan<std::string>(ch));

  const std::string who = conn.remote_addr().string();
  ch.send("You are " + who);
  messages.send(who + " has arrived");
  entering.send(ch);

  line_scanner input(conn);
  std::string line;
  while (input.scan(line)) messages.send(who + ": " + line);
  // NOTE: ignoring potential errors from input.Err()

  leaving.send(ch);
  messages.send(who + " has left");
  conn.close();
}

void serve(net::listener listener) {
  goro::go(broadcaster);
  for (;;) {
    net::conn conn;
    try {
      conn = listener.accept();
    } catch (const std::system_error&) {
      return;  // the listener was closed
    }
    goro::go(handle_conn, conn);
  }
}

// ---------------------------------------------------------------------------------------
// The scripted clients. Only main's goroutine runs them.

// A client's address (as the server names it) -> its name.
std::map<std::string, std::string> names;

std::string rename(std::string line) {
  for (const auto& [addr, name] : names) {
    for (std::size_t at = line.find(addr); at != std::string::npos;
         at = line.find(addr, at + name.size())) {
      line.replace(at, addr.size(), name);
    }
  }
  return line;
}

// A client and the lines it has read from the server.
class chatter {
 public:
  chatter(std::string name, net::conn conn)
      : name_(std::move(name)), conn_(conn), input_(std::move(conn)) {}

  const std::string& name() const { return name_; }
  const std::vector<std::string>& saw() const { return saw_; }

  // Reads the next line, as the client sees it; false at the end.
  bool read_line(std::string& line) {
    if (!input_.scan(line)) return false;
    line = rename(std::move(line));
    saw_.push_back(line);
    return true;
  }

  // Reads lines until `want` comes.
  void expect(const std::string& want) {
    std::string line;
    do {
      if (!read_line(line)) throw std::runtime_error(name_ + ": the server hung up before " + want);
    } while (line != want);
  }

  void say(const std::string& msg) { println(conn_, msg); }

  // Ends the session: the client closes its side and reads what is left.
  void leave() {
    conn_.close_write();
    std::string line;
    while (read_line(line)) {
    }
    conn_.close();
  }

 private:
  std::string name_;
  net::conn conn_;
  line_scanner input_;
  std::vector<std::string> saw_;
};

chatter join(const std::string& addr, const std::string& name) {
  net::conn conn = net::dial("tcp", addr);
  conn.set_read_deadline(goro::now() + 10s);  // a test that fails, fails
  names[conn.local_addr().string()] = name;
  chatter c(name, conn);
  c.expect("You are " + name);
  return c;
}

int main() {
  return goro::run([] {
    net::listener listener = net::listen("tcp", "127.0.0.1:0");
    goro::go(serve, listener);
    const std::string addr = listener.addr().string();

    chatter alice = join(addr, "alice");
    alice.say("anyone here?");
    alice.expect("alice: anyone here?");  // the broadcaster knows alice

    chatter bob = join(addr, "bob");
    alice.expect("bob has arrived");
    bob.say("hi alice");
    bob.expect("bob: hi alice");
    alice.expect("bob: hi alice");

    chatter carol = join(addr, "carol");
    alice.expect("carol has arrived");
    bob.expect("carol has arrived");
    carol.say("hello both");
    carol.expect("carol: hello both");
    alice.say("welcome, carol");
    carol.expect("alice: welcome, carol");

    // Whoever leaves has read all that was sent to it: the server closes the connection as
    // soon as the client has left, and a line its client_writer still had in hand is lost.
    bob.expect("alice: welcome, carol");
    bob.leave();
    alice.expect("bob has left");
    carol.expect("bob has left");
    carol.say("bye");
    alice.expect("carol: bye");
    carol.expect("carol: bye");
    carol.leave();
    alice.expect("carol has left");
    alice.leave();

    for (const chatter* c : {&alice, &bob, &carol}) {
      std::printf("%s saw:\n", c->name().c_str());
      for (const std::string& line : c->saw()) std::printf("  %s\n", line.c_str());
    }
    listener.close();
  });
}
