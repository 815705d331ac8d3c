package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchItemID is the item whose stream is fetched.
const benchItemID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"

// smallRun is one wrk run against one peer, with the CPU the proxy and the
// upstream spent during it.
type smallRun struct {
	wrkResult
	ProxyCPU    time.Duration
	UpstreamCPU time.Duration
}

// streamRun is one curl download through one peer.
type streamRun struct {
	Bytes    int64
	Seconds  float64
	BytesSec float64
	ProxyCPU time.Duration
}

// cpuProbe reads the CPU time of the proxy and the upstream around a run.
type cpuProbe struct {
	peer     *peer
	upstream int
	proxy0   time.Duration
	up0      time.Duration
}

func startProbe(pr *peer, upstreamPID int) *cpuProbe {
	c := &cpuProbe{peer: pr, upstream: upstreamPID}
	if pr.pids != nil {
		c.proxy0, _ = cpuTime(pr.pids())
	}
	if upstreamPID > 0 {
		c.up0, _ = cpuTime([]int{upstreamPID})
	}
	return c
}

func (c *cpuProbe) stop() (proxy, upstream time.Duration) {
	if c.peer.pids != nil {
		if t, err := cpuTime(c.peer.pids()); err == nil {
			proxy = t - c.proxy0
		}
	}
	if c.upstream > 0 {
		if t, err := cpuTime([]int{c.upstream}); err == nil {
			upstream = t - c.up0
		}
	}
	return proxy, upstream
}

// measureSmall runs wrk against pr's /Items.
func measureSmall(ctx context.Context, p pinning, pr *peer, upstreamPID int, auth string, threads, conns int, d time.Duration) (smallRun, error) {
	probe := startProbe(pr, upstreamPID)
	res, err := runWrk(ctx, p, pr.base+"/Items", auth, threads, conns, d)
	proxy, up := probe.stop()
	return smallRun{wrkResult: res, ProxyCPU: proxy, UpstreamCPU: up}, err
}

// measureStream downloads size bytes of a stream through pr with curl (a
// Range request when size is less than the whole stream).
func measureStream(ctx context.Context, p pinning, pr *peer, auth string, size int64) (streamRun, error) {
	return measureStreamHeaders(ctx, p, pr, []string{"Authorization: " + auth}, size)
}

// measureStreamHeaders is measureStream with any request headers
// ("Name: value").
func measureStreamHeaders(ctx context.Context, p pinning, pr *peer, headers []string, size int64) (streamRun, error) {
	argv := append(append([]string{}, p.load...), "curl", "-s", "-o", "/dev/null",
		"-w", "%{http_code} %{size_download} %{speed_download} %{time_total}",
		"--max-time", "600")
	for _, h := range headers {
		argv = append(argv, "-H", h)
	}
	if size < streamSize {
		argv = append(argv, "-r", "0-"+strconv.FormatInt(size-1, 10))
	}
	argv = append(argv, pr.base+"/Videos/"+benchItemID+"/stream?static=true")
	probe := startProbe(pr, 0)
	out, err := runBounded(ctx, 610*time.Second, argv...)
	proxy, _ := probe.stop()
	if err != nil {
		return streamRun{}, err
	}
	f := strings.Fields(out)
	if len(f) != 4 {
		return streamRun{}, fmt.Errorf("curl: unexpected output %q", out)
	}
	n, err1 := strconv.ParseInt(f[1], 10, 64)
	speed, err2 := strconv.ParseFloat(f[2], 64)
	secs, err3 := strconv.ParseFloat(f[3], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return streamRun{}, fmt.Errorf("curl: unexpected output %q", out)
	}
	if n != size {
		return streamRun{}, fmt.Errorf("curl: HTTP %s, %d of %d bytes", f[0], n, size)
	}
	return streamRun{Bytes: n, Seconds: secs, BytesSec: speed, ProxyCPU: proxy}, nil
}

// loginStats are the latencies of sequential logins through one peer.
type loginStats struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	Mean float64 `json:"mean_us"`
	Errs int     `json:"errors"`
}

