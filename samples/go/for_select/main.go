// The for-select loop, in both of its forms. The C++ port is samples/for_select.cpp.
package main

import (
	"fmt"
	"time"
)

func main() {
	fmt.Println("-- sending iteration variables out on a channel --")
	done := make(chan interface{})
	stringStream := make(chan string)
	go func() {
		defer close(stringStream)
		for _, s := range []string{"a", "b", "c"} {
			select {
			case <-done:
				return
			case stringStream <- s:
			}
		}
	}()
	for s := range stringStream {
		fmt.Println(s)
	}

	fmt.Println("-- looping infinitely waiting to be stopped --")
	done = make(chan interface{})
	time.AfterFunc(20*time.Millisecond, func() { close(done) })
	work := 0
	func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			// Do non-preemptable work
			work++
			time.Sleep(time.Millisecond)
		}
	}()
	fmt.Println("stopped; did some work:", work > 0)

	fmt.Println("-- the work in the default clause --")
	done = make(chan interface{})
	time.AfterFunc(20*time.Millisecond, func() { close(done) })
	work = 0
	func() {
		for {
			select {
			case <-done:
				return
			default:
				// Do non-preemptable work
				work++
				time.Sleep(time.Millisecond)
			}
		}
	}()
	fmt.Println("stopped; did some work:", work > 0)
}
