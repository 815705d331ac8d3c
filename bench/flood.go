package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The banned flood: a banned client floods the gateway while another client
// downloads a stream through it. performance.md's goal is a banned address
// rejected at 50,000 requests/s or more while the stream keeps its speed.
//
// A second jellyguard runs for it, with its own configuration and data
// directory: trusted_proxies [127.0.0.1], so that a client on loopback can
// be any address through X-Forwarded-For, and shield.exempt left empty, so
// that 127.0.0.2 (not a trusted proxy) can be banned. Two floods, each with
// the stream under it, each after the same stream on the idle gateway:
//
//   - "403": wrk sends GET /Items with X-Forwarded-For 203.0.113.66, a banned
//     address behind the trusted proxy; the gateway answers 403 itself.
//   - "accept": this program, run again as a load generator, connects from
//     127.0.0.2, a banned TCP peer, and sends the same request; the gateway
//     closes each connection at accept, before reading it.
//
// The stand-in upstream counts the requests it serves, so the run shows
// that none of the flood reached it.

const (
	// floodBannedXFF is the banned client behind the trusted proxy.
	floodBannedXFF = "203.0.113.66"
	// floodBannedPeer is the banned TCP peer (127.0.0.0/8 is loopback).
	floodBannedPeer = "127.0.0.2"
	// floodViewer is the client that streams during the flood.
	floodViewer = "198.51.100.7"
	// floodConns is the flood's concurrency, as wrk -c64 elsewhere.
	floodConns = 64
	// floodConf is what the flood gateway's configuration adds.
	floodConf = "trusted_proxies: [\"127.0.0.1\"]\n"
)

// floodKinds name the two floods, in the order they run.
var floodKinds = []struct{ name, what string }{
	{"403", "403: X-Forwarded-For " + floodBannedXFF},
	{"accept", "accept drop: TCP peer " + floodBannedPeer},
}

// floodRun is one flood of one kind, with the stream downloaded under it
// and the same stream on the idle gateway just before.
type floodRun struct {
	Rejected int64 // 403 answers, or connections closed at accept
	// NotRejected are answers other than 403 (wrk), or connections that
	// got any answer or none in time (accept).
	NotRejected int64
	SockErrs    int64 // wrk's socket errors; the generator's failed connects
	ErrDetail   string
	Seconds     float64 // the flood's own measured duration
	PerSec      float64
	P50, P99    time.Duration // wrk only
	// Reached counts the flood's requests (GET /Items) the upstream
	// served during the flood; Other the rest, besides the stream (the
	// gateway's own calls, if any).
	Reached, Other int64
	// GatewayCPU is the flood gateway's CPU from the flood's start to the
	// end of flood and stream, over Wall; GatewaySys the part of it spent
	// in the kernel.
	GatewayCPU, GatewaySys time.Duration
	Wall                   time.Duration
	// ServerCPU and LoadCPU are how busy the pinned CPUs were meanwhile
	// (nil without pinning).
	ServerCPU, LoadCPU *cpuShare
	Idle, Flooded      streamRun
	// UnderFlood is the share of the flooded stream's time during which
	// the flood ran.
	UnderFlood float64
}

// cpuShare is how one CPU spent a time span, in percent.
type cpuShare struct {
	Busy  float64 `json:"busy_pct"`
	Steal float64 `json:"steal_pct"`
}

// floodGateway is the second jellyguard and what it takes to drive it.
type floodGateway struct {
	pr      *peer
	conf    string
	bin     string
	upBase  string   // the stand-in, for its counters
	viewer  []string // the stream's request headers
	accept  bool     // the accept flood can run (127.0.0.2 is usable)
	closes  bool     // the 403 answer closes its connection
	warmup  time.Duration
	measure *measurer
}

