// The or-done-channel: read a channel we do not own (its owner may never close it) until
// our own work is canceled. First the verbose for-select loop, then orDone.
// The C++ port is samples/or_done.cpp.
package main

import (
	"fmt"
	"time"
)

func main() {
	orDone := func(done, c <-chan interface{}) <-chan interface{} {
		valStream := make(chan interface{})
		go func() {
			defer close(valStream)
			for {
				select {
				case <-done:
					return
				case v, ok := <-c:
					if ok == false {
						return
					}
					select {
					case valStream <- v:
					case <-done:
					}
				}
			}
		}()
		return valStream
	}
	// Somebody else's channel: five values, then it stalls without ever being closed.
	theirs := func() <-chan interface{} {
		c := make(chan interface{})
		go func() {
			for i := 0; i < 5; i++ {
				c <- i
			}
			select {}
		}()
		return c
	}

	fmt.Println("-- a for-select loop --")
	done := make(chan interface{})
	time.AfterFunc(100*time.Millisecond, func() { close(done) })
	myChan := theirs()
loop:
	for {
		select {
		case <-done:
			break loop
		case maybeVal, ok := <-myChan:
			if ok == false {
				return // or maybe break from for
			}
			// Do something with val
			fmt.Println("val:", maybeVal)
		}
	}
	fmt.Println("canceled")

	fmt.Println("-- orDone --")
	done = make(chan interface{})
	time.AfterFunc(100*time.Millisecond, func() { close(done) })
	myChan = theirs()
	for val := range orDone(done, myChan) {
		// Do something with val
		fmt.Println("val:", val)
	}
	fmt.Println("canceled")
}
