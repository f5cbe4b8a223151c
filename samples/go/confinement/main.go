// Confinement: the examples of the notes (ad hoc and lexical confinement), one after the
// other. The C++ port is samples/confinement.cpp.
package main

import (
	"bytes"
	"fmt"
	"sync"
)

func generator() <-chan int {
	results := make(chan int, 2)
	go func() {
		defer close(results)
		for i := 0; i < 5; i++ {
			fmt.Println("Sending", i)
			// do some task that can take long time
			results <- i
		}
	}()
	return results
}

func receiver(results <-chan int) {
	for result := range results {
		// do some task as soon as the value is available
		fmt.Println("Received", result)
	}
	fmt.Println("Done!")
}

func main() {
	fmt.Println("-- ad hoc confinement --")
	data := make([]int, 4)
	loopData := func(handleData chan<- int) {
		defer close(handleData)
		for i := range data {
			handleData <- data[i]
		}
	}
	handleData := make(chan int)
	go loopData(handleData)
	for num := range handleData {
		fmt.Println(num)
	}

	fmt.Println("-- lexical confinement --")
	chanOwner := func() <-chan int {
		results := make(chan int, 5)
		go func() {
			defer close(results)
			for i := 0; i <= 5; i++ {
				results <- i
			}
		}()
		return results
	}
	consumer := func(results <-chan int) {
		for result := range results {
			fmt.Printf("Received: %d\n", result)
		}
		fmt.Println("Done receiving!")
	}
	results := chanOwner()
	consumer(results)

	fmt.Println("-- generator and receiver --")
	receiver(generator())

	fmt.Println("-- confining parts of a slice --")
	printData := func(wg *sync.WaitGroup, data []byte) {
		defer wg.Done()
		var buff bytes.Buffer
		for _, b := range data {
			fmt.Fprintf(&buff, "%c", b)
		}
		fmt.Println(buff.String())
	}
	var wg sync.WaitGroup
	wg.Add(2)
	bytesData := []byte("golang")
	go printData(&wg, bytesData[:3])
	go printData(&wg, bytesData[3:])
	wg.Wait()
}