// runLoginClient is the hidden -login-client mode: n sequential logins
// through each base URL in turn (interleaved, so that drift hits all
// alike), printed as JSON on standard output. It runs as its own process
// so that it can be pinned next to the other load generators.
func runLoginClient(args []string) error {
	fs := flag.NewFlagSet("login-client", flag.ContinueOnError)
	n := fs.Int("n", 500, "logins per target")
	targets := fs.String("targets", "", "comma-separated name=baseURL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	type target struct {
		name, base string
		lat        []time.Duration
		errs       int
	}
	var ts []*target
	for t := range strings.SplitSeq(*targets, ",") {
		name, base, ok := strings.Cut(t, "=")
		if !ok {
			return fmt.Errorf("login-client: bad target %q", t)
		}
		ts = append(ts, &target{name: name, base: base})
	}
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	const warmup = 10
	for i := range *n + warmup {
		for _, t := range ts {
			start := time.Now()
			_, err := signIn(ctx, client, t.base, "bench-login-"+strconv.Itoa(i%50))
			el := time.Since(start)
			if i < warmup {
				continue
			}
			if err != nil {
				t.errs++
				continue
			}
			t.lat = append(t.lat, el)
		}
	}
	out := map[string]loginStats{}
	for _, t := range ts {
		out[t.name] = summarize(t.lat, t.errs)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func summarize(lat []time.Duration, errs int) loginStats {
	s := loginStats{N: len(lat), Errs: errs}
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	q := func(f float64) float64 { return us(lat[min(len(lat)-1, int(f*float64(len(lat))))]) }
	s.P50, s.P90, s.P99 = q(0.50), q(0.90), q(0.99)
	s.Mean = us(sum / time.Duration(len(lat)))
	return s
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// measureLogins runs the login client pinned to the load CPU.
func measureLogins(ctx context.Context, p pinning, n int, targets []*peer) (map[string]loginStats, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var ts []string
	for _, t := range targets {
		ts = append(ts, t.name+"="+t.base)
	}
	argv := append(append([]string{}, p.load...), self, "-login-client", "-n", strconv.Itoa(n), "-targets", strings.Join(ts, ","))
	out, err := runBounded(ctx, 10*time.Minute, argv...)
	if err != nil {
		return nil, err
	}
	var res map[string]loginStats
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&res); err != nil && err != io.EOF {
		return nil, fmt.Errorf("login client: %w: %q", err, out)
	}
	return res, nil
}

// measurer runs every measurement against every peer.
type measurer struct {
	o     options
	pin   pinning
	upPID int
	auth  string
	peers []*peer
	rep   *report
}

// all runs the measurements interleaved — each kind against every peer in
// turn, round after round — so that a change in the machine's load touches
// every peer alike and the ratios stay meaningful.
func (m *measurer) all(ctx context.Context) {
	for _, pr := range m.peers {
		if _, err := runWrk(ctx, m.pin, pr.base+"/Items", m.auth, 2, 64, time.Second); err != nil {
			m.rep.peer(pr.name).fail("warm-up: %v", err)
		}
	}
	conn1 := max(m.o.duration/2, time.Second)
	for round := range m.o.rounds {
		if m.o.rounds > 1 {
			fmt.Printf("bench: round %d of %d\n", round+1, m.o.rounds)
		}
		for _, pr := range m.peers {
			if ctx.Err() != nil {
				return
			}
			r, err := measureSmall(ctx, m.pin, pr, m.upPID, m.auth, 2, 64, m.o.duration)
			m.rep.addSmall(pr.name, r, err)
			m.progress(pr.name, "small GET, 64 connections", err, "%.0f req/s, p50 %s, p99 %s, proxy CPU %s",
				r.RPS, r.P50, r.P99, r.ProxyCPU)
		}
		for _, pr := range m.peers {
			if ctx.Err() != nil {
				return
			}
			r, err := measureSmall(ctx, m.pin, pr, m.upPID, m.auth, 1, 1, conn1)
			m.rep.addConn1(pr.name, r, err)
			m.progress(pr.name, "small GET, 1 connection", err, "%.0f req/s, p50 %s", r.RPS, r.P50)
		}
		for _, pr := range m.peers {
			if ctx.Err() != nil {
				return
			}
			r, err := measureStream(ctx, m.pin, pr, m.auth, m.o.streamBytes)
			m.rep.addStream(pr.name, r, err)
			m.progress(pr.name, fmt.Sprintf("%d MiB stream", m.o.streamBytes>>20), err, "%.0f MiB/s, proxy CPU %s",
				r.BytesSec/(1<<20), r.ProxyCPU)
		}
	}
	if m.o.syscalls && ctx.Err() == nil {
		m.syscalls(ctx)
	}
	var logins []*peer
	for _, pr := range m.peers {
		if pr.name == "direct" || pr.name == "jellyguard" {
			logins = append(logins, pr)
		}
	}
	if m.o.logins > 0 && ctx.Err() == nil {
		res, err := measureLogins(ctx, m.pin, m.o.logins, logins)
		if err != nil {
			m.rep.note("logins not measured: %v", err)
		} else {
			m.rep.Logins = res
			fmt.Printf("bench: %d sequential logins each: direct p50 %.0fµs, jellyguard p50 %.0fµs\n",
				m.o.logins, res["direct"].P50, res["jellyguard"].P50)
		}
	}
}

// syscalls counts each server's system calls per small GET: the proxy's,
// and for direct access the upstream's.
func (m *measurer) syscalls(ctx context.Context) {
	if err := perfUsable(ctx); err != nil {
		m.rep.note("system calls not counted: %v", err)
		return
	}
	d := max(m.o.duration/5, 2*time.Second)
	for _, pr := range m.peers {
		pids := []int{m.upPID}
		if pr.pids != nil {
			pids = pr.pids()
		}
		c, err := countSyscalls(ctx, m.pin, pids, pr.base+"/Items", m.auth, d)
		if err != nil {
			m.rep.note("%s: system calls not counted: %v", pr.name, err)
			continue
		}
		m.rep.peer(pr.name).Syscalls = &c
		fmt.Printf("bench: %-10s system calls per small GET: %.1f (%.1f reads, %.1f writes)\n", pr.name, c.Total, c.Reads, c.Writes)
	}
}

func (m *measurer) progress(name, what string, err error, format string, args ...any) {
	if err != nil {
		fmt.Printf("bench: %-10s %s: %v\n", name, what, err)
		return
	}
	fmt.Printf("bench: %-10s %s: %s\n", name, what, fmt.Sprintf(format, args...))
}

// profile records jellyguard with perf while wrk loads it with small GETs
// (a run of its own, not counted in the results).
func (m *measurer) profile(ctx context.Context, jg *peer) {
	if _, err := exec.LookPath("perf"); err != nil {
		m.rep.note("no CPU profile: perf not found (Debian: linux-perf); see bench/README.md for the in-process profile")
		return
	}
	d := m.o.duration
	perfCtx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	rec := exec.CommandContext(perfCtx, "perf", "record", "-F", "999", "-g", "-p", strconv.Itoa(jg.proc.pid()),
		"-o", m.o.cpuprofile, "--", "sleep", strconv.Itoa(int(max(d/time.Second, 1))))
	rec.SysProcAttr = childAttr()
	rec.WaitDelay = 5 * time.Second
	var perfOut tailBuffer
	perfOut.max = 8 << 10
	rec.Stdout, rec.Stderr = &perfOut, &perfOut
	if err := rec.Start(); err != nil {
		m.rep.note("no CPU profile: %v", err)
		return
	}
	time.Sleep(200 * time.Millisecond) // let perf attach
	_, werr := runWrk(ctx, m.pin, jg.base+"/Items", m.auth, 2, 64, d)
	if err := rec.Wait(); err != nil {
		m.rep.note("no CPU profile: perf: %v: %s", err, strings.TrimSpace(perfOut.String()))
		return
	}
	if werr != nil {
		m.rep.note("CPU profile: wrk: %v", werr)
	}
	fmt.Printf("bench: CPU profile of jellyguard under small GETs written to %s (perf report -i %s --no-children --sort symbol -g none)\n",
		m.o.cpuprofile, m.o.cpuprofile)
}
