// Command gobench runs the Go side of the goro benchmark rows that Go's own runtime
// benchmarks do not cover: skynet, pipelines, context cancellation, memory per parked
// goroutine and the idle cost of sleeping goroutines. bench/goro/bench_goro.cpp and
// bench/fiber/bench_fiber.cpp hold the same workloads; bench/run.py runs all three.
//
//	gobench [-threads N] [-benchtime 1s|100x] [-smoke] [-list] [WORKLOAD...]
//
// Each workload prints one line:
//
//	RESULT name=<w> threads=<n> value=<wall per unit> cpu=<cpu per unit> unit=<u> iters=<n> check=<ok|FAIL:...>
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

type config struct {
	threads int
	time    benchTime
	smoke   bool
}

// sizes of the fixed workloads, smaller with -smoke (as in bench/common/harness.hpp).
type sizes struct {
	skynetLeaves   int64
	pipelineValues int64
	fanWorkers     int
	contextTree    int
	idleGoroutines int
	idleWait       time.Duration
}

func sizesOf(cfg config) sizes {
	if cfg.smoke {
		return sizes{1000, 1000, 4, 1000, 100, 20 * time.Millisecond}
	}
	return sizes{1000000, 1000000, 4, 100000, 10000, 2 * time.Second}
}

type workload struct {
	name, unit string
	run        func(config) report
}

var workloads = []workload{
	{"Skynet1M", "ms/run", skynetWorkload},
	{"Pipeline1M", "ns/value", func(c config) report { return pipelineWorkload(c, false) }},
	{"FanOutIn1M", "ns/value", func(c config) report { return pipelineWorkload(c, true) }},
	{"PipelineDone1M", "ns/value", func(c config) report { return pipelineDoneWorkload(c, false) }},
	{"FanOutInDone1M", "ns/value", func(c config) report { return pipelineDoneWorkload(c, true) }},
	{"ContextCancel100k", "ns/context", contextWorkload},
	{"MemParked100k", "B/goroutine", func(c config) report { return memoryWorkload(c, 100000) }},
	{"MemParked1M", "B/goroutine", func(c config) report { return memoryWorkload(c, 1000000) }},
	{"IdleTimers10k", "ms", idleWorkload},
	{"SpawnJoin1M", "ns/goroutine", spawnJoinWorkload},
	{"DaisyChain100k", "ms/run", daisyChainWorkload},
	{"DaisyChainWarm100k", "ms/run", daisyChainWarmWorkload},
	{"DaisyChainRSS100k", "MB", daisyChainRSSWorkload},
	{"ExitParked40k", "ns/goroutine", exitParkedWorkload},
	// goro's unwind_at_exit against Go's exit, which has nothing like it: the same workload.
	{"ExitUnwind40k", "ns/goroutine", exitParkedWorkload},
}

// ---- skynet ----------------------------------------------------------------------------

