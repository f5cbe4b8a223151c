// The Go echo server of the network benchmarks (bench/net/run.py): one goroutine per
// connection doing read -> write (what io.Copy does, with a 4 KiB buffer as goro_echo's).
//
//	echo 127.0.0.1:PORT        (GOMAXPROCS sets the worker count)
//
// Prints "LISTENING addr" once it listens, then serves until killed.
package main

import (
	"fmt"
	"net"
	"os"
)

func handle(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo HOST:PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			continue
		}
		go handle(c)
	}
}
