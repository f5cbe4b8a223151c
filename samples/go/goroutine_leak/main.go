// Preventing goroutine leaks, on the receiving side and on the sending side: each leak, then
// its fix with a done channel. The C++ port is samples/goroutine_leak.cpp.
package main

import (
	"fmt"
	"math/rand"
	"runtime"
	"time"
)

func main() {
	fmt.Println("-- receiving side: a leak --")
	{
		doWork := func(strings <-chan string) <-chan interface{} {
			completed := make(chan interface{})
			go func() {
				defer fmt.Println("doWork exited.")
				defer close(completed)
				for s := range strings {
					// Do something interesting
					fmt.Println(s)
				}
			}()
			return completed
		}
		doWork(nil)
		// Perhaps more work is done here
		fmt.Println("Done.")
		fmt.Println("goroutines:", runtime.NumGoroutine()) // main and the leaked doWork
	}

	fmt.Println("-- receiving side: fixed with a done channel --")
	{
		doWork := func(done <-chan interface{}, strings <-chan string) <-chan interface{} {
			terminated := make(chan interface{})
			go func() {
				defer fmt.Println("doWork exited.")
				defer close(terminated)
				for {
					select {
					case s := <-strings:
						// Do something interesting
						fmt.Println(s)
					case <-done:
						return
					}
				}
			}()
			return terminated
		}
		done := make(chan interface{})
		terminated := doWork(done, nil)
		go func() {
			// Cancel the operation after 1 second.
			time.Sleep(1 * time.Second)
			fmt.Println("Canceling doWork goroutine...")
			close(done)
		}()
		<-terminated
		fmt.Println("Done.")
	}

	fmt.Println("-- receiving side: a stream, canceled --")
	{
		doWork := func(done <-chan bool, stream <-chan string) <-chan bool {
			terminated := make(chan bool)
			go func() {
				defer fmt.Println("doWork exited.")
				defer close(terminated)
				for {
					select {
					case s, ok := <-stream:
						if !ok {
							fmt.Println("Nothing to stream...")
							return
						}
						fmt.Println("Here:", s)
					case <-done:
						fmt.Println("Received done signal.")
						return
					}
				}
			}()
			return terminated
		}
		done := make(chan bool)
		stream := make(chan string)
		terminated := doWork(done, stream) // will not cause deadlock if stream is nil

		go func() {
			defer close(done)
			defer fmt.Println("Cancelling doWork goroutine...")
			time.Sleep(1 * time.Second)
		}()

		go func() {
			defer close(stream)
			for _, s := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				stream <- s
				time.Sleep(200 * time.Millisecond)
			}
		}()

		<-terminated
		fmt.Println("Done!")
	}

	fmt.Println("-- sending side: a leak --")
	{
		newRandStream := func() <-chan int {
			randStream := make(chan int)
			go func() {
				defer fmt.Println("newRandStream closure exited.")
				defer close(randStream)
				for {
					randStream <- rand.Int()
				}
			}()
			return randStream
		}
		randStream := newRandStream()
		fmt.Println("3 random ints:")
		for i := 1; i <= 3; i++ {
			fmt.Printf("%d: %d\n", i, <-randStream)
		}
	}

	fmt.Println("-- sending side: fixed with a done channel --")
	{
		genRandomIntStream := func(done <-chan bool) <-chan int {
			randIntStream := make(chan int)
			go func() {
				defer fmt.Println("genRandomIntStream exited.")
				defer close(randIntStream)
				for {
					select {
					case randIntStream <- rand.Int():
					case <-done:
						return
					}
				}
			}()
			return randIntStream
		}
		done := make(chan bool)
		randStream := genRandomIntStream(done)
		fmt.Println("3 random ints:")
		for i := 0; i < 3; i++ {
			fmt.Printf("%d: %d\n", i+1, <-randStream)
		}
		close(done)
		time.Sleep(1 * time.Second)
	}
}