func skynet(c chan int64, num, size, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	for i := int64(0); i < div; i++ {
		subNum := num + i*(size/div)
		go skynet(rc, subNum, size/div, div)
	}
	var sum int64
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynetWorkload(cfg config) report {
	leaves := sizesOf(cfg).skynetLeaves
	want := leaves * (leaves - 1) / 2
	check := "ok"
	r := measure(func(b *B) {
		for i := int64(0); i < b.N; i++ {
			c := make(chan int64)
			go skynet(c, 0, leaves, 10)
			if sum := <-c; sum != want {
				check = fail("sum", sum, want)
			}
		}
	}, cfg.time, 1e6) // ms per skynet
	r.check = check
	return r
}

// ---- pipelines -------------------------------------------------------------------------

func stage1(v int64) int64 { return v + 1 }
func stage2(v int64) int64 { return v * 2 }
func stage3(v int64) int64 { return v - 1 }

func generator(n int64) chan int64 {
	out := make(chan int64)
	go func() {
		for i := int64(0); i < n; i++ {
			out <- i
		}
		close(out)
	}()
	return out
}

func stage(in <-chan int64, f func(int64) int64) chan int64 {
	out := make(chan int64)
	go func() {
		for v := range in {
			out <- f(v)
		}
		close(out)
	}()
	return out
}

func sink(in <-chan int64) int64 {
	var sum int64
	for v := range in {
		sum += v
	}
	return sum
}

// generator -> stage1 -> stage2 -> stage3 -> sink, unbuffered channels.
func pipeline(n int64) int64 {
	return sink(stage(stage(stage(generator(n), stage1), stage2), stage3))
}

// generator -> workers (each applies stage1..3) -> fan-in (one forwarder per worker into
// one channel; the last forwarder closes it) -> sink.
func fanOutIn(n int64, workers int) int64 {
	source := generator(n)
	merged := make(chan int64)
	live := int32(workers)
	for w := 0; w < workers; w++ {
		out := stage(source, func(v int64) int64 { return stage3(stage2(stage1(v))) })
		go func() {
			for v := range out {
				merged <- v
			}
			if atomic.AddInt32(&live, -1) == 0 {
				close(merged)
			}
		}()
	}
	return sink(merged)
}

func pipelineWorkload(cfg config, fan bool) report {
	sz := sizesOf(cfg)
	n := sz.pipelineValues
	check := "ok"
	r := measure(func(b *B) {
		for i := int64(0); i < b.N; i++ {
			var sum int64
			if fan {
				sum = fanOutIn(n, sz.fanWorkers)
			} else {
				sum = pipeline(n)
			}
			if sum != n*n {
				check = fail("sum", sum, n*n)
			}
		}
	}, cfg.time, float64(n))
	r.check = check
	return r
}

// ---- pipelines with a done channel ------------------------------------------------------

// The pipeline and fan-out/fan-in again, written the way "Concurrency in Go" writes them
// (every send and receive also selects on done), to compare with goro's patterns layer
// (goro::generator, stage, fan_out, fan_in), which stops the same way.

func generatorDone(done <-chan struct{}, values []int64) <-chan int64 {
	out := make(chan int64)
	go func() {
		defer close(out)
		for _, v := range values {
			select {
			case out <- v:
			case <-done:
				return
			}
		}
	}()
	return out
}

func stageDone(done <-chan struct{}, in <-chan int64, f func(int64) int64) <-chan int64 {
	out := make(chan int64)
	go func() {
		defer close(out)
		for {
			select {
			case <-done:
				return
			case v, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- f(v):
				case <-done:
					return
				}
			}
		}
	}()
	return out
}

func fanOut(done <-chan struct{}, in <-chan int64, n int, f func(int64) int64) []<-chan int64 {
	outs := make([]<-chan int64, n)
	for i := range outs {
		outs[i] = stageDone(done, in, f)
	}
	return outs
}