// flood runs the banned-flood measurements on a gateway of their own.
func (m *measurer) flood(ctx context.Context, bin, dir, upAddr string) {
	fr := m.rep.startFlood(m.o)
	fmt.Printf("bench: banned flood: starting a second jellyguard with %s", floodConf)
	pr, err := startJellyguard(ctx, m.pin, bin, dir, upAddr, "flood gateway", floodConf)
	if err != nil {
		fr.fail("flood gateway did not start: %v", err)
		return
	}
	defer pr.proc.stop(10 * time.Second)
	g := &floodGateway{pr: pr, conf: jellyguardConfPath(dir), bin: bin, upBase: "http://" + upAddr,
		warmup: min(time.Second, m.o.floodDuration/6), measure: m}
	if err := g.prepare(ctx); err != nil {
		fr.fail("%v", err)
		return
	}
	fr.CloseAfter403 = g.closes
	for round := range m.o.rounds {
		if m.o.rounds > 1 {
			fmt.Printf("bench: banned flood, round %d of %d\n", round+1, m.o.rounds)
		}
		for _, kind := range floodKinds {
			if ctx.Err() != nil {
				return
			}
			if kind.name == "accept" && !g.accept {
				continue
			}
			r, err := g.run(ctx, kind.name)
			fr.add(kind.name, kind.what, r, err)
		}
	}
	if rss, err := peakRSS(pr.pids()); err == nil {
		fr.PeakRSSMiB = ptr(float64(rss) / (1 << 20))
	}
	if pr.proc.exited() {
		fr.fail("%s", pr.proc.describe())
	}
}

// prepare signs the viewer in, bans both flooding clients with the CLI and
// waits until the running gateway refuses them, checking first that they
// were let in before the ban (so that a refusal is the ban's doing).
func (g *floodGateway) prepare(ctx context.Context) error {
	viewer := &http.Client{Timeout: 10 * time.Second, Transport: headerTransport{"X-Forwarded-For": floodViewer}}
	token, err := signIn(ctx, viewer, g.pr.base, "bench-flood-viewer")
	if err != nil {
		return err
	}
	g.viewer = []string{fmt.Sprintf("Authorization: MediaBrowser Token=%q", token), "X-Forwarded-For: " + floodViewer}
	// The viewer's stream works.
	if code, _, err := g.get(ctx, "/Videos/"+benchItemID+"/stream?static=true", g.viewer, "bytes=0-99"); err != nil || code != http.StatusPartialContent {
		return fmt.Errorf("flood gateway: the viewer's stream: HTTP %d, %v", code, err)
	}

	banned := []string{"X-Forwarded-For: " + floodBannedXFF}
	if code, _, err := g.get(ctx, "/Items", banned, ""); err != nil || code == http.StatusForbidden {
		return fmt.Errorf("flood gateway: %s refused before any ban: HTTP %d, %v", floodBannedXFF, code, err)
	}
	peerErr := probeAcceptOnce(ctx, g.pr.base, floodBannedPeer, outAnswered)
	g.accept = peerErr == nil
	if !g.accept {
		g.measure.rep.note("banned flood: accept drop not measured: before the ban, a connection from %s got no answer: %v", floodBannedPeer, peerErr)
	}

	bans := []string{floodBannedXFF}
	if g.accept {
		bans = append(bans, floodBannedPeer)
	}
	for _, a := range bans {
		out, err := g.cli(ctx, "ban", "add", a, "--reason", "benchmark: banned flood")
		if err != nil {
			return fmt.Errorf("jellyguard ban add %s: %w", a, err)
		}
		fmt.Printf("bench: banned flood: jellyguard ban add %s: %s\n", a, strings.TrimSpace(out))
	}
	// The CLI writes the data directory; the running gateway picks the
	// bans up within about a second.
	start := time.Now()
	if err := waitFor(ctx, 15*time.Second, func() error {
		code, hdr, err := g.get(ctx, "/Items", banned, "")
		if err != nil {
			return err
		}
		if code != http.StatusForbidden {
			return fmt.Errorf("HTTP %d", code)
		}
		g.closes = strings.EqualFold(hdr.Get("Connection"), "close")
		return nil
	}); err != nil {
		return fmt.Errorf("flood gateway: %s still not refused: %w", floodBannedXFF, err)
	}
	if g.accept {
		if err := waitFor(ctx, 15*time.Second, func() error {
			return probeAcceptOnce(ctx, g.pr.base, floodBannedPeer, outDropped)
		}); err != nil {
			g.accept = false
			g.measure.rep.note("banned flood: accept drop not measured: %s still answered after its ban: %v", floodBannedPeer, err)
		}
	}
	fmt.Printf("bench: banned flood: the gateway refuses the banned clients (%s after the CLI)\n", time.Since(start).Round(10*time.Millisecond))
	return nil
}

