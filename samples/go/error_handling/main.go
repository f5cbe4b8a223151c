// Error handling: send errors along with results to the code that knows what to do with
// them. httpGet stands in for http.Get (the samples run without a network) and fails the way
// http.Get does. The C++ port is samples/error_handling.cpp.
package main

import (
	"errors"
	"fmt"
	"strings"
)

type Response struct{ Status string }

func httpGet(url string) (*Response, error) {
	switch {
	case !strings.Contains(url, "://"):
		return nil, fmt.Errorf("Get %q: unsupported protocol scheme \"\"", url)
	case url == "https://www.google.com":
		return &Response{Status: "200 OK"}, nil
	default:
		host := strings.SplitN(url, "://", 2)[1]
		return nil, errors.New(fmt.Sprintf("Get %q: dial tcp: lookup %s: no such host", url, host))
	}
}

func main() {
	fmt.Println("-- the goroutine prints its errors (and nobody else sees them) --")
	{
		checkStatus := func(done <-chan interface{}, urls ...string) <-chan *Response {
			responses := make(chan *Response)
			go func() {
				defer close(responses)
				for _, url := range urls {
					resp, err := httpGet(url)
					if err != nil {
						fmt.Println(err)
						continue
					}
					select {
					case <-done:
						return
					case responses <- resp:
					}
				}
			}()
			return responses
		}
		done := make(chan interface{})
		defer close(done)
		urls := []string{"https://www.google.com", "https://badhost"}
		for response := range checkStatus(done, urls...) {
			fmt.Printf("Response: %v\n", response.Status)
		}
	}

	type Result struct {
		Error    error
		Response *Response
	}
	checkStatus := func(done <-chan interface{}, urls ...string) <-chan Result {
		results := make(chan Result)
		go func() {
			defer close(results)
			for _, url := range urls {
				var result Result
				resp, err := httpGet(url)
				result = Result{Error: err, Response: resp}
				select {
				case <-done:
					return
				case results <- result:
				}
			}
		}()
		return results
	}

	fmt.Println("-- errors coupled with the results --")
	{
		done := make(chan interface{})
		defer close(done)
		urls := []string{"https://www.google.com", "https://badhost"}
		for result := range checkStatus(done, urls...) {
			if result.Error != nil {
				fmt.Printf("error: %v\n", result.Error)
				continue
			}
			fmt.Printf("Response: %v\n", result.Response.Status)
		}
	}

	fmt.Println("-- the caller decides: stop after three errors --")
	{
		done := make(chan interface{})
		defer close(done)
		errCount := 0
		urls := []string{"a", "https://www.google.com", "b", "c", "d"}
		for result := range checkStatus(done, urls...) {
			if result.Error != nil {
				fmt.Printf("error: %v\n", result.Error)
				errCount++
				if errCount >= 3 {
					fmt.Println("Too many errors, breaking!")
					break
				}
				continue
			}
			fmt.Printf("Response: %v\n", result.Response.Status)
		}
	}
}