func fanIn(done <-chan struct{}, ins []<-chan int64) <-chan int64 {
	var wg sync.WaitGroup
	out := make(chan int64)
	wg.Add(len(ins))
	for _, c := range ins {
		go func(c <-chan int64) {
			defer wg.Done()
			for v := range c {
				select {
				case out <- v:
				case <-done:
					return
				}
			}
		}(c)
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

func iota64(n int64) []int64 {
	values := make([]int64, n)
	for i := range values {
		values[i] = int64(i)
	}
	return values
}

func pipelineDone(n int64) int64 {
	done := make(chan struct{})
	defer close(done)
	gen := generatorDone(done, iota64(n))
	return sink(stageDone(done, stageDone(done, stageDone(done, gen, stage1), stage2), stage3))
}

func fanOutInDone(n int64, workers int) int64 {
	done := make(chan struct{})
	defer close(done)
	gen := generatorDone(done, iota64(n))
	f := func(v int64) int64 { return stage3(stage2(stage1(v))) }
	return sink(fanIn(done, fanOut(done, gen, workers, f)))
}

func pipelineDoneWorkload(cfg config, fan bool) report {
	sz := sizesOf(cfg)
	n := sz.pipelineValues
	check := "ok"
	r := measure(func(b *B) {
		for i := int64(0); i < b.N; i++ {
			var sum int64
			if fan {
				sum = fanOutInDone(n, sz.fanWorkers)
			} else {
				sum = pipelineDone(n)
			}
			if sum != n*n {
				check = fail("sum", sum, n*n)
			}
		}
	}, cfg.time, float64(n))
	r.check = check
	return r
}

// ---- context ---------------------------------------------------------------------------

// A tree of contexts (node i's parent is node (i-1)/10), one goroutine waiting on each
// node's Done; the timed part is cancelling the root until every goroutine has woken.
func contextWorkload(cfg config) report {
	n := sizesOf(cfg).contextTree
	bt := cfg.time
	if !cfg.smoke {
		bt = benchTime{n: 5}
	}
	r := measure(func(b *B) {
		for i := int64(0); i < b.N; i++ {
			b.StopTimer()
			ctxs := make([]context.Context, n)
			var cancelRoot context.CancelFunc
			ctxs[0], cancelRoot = context.WithCancel(context.Background())
			cancels := make([]context.CancelFunc, n)
			for j := 1; j < n; j++ {
				ctxs[j], cancels[j] = context.WithCancel(ctxs[(j-1)/10])
			}
			var ready, woken sync.WaitGroup
			ready.Add(n)
			woken.Add(n)
			for j := 0; j < n; j++ {
				ctx := ctxs[j]
				go func() {
					ready.Done()
					<-ctx.Done()
					woken.Done()
				}()
			}
			ready.Wait()
			b.StartTimer()
			cancelRoot()
			woken.Wait()
			b.StopTimer()
			for _, cancel := range cancels[1:] {
				cancel()
			}
		}
	}, bt, float64(n))
	return r
}

// ---- memory and idle cost --------------------------------------------------------------

// Resident bytes per goroutine parked on a channel receive.
func memoryWorkload(cfg config, n int) report {
	if cfg.smoke {
		n = 1000
	}
	c := make(chan bool)
	var started, exited sync.WaitGroup
	started.Add(n)
	exited.Add(n)
	runtime.GC()
	before := rssBytes()
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-c // parked until c is closed
			exited.Done()
		}()
	}
	started.Wait()
	time.Sleep(10 * time.Millisecond) // let the last ones park
	after := rssBytes()
	close(c)
	exited.Wait()
	return report{value: float64(after-before) / float64(n), cpu: -1, iters: int64(n), check: "ok"}
}

// Wall and CPU milliseconds while the goroutines sleep on timers: from the moment every
// goroutine has started (and is about to sleep) until the last one has woken.
func idleWorkload(cfg config) report {
	sz := sizesOf(cfg)
	var started, woken sync.WaitGroup
	started.Add(sz.idleGoroutines)
	woken.Add(sz.idleGoroutines)
	for i := 0; i < sz.idleGoroutines; i++ {
		go func() {
			started.Done()
			time.Sleep(sz.idleWait)
			woken.Done()
		}()
	}
	started.Wait()
	wall0, cpu0 := time.Now(), cpuNow()
	woken.Wait()
	return report{
		value: float64(time.Since(wall0).Nanoseconds()) / 1e6,
		cpu:   float64((cpuNow() - cpu0).Nanoseconds()) / 1e6,
		iters: int64(sz.idleGoroutines),
		check: "ok",
	}
}

// ---- spawning many at once, the daisy chain, exit with goroutines parked ---------------

// Spawns n goroutines from one goroutine, each doing wg.Done(), then waits for them all:
// nanoseconds per goroutine.
func spawnJoinWorkload(cfg config) report {
	n := int64(1000000)
	if cfg.smoke {
		n = 1000
	}
	return measure(func(b *B) {
		for i := int64(0); i < b.N; i++ {
			var wg sync.WaitGroup
			wg.Add(int(n))
			for j := int64(0); j < n; j++ {
				go func() { wg.Done() }()
			}
			wg.Wait()
		}
	}, cfg.time, float64(n))
}

func whisper(left, right chan int) {
	left <- 1 + <-right
}

