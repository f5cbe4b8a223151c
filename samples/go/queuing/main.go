// Queuing. First the book's pipeline (take 3 zeros, a short stage, a long stage), with and
// without a buffer between the stages (times scaled down from seconds to 10 ms units): the
// buffer frees the short stage early but does not make the pipeline any faster. Then Little's
// law, L = λW, measured on a queue in front of a slow stage for several queue lengths: the
// throughput λ is set by the slow stage, so a longer queue only makes W, the time a unit
// spends in the system, longer. The C++ port is samples/queuing.cpp.
package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

func repeat(done <-chan interface{}, values ...interface{}) <-chan interface{} {
	valueStream := make(chan interface{})
	go func() {
		defer close(valueStream)
		for {
			for _, v := range values {
				select {
				case <-done:
					return
				case valueStream <- v:
				}
			}
		}
	}()
	return valueStream
}

func take(done <-chan interface{}, valueStream <-chan interface{}, num int) <-chan interface{} {
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

func buffer(done <-chan interface{}, in <-chan interface{}, n int) <-chan interface{} {
	out := make(chan interface{}, n)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case <-done:
				return
			case out <- v:
			}
		}
	}()
	return out
}

// A stage that takes d per value; finished() reports when it sent its last value.
func sleep(done <-chan interface{}, d time.Duration, in <-chan interface{}, finished func()) <-chan interface{} {
	out := make(chan interface{})
	go func() {
		defer close(out)
		defer finished()
		for v := range in {
			time.Sleep(d)
			select {
			case <-done:
				return
			case out <- v:
			}
		}
	}()
	return out
}

func round10(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

func bookPipeline(queue int) {
	done := make(chan interface{})
	defer close(done)
	start := time.Now()
	var shortDone time.Duration
	zeros := take(done, repeat(done, 0), 3)
	short := sleep(done, 10*time.Millisecond, zeros, func() { shortDone = time.Since(start) })
	var mid <-chan interface{} = short
	if queue > 0 {
		mid = buffer(done, short, queue)
	}
	long := sleep(done, 40*time.Millisecond, mid, func() {})
	for range long {
	}
	total := time.Since(start)
	if queue == 0 {
		fmt.Printf("without a queue: short stage done after %v, pipeline done after %v\n", round10(shortDone), round10(total))
	} else {
		fmt.Printf("with a queue of %d: short stage done after %v, pipeline done after %v\n", queue, round10(shortDone), round10(total))
	}
}

type item struct{ entered time.Time }

func littlesLaw(queue int) {
	const items = 200
	const service = time.Millisecond
	done := make(chan interface{})
	defer close(done)
	var inSystem int64

	in := make(chan interface{})
	go func() { // as fast as the system takes them
		defer close(in)
		for i := 0; i < items; i++ {
			atomic.AddInt64(&inSystem, 1)
			select {
			case <-done:
				return
			case in <- item{entered: time.Now()}:
			}
		}
	}()
	var queued <-chan interface{} = in
	if queue > 0 {
		queued = buffer(done, in, queue)
	}

	// Sample the number of units in the system.
	stopSampling := make(chan interface{})
	samples := make(chan float64)
	go func() {
		sum, n := 0.0, 0
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				samples <- sum / float64(n)
				return
			case <-tick.C:
				sum += float64(atomic.LoadInt64(&inSystem))
				n++
			}
		}
	}()

	start := time.Now()
	var totalW time.Duration
	for v := range queued { // the slow stage
		time.Sleep(service)
		totalW += time.Since(v.(item).entered)
		atomic.AddInt64(&inSystem, -1)
	}
	elapsed := time.Since(start)
	close(stopSampling)
	L := <-samples
	lambda := float64(items) / elapsed.Seconds()
	W := totalW.Seconds() / items
	fmt.Printf("queue length %2d: throughput %4.0f/s, W = %5.2f ms, L = %5.2f, λW = %5.2f\n", queue, lambda, W*1000, L, lambda*W)
}

func main() {
	fmt.Println("-- the book's pipeline --")
	bookPipeline(0)
	bookPipeline(2)
	fmt.Println("-- Little's law: L = λW --")
	for _, q := range []int{0, 1, 4, 16} {
		littlesLaw(q)
	}
}