// run measures the idle stream, then one flood with the stream under it.
func (g *floodGateway) run(ctx context.Context, kind string) (floodRun, error) {
	m := g.measure
	var r floodRun
	idle, err := measureStreamHeaders(ctx, m.pin, g.pr, g.viewer, m.o.streamBytes)
	if err != nil {
		return r, fmt.Errorf("idle stream: %w", err)
	}
	m.progress("flood", fmt.Sprintf("%d MiB stream, idle gateway", m.o.streamBytes>>20), nil, "%.0f MiB/s", idle.BytesSec/(1<<20))

	c0, err := g.counters(ctx)
	if err != nil {
		return r, err
	}
	cpu0 := readCPUStat()
	u0, s0, _ := cpuTimes(g.pr.pids())
	start := time.Now()
	type loadResult struct {
		r   floodRun
		err error
		end time.Time
	}
	done := make(chan loadResult, 1)
	go func() {
		lr, err := g.load(ctx, kind)
		done <- loadResult{lr, err, time.Now()}
	}()
	select {
	case <-time.After(g.warmup):
	case <-ctx.Done():
	}
	sStart := time.Now()
	st, serr := measureStreamHeaders(ctx, m.pin, g.pr, g.viewer, m.o.streamBytes)
	sEnd := time.Now()
	lr := <-done
	u1, s1, _ := cpuTimes(g.pr.pids())
	wall := time.Since(start)
	cpu1 := readCPUStat()
	c1, cerr := g.counters(ctx)
	if lr.err != nil {
		return r, fmt.Errorf("flood: %w", lr.err)
	}
	if serr != nil {
		return r, fmt.Errorf("stream under the flood: %w", serr)
	}
	if cerr != nil {
		return r, cerr
	}
	r = lr.r
	r.Idle, r.Flooded = idle, st
	r.GatewayCPU, r.GatewaySys, r.Wall = (u1-u0)+(s1-s0), s1-s0, wall
	r.Reached = c1.Items - c0.Items
	r.Other = (c1.Requests - c0.Requests) - r.Reached - (c1.Streams - c0.Streams)
	r.UnderFlood = overlap(sStart, sEnd, start, lr.end)
	if m.pin.serverCPU >= 0 && cpu0 != nil && cpu1 != nil {
		r.ServerCPU = cpuBetween(cpu0, cpu1, m.pin.serverCPU)
		r.LoadCPU = cpuBetween(cpu0, cpu1, m.pin.loadCPU)
	}
	m.progress("flood", kind+" flood", nil,
		"%.0f rejected/s (%d not rejected, %d reached the upstream), stream %.0f MiB/s (%.2f× idle), gateway CPU %.0f%%",
		r.PerSec, r.NotRejected, r.Reached, st.BytesSec/(1<<20), st.BytesSec/idle.BytesSec, 100*r.GatewayCPU.Seconds()/r.Wall.Seconds())
	return r, nil
}

// overlap is the share of [a0, a1] that lies within [b0, b1].
func overlap(a0, a1, b0, b1 time.Time) float64 {
	span := a1.Sub(a0)
	if span <= 0 {
		return 0
	}
	lo, hi := a0, a1
	if b0.After(lo) {
		lo = b0
	}
	if b1.Before(hi) {
		hi = b1
	}
	return max(0, min(1, hi.Sub(lo).Seconds()/span.Seconds()))
}

