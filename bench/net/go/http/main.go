// The Go HTTP hello server of the network benchmarks (bench/net/run.py), for wrk.
//
//	http serve 127.0.0.1:PORT   (GOMAXPROCS sets the worker count)
//
// Answers every request with "Hello, World!\n" (text/plain), as samples/http_hello does.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: http serve HOST:PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	hello := []byte("Hello, World!\n")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
