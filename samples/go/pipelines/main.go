// Pipelines: stages that take data in, work on it and pass it on. Batch stages (a slice at
// a time), stream stages (a value at a time), then stages connected by channels, written
// out (generator, multiply, add) and with one generic stage function, which is what
// goro::generator and goro::stage are. The C++ port is samples/pipelines.cpp.
package main

import "fmt"

func main() {
	fmt.Println("-- batch processing --")
	{
		multiply := func(values []int, multiplier int) []int {
			multipliedValues := make([]int, len(values))
			for i, v := range values {
				multipliedValues[i] = v * multiplier
			}
			return multipliedValues
		}
		add := func(values []int, additive int) []int {
			addedValues := make([]int, len(values))
			for i, v := range values {
				addedValues[i] = v + additive
			}
			return addedValues
		}
		ints := []int{1, 2, 3, 4}
		for _, v := range add(multiply(ints, 2), 1) {
			fmt.Println(v)
		}
		for _, v := range multiply(add(multiply(ints, 2), 1), 2) {
			fmt.Println(v)
		}
	}

	fmt.Println("-- stream processing --")
	{
		multiply := func(value, multiplier int) int {
			return value * multiplier
		}
		add := func(value, additive int) int {
			return value + additive
		}
		ints := []int{1, 2, 3, 4}
		for _, v := range ints {
			fmt.Println(multiply(add(multiply(v, 2), 1), 2))
		}
	}

	fmt.Println("-- a pipeline of channels --")
	{
		generator := func(done <-chan interface{}, integers ...int) <-chan int {
			intStream := make(chan int)
			go func() {
				defer close(intStream)
				for _, i := range integers {
					select {
					case <-done:
						return
					case intStream <- i:
					}
				}
			}()
			return intStream
		}
		multiply := func(done <-chan interface{}, intStream <-chan int, multiplier int) <-chan int {
			multipliedStream := make(chan int)
			go func() {
				defer close(multipliedStream)
				for i := range intStream {
					select {
					case <-done:
						return
					case multipliedStream <- i * multiplier:
					}
				}
			}()
			return multipliedStream
		}
		add := func(done <-chan interface{}, intStream <-chan int, additive int) <-chan int {
			addedStream := make(chan int)
			go func() {
				defer close(addedStream)
				for i := range intStream {
					select {
					case <-done:
						return
					case addedStream <- i + additive:
					}
				}
			}()
			return addedStream
		}
		done := make(chan interface{})
		defer close(done)
		intStream := generator(done, 1, 2, 3, 4)
		pipeline := multiply(done, add(done, multiply(done, intStream, 2), 1), 2)
		for v := range pipeline {
			fmt.Println(v)
		}
	}

	fmt.Println("-- the same with one generic stage --")
	{
		stage := func(done <-chan interface{}, in <-chan int, f func(int) int) <-chan int {
			out := make(chan int)
			go func() {
				defer close(out)
				for v := range in {
					select {
					case <-done:
						return
					case out <- f(v):
					}
				}
			}()
			return out
		}
		generator := func(done <-chan interface{}, integers ...int) <-chan int {
			intStream := make(chan int)
			go func() {
				defer close(intStream)
				for _, i := range integers {
					select {
					case <-done:
						return
					case intStream <- i:
					}
				}
			}()
			return intStream
		}
		multiply := func(m int) func(int) int { return func(v int) int { return v * m } }
		add := func(a int) func(int) int { return func(v int) int { return v + a } }
		done := make(chan interface{})
		defer close(done)
		pipeline := stage(done, stage(done, stage(done, generator(done, 1, 2, 3, 4), multiply(2)), add(1)), multiply(2))
		for v := range pipeline {
			fmt.Println(v)
		}
	}
}