// load runs one flood for the configured duration.
func (g *floodGateway) load(ctx context.Context, kind string) (floodRun, error) {
	m := g.measure
	d := m.o.floodDuration
	switch kind {
	case "403":
		w, err := runWrkHeaders(ctx, m.pin, g.pr.base+"/Items", []string{"X-Forwarded-For: " + floodBannedXFF}, 2, floodConns, d)
		if err != nil {
			return floodRun{}, err
		}
		r := floodRun{Rejected: w.Non2xx, NotRejected: w.Requests - w.Non2xx, SockErrs: w.SockErrs, ErrDetail: w.ErrDetail,
			Seconds: w.Seconds, P50: w.P50, P99: w.P99}
		if w.Seconds > 0 {
			r.PerSec = float64(w.Non2xx) / w.Seconds
		}
		return r, nil
	case "accept":
		self, err := os.Executable()
		if err != nil {
			return floodRun{}, err
		}
		argv := append(append([]string{}, m.pin.load...), self, "-accept-flood",
			"-target", strings.TrimPrefix(g.pr.base, "http://"), "-from", floodBannedPeer,
			"-c", strconv.Itoa(floodConns), "-d", d.String())
		out, err := runBounded(ctx, d+30*time.Second, argv...)
		if err != nil {
			return floodRun{}, err
		}
		var a acceptFloodResult
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			return floodRun{}, fmt.Errorf("accept flood: %w: %q", err, out)
		}
		r := floodRun{Rejected: a.Dropped, NotRejected: a.Answered + a.Timeouts, SockErrs: a.DialErrors,
			ErrDetail: a.FirstError, Seconds: a.Seconds}
		if a.Seconds > 0 {
			r.PerSec = float64(a.Dropped) / a.Seconds
		}
		return r, nil
	}
	return floodRun{}, fmt.Errorf("unknown flood %q", kind)
}

// get sends one GET to the flood gateway and returns the status and the
// answer's headers.
func (g *floodGateway) get(ctx context.Context, path string, headers []string, rng string) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.pr.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	// A transport of its own each time: no connection is kept across a
	// ban. It asks for keep-alive, so that a "Connection: close" in the
	// answer is the gateway's choice.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: tr}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	hdr := resp.Header.Clone()
	if resp.Close {
		hdr.Set("Connection", "close")
	}
	return resp.StatusCode, hdr, nil
}

// counters reads the stand-in's request counters.
func (g *floodGateway) counters(ctx context.Context) (upstreamCounters, error) {
	var c upstreamCounters
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.upBase+countersPath, nil)
	if err != nil {
		return c, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return c, fmt.Errorf("upstream counters: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return c, fmt.Errorf("upstream counters: %w", err)
	}
	return c, nil
}

// cli runs a jellyguard command on the flood gateway's configuration.
func (g *floodGateway) cli(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, append(args, "--config", g.conf)...)
	cmd.Env = childEnv()
	cmd.Dir = filepath.Dir(g.conf)
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()+"\n"+stdout.String()))
	}
	return stdout.String(), nil
}

