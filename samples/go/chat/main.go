// The chat server of "The Go Programming Language" §8.10, and a scripted session on
// loopback. The server is the book's: a broadcaster goroutine owns the set of clients and
// hears of them on the entering, leaving and messages channels; each connection has a
// handler goroutine that reads its lines and a clientWriter goroutine that writes what the
// broadcaster sends it. Then alice, bob and carol connect, talk and leave, each step waiting
// for what the last one made the server say, so that every client's transcript is the same
// on every run; they are printed at the end.
// Changed from the book: the server listens on 127.0.0.1:0, not localhost:8000, and its
// accept loop ends when the listener is closed. It still names a client by its remote
// address ("127.0.0.1:40000"); since the port changes from run to run, the transcripts
// print each client's address as its name.
// The C++ port is samples/chat.cpp.
package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

//!+broadcaster

type client chan<- string // an outgoing message channel

var (
	entering = make(chan client)
	leaving  = make(chan client)
	messages = make(chan string) // all incoming client messages
)

func broadcaster() {
	clients := make(map[client]bool) // all connected clients
	for {
		select {
		case msg := <-messages:
			// Broadcast incoming message to all
			// clients' outgoing message channels.
			for cli := range clients {
				cli <- msg
			}

		case cli := <-entering:
			clients[cli] = true

		case cli := <-leaving:
			delete(clients, cli)
			close(cli)
		}
	}
}

//!-broadcaster

//!+handleConn

func handleConn(conn net.Conn) {
	ch := make(chan string) // outgoing client messages
	go clientWriter(conn, ch)

	who := conn.RemoteAddr().String()
	ch <- "You are " + who
	messages <- who + " has arrived"
	entering <- ch

	input := bufio.NewScanner(conn)
	for input.Scan() {
		messages <- who + ": " + input.Text()
	}
	// NOTE: ignoring potential errors from input.Err()

	leaving <- ch
	messages <- who + " has left"
	conn.Close()
}

func clientWriter(conn net.Conn, ch <-chan string) {
	for msg := range ch {
		fmt.Fprintln(conn, msg) // NOTE: ignoring network errors
	}
}

//!-handleConn

func serve(listener net.Listener) {
	go broadcaster()
	for {
		conn, err := listener.Accept()
		if err != nil {
			return // the listener was closed
		}
		go handleConn(conn)
	}
}

// The scripted clients.

var names = map[string]string{} // a client's address (as the server names it) -> its name

// A client and the lines it has read from the server.
type chatter struct {
	name  string
	conn  net.Conn
	input *bufio.Scanner
	saw   []string
}

func rename(line string) string {
	for addr, name := range names {
		line = strings.ReplaceAll(line, addr, name)
	}
	return line
}

// readLine reads the next line, as the client sees it ("" and false at the end).
func (c *chatter) readLine() (string, bool) {
	if !c.input.Scan() {
		return "", false
	}
	line := rename(c.input.Text())
	c.saw = append(c.saw, line)
	return line, true
}

// expect reads lines until want comes.
func (c *chatter) expect(want string) {
	for {
		line, ok := c.readLine()
		if !ok {
			panic(c.name + ": the server hung up before " + want)
		}
		if line == want {
			return
		}
	}
}

func join(addr, name string) *chatter {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a test that fails, fails
	names[conn.LocalAddr().String()] = name
	c := &chatter{name: name, conn: conn, input: bufio.NewScanner(conn)}
	c.expect("You are " + name)
	return c
}

func (c *chatter) say(msg string) {
	fmt.Fprintln(c.conn, msg)
}

// leave ends the session: the client closes its side and reads what is left.
func (c *chatter) leave() {
	c.conn.(*net.TCPConn).CloseWrite()
	for {
		if _, ok := c.readLine(); !ok {
			break
		}
	}
	c.conn.Close()
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go serve(listener)
	addr := listener.Addr().String()

	alice := join(addr, "alice")
	alice.say("anyone here?")
	alice.expect("alice: anyone here?") // the broadcaster knows alice

	bob := join(addr, "bob")
	alice.expect("bob has arrived")
	bob.say("hi alice")
	bob.expect("bob: hi alice")
	alice.expect("bob: hi alice")

	carol := join(addr, "carol")
	alice.expect("carol has arrived")
	bob.expect("carol has arrived")
	carol.say("hello both")
	carol.expect("carol: hello both")
	alice.say("welcome, carol")
	carol.expect("alice: welcome, carol")

	// Whoever leaves has read all that was sent to it: the server closes the connection as
	// soon as the client has left, and a line its clientWriter still had in hand is lost.
	bob.expect("alice: welcome, carol")
	bob.leave()
	alice.expect("bob has left")
	carol.expect("bob has left")
	carol.say("bye")
	alice.expect("carol: bye")
	carol.expect("carol: bye")
	carol.leave()
	alice.expect("carol has left")
	alice.leave()

	for _, c := range []*chatter{alice, bob, carol} {
		fmt.Printf("%s saw:\n", c.name)
		for _, line := range c.saw {
			fmt.Printf("  %s\n", line)
		}
	}
	listener.Close()
}
