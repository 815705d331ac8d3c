package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Syscalls per request: performance.md found that read and write system
// calls are where the gap between a Go proxy and nginx lives on these
// machines. With perf, the benchmark counts them during one more short
// small-GET run per peer (kept apart so that counting cannot slow the
// measured runs).

// syscallCounts are the system calls a server made per request.
type syscallCounts struct {
	Total  float64 `json:"total"`
	Reads  float64 `json:"reads"`  // read, readv, recvfrom, recvmsg
	Writes float64 `json:"writes"` // write, writev, sendto, sendmsg
}

var (
	readCalls  = []string{"read", "readv", "recvfrom", "recvmsg"}
	writeCalls = []string{"write", "writev", "sendto", "sendmsg"}
)

// perfUsable reports whether perf can count system calls here (it needs
// the tracepoints, which an unprivileged user may not see).
func perfUsable(ctx context.Context) error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("perf not found (Debian: linux-perf)")
	}
	_, err := runBounded(ctx, 20*time.Second, "perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true")
	return err
}

// countSyscalls counts the system calls of pids while wrk loads url for d.
func countSyscalls(ctx context.Context, p pinning, pids []int, url, auth string, d time.Duration) (syscallCounts, error) {
	events := []string{"raw_syscalls:sys_enter"}
	for _, c := range append(append([]string{}, readCalls...), writeCalls...) {
		events = append(events, "syscalls:sys_enter_"+c)
	}
	ps := make([]string, len(pids))
	for i, pid := range pids {
		ps[i] = strconv.Itoa(pid)
	}
	window := d + time.Second
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		// perf stat writes its counts on stderr; -o sends them to stdout.
		out, err := runBounded(ctx, window+20*time.Second, "perf", "stat", "-x,", "-o", "/dev/stdout",
			"-e", strings.Join(events, ","), "-p", strings.Join(ps, ","),
			"--", "sleep", strconv.FormatFloat(window.Seconds(), 'f', 1, 64))
		done <- result{out, err}
	}()
	time.Sleep(300 * time.Millisecond) // let perf attach
	w, werr := runWrk(ctx, p, url, auth, 2, 64, d)
	r := <-done
	if werr != nil {
		return syscallCounts{}, werr
	}
	if r.err != nil {
		return syscallCounts{}, r.err
	}
	if w.Requests == 0 {
		return syscallCounts{}, fmt.Errorf("no requests completed")
	}
	counts := map[string]float64{}
	for line := range strings.SplitSeq(r.out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // "<not counted>" and comments
		}
		counts[f[2]] += v
	}
	n := float64(w.Requests)
	var c syscallCounts
	c.Total = counts["raw_syscalls:sys_enter"] / n
	for _, s := range readCalls {
		c.Reads += counts["syscalls:sys_enter_"+s] / n
	}
	for _, s := range writeCalls {
		c.Writes += counts["syscalls:sys_enter_"+s] / n
	}
	return c, nil
}