// waitFor calls check every 100ms until it succeeds, limit passes or ctx
// ends, and returns its last error.
func waitFor(ctx context.Context, limit time.Duration, check func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// headerTransport adds fixed headers to every request.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// The accept flood's load generator: wrk cannot choose its source address,
// so this program, run again with -accept-flood (pinned like wrk), opens
// connections from the banned address in a loop.

// acceptOutcome is what became of one connection.
type acceptOutcome int

const (
	// outDropped: connected, then closed by the gateway without a byte
	// of answer (end of stream, reset, or a reset write).
	outDropped acceptOutcome = iota
	// outAnswered: the gateway answered: the connection was not dropped.
	outAnswered
	// outDialError: the connection could not be opened.
	outDialError
	// outTimeout: neither an answer nor a close within the time limit.
	outTimeout
)

func (o acceptOutcome) String() string {
	return [...]string{"dropped", "answered", "connect failed", "no answer or close in time"}[o]
}

// acceptFloodResult is what the generator prints (JSON).
type acceptFloodResult struct {
	Attempts   int64   `json:"attempts"`
	Dropped    int64   `json:"dropped"`
	Answered   int64   `json:"answered"`
	DialErrors int64   `json:"dial_errors"`
	Timeouts   int64   `json:"timeouts"`
	Seconds    float64 `json:"seconds"`
	FirstError string  `json:"first_error,omitempty"`
}

// acceptRequest is what each connection sends: a small GET, as the 403
// flood does.
var acceptRequest = []byte("GET /Items HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: jellyguard-bench\r\nAccept: */*\r\n\r\n")

// acceptOnce opens one connection from d's local address to target, sends
// the request and waits for an answer or the close.
func acceptOnce(d *net.Dialer, target string, buf []byte, limit time.Duration) (acceptOutcome, error) {
	c, err := d.Dial("tcp", target)
	if err != nil {
		return outDialError, err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(limit))
	if _, err := c.Write(acceptRequest); err != nil {
		if isTimeout(err) {
			return outTimeout, err
		}
		return outDropped, nil
	}
	n, err := c.Read(buf)
	switch {
	case n > 0:
		return outAnswered, nil
	case isTimeout(err):
		return outTimeout, err
	default:
		return outDropped, nil
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func acceptDialer(from string) (*net.Dialer, error) {
	ip := net.ParseIP(from)
	if ip == nil {
		return nil, fmt.Errorf("bad source address %q", from)
	}
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 2 * time.Second, Control: bindNoPort}, nil
}

// probeAcceptOnce opens one connection from from to the gateway at base and
// reports an error unless it ends as want.
func probeAcceptOnce(ctx context.Context, base, from string, want acceptOutcome) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	d, err := acceptDialer(from)
	if err != nil {
		return err
	}
	got, err := acceptOnce(d, strings.TrimPrefix(base, "http://"), make([]byte, 512), 2*time.Second)
	if got == want {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", got, err)
	}
	return errors.New(got.String())
}

// runAcceptFlood is the hidden -accept-flood mode: c loops opening
// connections from -from to -target for -d, counted by outcome and printed
// as JSON.
func runAcceptFlood(args []string) error {
	fs := flag.NewFlagSet("accept-flood", flag.ContinueOnError)
	target := fs.String("target", "", "host:port to connect to")
	from := fs.String("from", floodBannedPeer, "source address")
	conns := fs.Int("c", floodConns, "connections at once")
	d := fs.Duration("d", 10*time.Second, "how long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dialer, err := acceptDialer(*from)
	if err != nil {
		return err
	}
	var counts [4]atomic.Int64
	var firstErr atomic.Pointer[string]
	start := time.Now()
	deadline := start.Add(*d)
	var wg sync.WaitGroup
	for range max(*conns, 1) {
		wg.Go(func() {
			buf := make([]byte, 512)
			for time.Now().Before(deadline) {
				o, err := acceptOnce(dialer, *target, buf, 2*time.Second)
				counts[o].Add(1)
				if err != nil {
					msg := o.String() + ": " + err.Error()
					firstErr.CompareAndSwap(nil, &msg)
				}
			}
		})
	}
	wg.Wait()
	res := acceptFloodResult{
		Dropped: counts[outDropped].Load(), Answered: counts[outAnswered].Load(),
		DialErrors: counts[outDialError].Load(), Timeouts: counts[outTimeout].Load(),
		Seconds: time.Since(start).Seconds(),
	}
	res.Attempts = res.Dropped + res.Answered + res.DialErrors + res.Timeouts
	if e := firstErr.Load(); e != nil {
		res.FirstError = *e
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// cpuStat is the cumulative time each CPU spent (/proc/stat), in ticks.
type cpuStat map[int]struct{ busy, steal, total uint64 }

func readCPUStat() cpuStat {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	st := cpuStat{}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		// user nice system idle iowait irq softirq steal (guest time is
		// counted in user already).
		var v [8]uint64
		for i := range v {
			v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
		}
		e := st[n]
		e.busy = v[0] + v[1] + v[2] + v[5] + v[6]
		e.steal = v[7]
		for _, x := range v {
			e.total += x
		}
		st[n] = e
	}
	return st
}

// cpuBetween is how CPU n spent the time between two readings.
func cpuBetween(a, b cpuStat, n int) *cpuShare {
	x, okA := a[n]
	y, okB := b[n]
	if !okA || !okB || y.total <= x.total {
		return nil
	}
	t := float64(y.total - x.total)
	return &cpuShare{Busy: 100 * float64(y.busy-x.busy) / t, Steal: 100 * float64(y.steal-x.steal) / t}
}
