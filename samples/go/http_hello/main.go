// An HTTP/1.1 "hello" server: net/http serves each connection in its own goroutine and keeps
// it open for the next request (keep-alive). The default run serves on 127.0.0.1:0 and makes
// requests on two connections: several on the first (keep-alive), a POST whose body comes
// back, a 404 for an unknown path, and a last one that asks the server to close
// ("Connection: close"). `http_hello serve ADDR` serves forever on ADDR instead, printing
// nothing (a benchmark drives it with wrk).
// The client writes each request and reads each response on a connection of its own
// (Request.Write, http.ReadResponse), as the C++ port's Beast client does, rather than
// through http.Client, which hides its connections.
// The C++ port is samples/http_hello.cpp.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

func hello(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	fmt.Fprintln(w, "hello, world")
}

func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.Copy(w, r.Body)
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", hello)
	mux.HandleFunc("/echo", echo)
	return mux
}

// do sends one request on c and prints the response's status line and body.
func do(c net.Conn, br *bufio.Reader, req *http.Request) {
	if err := req.Write(c); err != nil {
		panic(err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		panic(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s -> %s %s, %s: %q\n", req.Method, req.URL.Path, resp.Proto, resp.Status,
		resp.Header.Get("Content-Type"), body)
}

func request(method, addr, path, body string) *http.Request {
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	if body == "" {
		req.Body = nil
	}
	return req
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "serve" {
		panic(http.ListenAndServe(os.Args[2], handler()))
	}
	if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: http_hello [serve ADDR]")
		os.Exit(2)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: handler()}
	go srv.Serve(ln)
	addr := ln.Addr().String()

	// Connection 1: keep-alive, several requests in turn.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	br := bufio.NewReader(c)
	fmt.Println("connection 1")
	do(c, br, request("GET", addr, "/", ""))
	do(c, br, request("GET", addr, "/", ""))
	do(c, br, request("POST", addr, "/echo", "ping"))
	do(c, br, request("GET", addr, "/nothing-here", ""))
	c.Close()

	// Connection 2: the client asks the server to close after its response.
	c, err = net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	br = bufio.NewReader(c)
	fmt.Println("connection 2")
	last := request("GET", addr, "/", "")
	last.Close = true // "Connection: close"
	do(c, br, last)
	if _, err := br.ReadByte(); err == io.EOF {
		fmt.Println("the server closed the connection")
	}
	c.Close()

	ln.Close()
}
