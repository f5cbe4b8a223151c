// A concurrent fetcher with bounded parallelism and a timeout. It fetches a list of URLs
// from a local HTTP server started in the same program, at most `limit` at once (a
// goroutine per URL, and a channel of capacity `limit` as a counting semaphore), each
// request under a context with a timeout. The server's /delay/N answers after N ms, so one
// URL is slower than the timeout and fails with the context's error; another is a 404. The
// results are printed sorted by URL (the server's address replaced by ADDR), and then the
// most requests the server had in hand at once, which the limit bounds.
// The C++ port is samples/fetcher.cpp.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	limit   = 3               // requests at once
	timeout = 1 * time.Second // for each request
)

// The server: /delay/N sleeps N ms, then answers; it counts the requests in its hands.
var (
	mu                sync.Mutex
	inFlight, maxSeen int
)

func delay(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	inFlight++
	if inFlight > maxSeen {
		maxSeen = inFlight
	}
	mu.Unlock()
	defer func() {
		mu.Lock()
		inFlight--
		mu.Unlock()
	}()

	ms, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/delay/"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	d := time.Duration(ms) * time.Millisecond
	time.Sleep(d)
	fmt.Fprintf(w, "slept %v\n", d)
}

// fetch gets url, giving up when ctx ends or after the timeout, and returns the status and
// the body.
func fetch(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return resp.Status + ": " + strings.TrimSpace(string(body)), nil
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/delay/", delay)
	go http.Serve(ln, mux)
	addr := ln.Addr().String()

	paths := []string{"/delay/10", "/delay/80", "/delay/30", "/delay/5000", "/delay/50",
		"/nothing-here", "/delay/20", "/delay/60"}
	ctx := context.Background()
	sem := make(chan struct{}, limit) // a counting semaphore: one token per request
	var wg sync.WaitGroup
	var resultsMu sync.Mutex
	results := map[string]string{}
	for _, path := range paths {
		wg.Add(1)
		go func(url string) {
			defer wg.Done()
			sem <- struct{}{}        // acquire
			defer func() { <-sem }() // release
			res, err := fetch(ctx, url)
			if err != nil {
				res = "error: " + err.Error()
			}
			resultsMu.Lock()
			results[url] = res
			resultsMu.Unlock()
		}("http://" + addr + path)
	}
	wg.Wait()

	urls := make([]string, 0, len(results))
	for url := range results {
		urls = append(urls, url)
	}
	sort.Strings(urls)
	for _, url := range urls {
		fmt.Println(strings.ReplaceAll(url+" "+results[url], addr, "ADDR"))
	}
	mu.Lock()
	fmt.Printf("at most %d requests at once at the server (limit %d)\n", maxSeen, limit)
	mu.Unlock()
	ln.Close()
}
