// Fan-out, fan-in: a slow stage (a naive prime finder) run by one goroutine, then by one
// goroutine per CPU with their results merged. The book draws from rand.Intn(50000000); the
// bound is smaller here so that the sample runs in about a second.
// The C++ port is samples/fan_out_fan_in.cpp.
package main

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"time"
)

const bound = 2000000

func main() {
	repeatFn := func(done <-chan interface{}, fn func() interface{}) <-chan interface{} {
		valueStream := make(chan interface{})
		go func() {
			defer close(valueStream)
			for {
				select {
				case <-done:
					return
				case valueStream <- fn():
				}
			}
		}()
		return valueStream
	}
	take := func(done <-chan interface{}, valueStream <-chan interface{}, num int) <-chan interface{} {
		takeStream := make(chan interface{})
		go func() {
			defer close(takeStream)
			for i := 0; i < num; i++ {
				select {
				case <-done:
					return
				case takeStream <- <-valueStream:
				}
			}
		}()
		return takeStream
	}
	toInt := func(done <-chan interface{}, valueStream <-chan interface{}) <-chan int {
		intStream := make(chan int)
		go func() {
			defer close(intStream)
			for v := range valueStream {
				select {
				case <-done:
					return
				case intStream <- v.(int):
				}
			}
		}()
		return intStream
	}
	primeFinder := func(done <-chan interface{}, intStream <-chan int) <-chan interface{} {
		primeStream := make(chan interface{})
		go func() {
			defer close(primeStream)
			for integer := range intStream {
				integer -= 1
				prime := true
				for divisor := integer - 1; divisor > 1; divisor-- {
					if integer%divisor == 0 {
						prime = false
						break
					}
				}
				if prime {
					select {
					case <-done:
						return
					case primeStream <- integer:
					}
				}
			}
		}()
		return primeStream
	}
	fanIn := func(done <-chan interface{}, channels ...<-chan interface{}) <-chan interface{} {
		var wg sync.WaitGroup
		multiplexedStream := make(chan interface{})
		multiplex := func(c <-chan interface{}) {
			defer wg.Done()
			for i := range c {
				select {
				case <-done:
					return
				case multiplexedStream <- i:
				}
			}
		}
		// Select from all the channels
		wg.Add(len(channels))
		for _, c := range channels {
			go multiplex(c)
		}
		// Wait for all the reads to complete
		go func() {
			wg.Wait()
			close(multiplexedStream)
		}()
		return multiplexedStream
	}

	rand := func() interface{} { return rand.Intn(bound) }

	var sequential time.Duration
	{
		done := make(chan interface{})
		start := time.Now()
		randIntStream := toInt(done, repeatFn(done, rand))
		fmt.Println("Primes:")
		for prime := range take(done, primeFinder(done, randIntStream), 10) {
			fmt.Printf("\t%d\n", prime)
		}
		sequential = time.Since(start)
		fmt.Printf("Search took: %v\n", sequential)
		close(done)
	}
	{
		done := make(chan interface{})
		start := time.Now()
		randIntStream := toInt(done, repeatFn(done, rand))
		numFinders := runtime.NumCPU()
		fmt.Printf("Spinning up %d prime finders.\n", numFinders)
		finders := make([]<-chan interface{}, numFinders)
		fmt.Println("Primes:")
		for i := 0; i < numFinders; i++ {
			finders[i] = primeFinder(done, randIntStream)
		}
		for prime := range take(done, fanIn(done, finders...), 10) {
			fmt.Printf("\t%d\n", prime)
		}
		parallel := time.Since(start)
		fmt.Printf("Search took: %v\n", parallel)
		fmt.Printf("Speed-up: %.1fx\n", sequential.Seconds()/parallel.Seconds())
		close(done)
	}
}