// Pike's "whispers": n goroutines linked by unbuffered channels.
func whispers(n int) int {
	leftmost := make(chan int)
	right := leftmost
	left := leftmost
	for i := 0; i < n; i++ {
		right = make(chan int)
		go whisper(left, right)
		left = right
	}
	go func(c chan int) { c <- 1 }(right)
	return <-leftmost
}

func daisyChainSize(cfg config) int {
	if cfg.smoke {
		return 1000
	}
	return 100000
}

// Times the chain, in ms per chain; with warm, after one untimed run in this process.
func daisyChain(cfg config, warm bool) report {
	n := daisyChainSize(cfg)
	check := "ok"
	runChecked := func() {
		if got := whispers(n); got != n+1 {
			check = fail("sum", int64(got), int64(n+1))
		}
	}
	if warm {
		runChecked()
	}
	r := measure(func(b *B) {
		for i := int64(0); i < b.N; i++ {
			runChecked()
		}
	}, cfg.time, 1e6)
	r.check = check
	return r
}

func daisyChainWorkload(cfg config) report { return daisyChain(cfg, false) }

// The same chain once the process has run it before: stacks, goroutines and channels come
// from warm caches, so this is the runtime's own cost without the first touch of fresh pages.
func daisyChainWarmWorkload(cfg config) report { return daisyChain(cfg, true) }

// The peak resident set of a process that runs the chain once, in MB (VmHWM).
func daisyChainRSSWorkload(cfg config) report {
	n := daisyChainSize(cfg)
	check := "ok"
	if got := whispers(n); got != n+1 {
		check = fail("sum", int64(got), int64(n+1))
	}
	return report{value: float64(statusBytes("VmHWM:")) / 1e6, cpu: -1, iters: int64(n), check: check}
}

// Go abandons its goroutines when main returns: the cost of exiting with n goroutines
// parked is the process's exit. This parks them and has main print the monotonic time of
// its last statement (EXITSTAMP); bench/run.py takes the time from there to the process's
// exit. The RESULT line's value is a placeholder.
var exitStamp bool

func exitParkedWorkload(cfg config) report {
	n := 40000
	if cfg.smoke {
		n = 1000
	}
	c := make(chan bool)
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-c // parked until the process exits
		}()
	}
	started.Wait()
	time.Sleep(10 * time.Millisecond) // let the last ones park
	exitStamp = true
	return report{value: 0, cpu: -1, iters: int64(n), check: "ok"}
}

// monotonicNs is clock_gettime(CLOCK_MONOTONIC), the clock of Python's time.monotonic_ns.
func monotonicNs() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

func main() {
	threads := flag.Int("threads", 0, "GOMAXPROCS (0: keep the GOMAXPROCS environment/default)")
	benchtime := flag.String("benchtime", "1s", "run time per benchmark: duration or Nx")
	smoke := flag.Bool("smoke", false, "tiny sizes, every workload")
	list := flag.Bool("list", false, "list the workloads")
	flag.Parse()
	if *list {
		for _, w := range workloads {
			fmt.Println(w.name)
		}
		return
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}
	cfg := config{threads: runtime.GOMAXPROCS(0), smoke: *smoke}
	bt, err := parseBenchTime(*benchtime)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.time = bt
	if cfg.smoke {
		cfg.time = benchTime{n: 5}
	}
	selected := map[string]bool{}
	for _, name := range flag.Args() {
		found := false
		for _, w := range workloads {
			found = found || w.name == name
		}
		if !found {
			fmt.Fprintln(os.Stderr, "unknown workload:", name)
			os.Exit(2)
		}
		selected[name] = true
	}
	status := 0
	for _, w := range workloads {
		if len(selected) > 0 && !selected[w.name] {
			continue
		}
		r := w.run(cfg)
		fmt.Printf("RESULT name=%s threads=%d value=%.6g cpu=%.6g unit=%s iters=%d check=%s\n",
			w.name, cfg.threads, r.value, r.cpu, w.unit, r.iters, r.check)
		if r.check != "ok" {
			status = 1
		}
	}
	if exitStamp {
		fmt.Printf("EXITSTAMP %d\n", monotonicNs())
	}
	os.Exit(status)
}
