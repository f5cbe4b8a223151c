// An echo server and its clients on loopback: one goroutine per connection, as Go's servers
// are written. Each client writes a line, half-closes its side, and reads the echo to the
// end; then the listener closes and one more dial is refused.
// The C++ port is samples/echo.cpp.
package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
)

func handle(c net.Conn) {
	defer c.Close()
	io.Copy(c, c) // echo until the client closes its side
}

func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // the listener was closed
		}
		go handle(c)
	}
}

func client(addr string, id int) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	fmt.Fprintf(c, "hello from client %d", id)
	c.(*net.TCPConn).CloseWrite() // the server sees the end of the stream and finishes
	reply, err := io.ReadAll(c)
	if err != nil {
		return err.Error()
	}
	return string(reply)
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go serve(ln)

	const n = 5
	replies := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			replies[i] = client(ln.Addr().String(), i)
		}(i)
	}
	wg.Wait()
	for i, r := range replies {
		fmt.Printf("client %d got %q\n", i, r)
	}

	addr := ln.Addr().String()
	ln.Close()
	_, err = net.Dial("tcp", addr)
	fmt.Println(strings.Replace(err.Error(), addr, "ADDR", 1))
}
