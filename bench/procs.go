package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pinning says which CPU the servers (upstream and proxy) and the load
// generator run on. Empty prefixes mean no pinning.
type pinning struct {
	server, load []string
	note         string
	// serverCPU and loadCPU are the pinned CPUs' numbers, -1 when nothing
	// is pinned.
	serverCPU, loadCPU int
}

// choosePinning puts the servers on the first CPU this process may use and
// the load generator on the second, as performance.md's method does. With
// one CPU, or without taskset, nothing is pinned and the note says so.
func choosePinning() pinning {
	cpus := allowedCPUs()
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinning{note: "taskset not found: nothing is pinned, servers and load generator share every CPU", serverCPU: -1, loadCPU: -1}
	}
	if len(cpus) < 2 {
		return pinning{note: fmt.Sprintf("only %d CPU available: nothing is pinned, servers and load generator share it", len(cpus)),
			serverCPU: -1, loadCPU: -1}
	}
	s, l := strconv.Itoa(cpus[0]), strconv.Itoa(cpus[1])
	return pinning{
		server:    []string{"taskset", "-c", s},
		load:      []string{"taskset", "-c", l},
		note:      fmt.Sprintf("upstream and proxy pinned to CPU %s, load generator to CPU %s", s, l),
		serverCPU: cpus[0],
		loadCPU:   cpus[1],
	}
}

// allowedCPUs lists the CPUs this process may run on (Cpus_allowed_list).
func allowedCPUs() []int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		list, ok := strings.CutPrefix(line, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		var cpus []int
		for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil {
				continue
			}
			for c := a; c <= b; c++ {
				cpus = append(cpus, c)
			}
		}
		return cpus
	}
	return nil
}

// child is a server process the benchmark started.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
	err  error
}

// startChild starts argv (prefixed with the pinning prefix) with stderr kept
// for error messages. taskset execs the program, so the child's pid is the
// server's own. stdout is returned unread when wantStdout is set.
func startChild(name string, prefix []string, env []string, wantStdout bool, argv ...string) (*child, io.Reader, error) {
	full := append(append([]string{}, prefix...), argv...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = childAttr()
	c := &child{name: name, cmd: cmd, out: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	cmd.Stderr = c.out
	var stdout io.Reader
	if wantStdout {
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			return nil, nil, err
		}
		stdout = pipe
	} else {
		cmd.Stdout = c.out
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, stdout, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the child to end (SIGTERM), and kills it after grace.
func (c *child) stop(grace time.Duration) {
	if c == nil || c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// describe is the child's exit status and the end of its output.
func (c *child) describe() string {
	s := c.name
	if c.exited() {
		s += fmt.Sprintf(" exited (%v)", c.err)
	}
	if out := strings.TrimSpace(c.out.String()); out != "" {
		s += ":\n" + out
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// childEnv is this process's environment without JELLYGUARD_* variables,
// so that a developer's settings do not change what is measured.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JELLYGUARD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat.
var clockTick = func() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if hz, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && hz > 0 {
			return time.Second / time.Duration(hz)
		}
	}
	return 10 * time.Millisecond // USER_HZ is 100 on every Linux build that matters
}()

// cpuTime is the user plus system CPU time the processes have used so far
// (all their threads).
func cpuTime(pids []int) (time.Duration, error) {
	u, s, err := cpuTimes(pids)
	return u + s, err
}

// cpuTimes is the user and the system CPU time the processes have used so
// far (all their threads).
func cpuTimes(pids []int) (user, system time.Duration, err error) {
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, 0, err
		}
		// The command name may hold spaces and parentheses: fields are
		// counted after its closing parenthesis.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
		}
		f := strings.Fields(string(data[i+1:]))
		// After the name: state(3) ppid(4) … utime(14) stime(15).
		if len(f) < 13 {
			return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
		}
		u, err1 := strconv.ParseInt(f[11], 10, 64)
		s, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
		}
		user += time.Duration(u) * clockTick
		system += time.Duration(s) * clockTick
	}
	return user, system, nil
}

// peakRSS is the sum of the processes' peak resident set sizes (VmHWM), in
// bytes.
func peakRSS(pids []int) (int64, error) {
	var total int64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, err
		}
		found := false
		for line := range strings.SplitSeq(string(data), "\n") {
			v, ok := strings.CutPrefix(line, "VmHWM:")
			if !ok {
				continue
			}
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmHWM %q", pid, v)
			}
			total += kb << 10
			found = true
		}
		if !found {
			return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
		}
	}
	return total, nil
}

// withChildren is pid and its direct children (nginx's master and workers).
func withChildren(pid int) []int {
	pids := []int{pid}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		for f := range strings.FieldsSeq(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
		return pids
	}
	// Kernels without CONFIG_PROC_CHILDREN: scan for the parent pid.
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if c, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				pids = append(pids, c)
			}
		}
	}
	return pids
}

// runBounded runs argv with a deadline and returns its standard output.
func runBounded(ctx context.Context, limit time.Duration, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return stdout.String(), fmt.Errorf("%s: still running after %s, stopped", argv[0], limit)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), fmt.Errorf("%s: %w: %s", argv[0], err, msg)
	}
	return stdout.String(), nil
}
