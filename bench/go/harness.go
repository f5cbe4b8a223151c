package main

// The same measurement loop as bench/common/harness.hpp (and as Go's testing.B): the
// body runs b.N operations, N grows by B.launch's rule until a run takes at least the
// bench time (or is exactly N with "Nx"), and the last run is reported with its wall
// and CPU time (user + system of the whole process, from getrusage).

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type benchTime struct {
	d time.Duration
	n int64 // > 0: exactly n iterations
}

func parseBenchTime(s string) (benchTime, error) {
	if strings.HasSuffix(s, "x") {
		n, err := strconv.ParseInt(strings.TrimSuffix(s, "x"), 10, 64)
		if err != nil || n <= 0 {
			return benchTime{}, fmt.Errorf("invalid count %q", s)
		}
		return benchTime{n: n}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return benchTime{}, fmt.Errorf("invalid duration %q", s)
	}
	return benchTime{d: d}, nil
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// B is a minimal testing.B with a CPU clock beside the wall clock.
type B struct {
	N         int64
	timing    bool
	wallStart time.Time
	cpuStart  time.Duration
	wall, cpu time.Duration
}

func (b *B) StartTimer() {
	if !b.timing {
		b.wallStart, b.cpuStart, b.timing = time.Now(), cpuNow(), true
	}
}

func (b *B) StopTimer() {
	if b.timing {
		b.wall += time.Since(b.wallStart)
		b.cpu += cpuNow() - b.cpuStart
		b.timing = false
	}
}

func (b *B) ResetTimer() {
	if b.timing {
		b.wallStart, b.cpuStart = time.Now(), cpuNow()
	}
	b.wall, b.cpu = 0, 0
}

type report struct {
	value, cpu float64 // per unit; cpu < 0: not applicable
	iters      int64
	check      string
}

func runN(body func(*B), n int64) *B {
	runtime.GC() // as testing.B.runN does
	b := &B{N: n}
	b.StartTimer()
	body(b)
	b.StopTimer()
	return b
}

// measure runs body the way `go test -bench` does and reports per op / perOp items.
func measure(body func(*B), bt benchTime, perOp float64) report {
	last := runN(body, 1)
	if bt.n > 0 {
		if bt.n > 1 {
			last = runN(body, bt.n)
		}
	} else {
		for n := int64(1); last.wall < bt.d && n < 1e9; {
			previous := n
			prevns := last.wall.Nanoseconds()
			if prevns <= 0 {
				prevns = 1
			}
			n = bt.d.Nanoseconds() * last.N / prevns
			n += n / 5
			n = min64(n, 100*previous)
			n = max64(n, previous+1)
			n = min64(n, 1e9)
			last = runN(body, n)
		}
	}
	ops := float64(last.N) * perOp
	return report{
		value: float64(last.wall.Nanoseconds()) / ops,
		cpu:   float64(last.cpu.Nanoseconds()) / ops,
		iters: last.N,
		check: "ok",
	}
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// rssBytes is VmRSS from /proc/self/status.
func rssBytes() int64 {
	return statusBytes("VmRSS:")
}

// statusBytes is a size field of /proc/self/status ("VmRSS:", "VmHWM:") in bytes.
func statusBytes(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			fields := strings.Fields(line[len(field):])
			kb, _ := strconv.ParseInt(fields[0], 10, 64)
			return kb * 1024
		}
	}
	return -1
}

func fail(what string, got, want int64) string {
	return fmt.Sprintf("FAIL:%s=%d(want:%d)", what, got, want)
}
