package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run measured; it is printed and written as
// JSON.
type report struct {
	Date     string `json:"date"`
	Commit   string `json:"commit,omitempty"`
	Go       string `json:"go"`
	Kernel   string `json:"kernel,omitempty"`
	CPUModel string `json:"cpu_model,omitempty"`
	CPUs     int    `json:"cpus"`
	Pinning  string `json:"pinning"`
	// LoadAvg is /proc/loadavg before and after the run: a busy machine
	// explains low numbers.
	LoadAvg  [2]string     `json:"loadavg"`
	Settings settings      `json:"settings"`
	Peers    []*peerReport `json:"peers"`
	Ratios   []ratio       `json:"ratios"`
	// Logins are sequential logins through direct and jellyguard;
	// LoginAddedP50 is the difference of their medians.
	Logins        map[string]loginStats `json:"logins,omitempty"`
	LoginAddedP50 *float64              `json:"login_added_p50_us,omitempty"`
	// Flood is the banned flood (absent with -flood=false).
	Flood *floodReport `json:"banned_flood,omitempty"`
	Notes []string     `json:"notes,omitempty"`

	// pinned: the servers and the load generators have CPUs of their own.
	pinned bool
}

type settings struct {
	Duration    string `json:"wrk_duration"`
	Conn1       string `json:"wrk_duration_1conn"`
	Quick       bool   `json:"quick"`
	Rounds      int    `json:"rounds"`
	StreamBytes int64  `json:"stream_bytes"`
	Logins      int    `json:"logins"`
	Auth        string `json:"auth"`
}

// peerReport is one row of the table. Pointers are absent values: direct
// access has no proxy whose CPU or memory could be measured.
type peerReport struct {
	Name string `json:"name"`
	// Small GET /Items, wrk -t2 -c64.
	RPS   *float64 `json:"rps,omitempty"`
	P50us *float64 `json:"p50_us,omitempty"`
	P99us *float64 `json:"p99_us,omitempty"`
	// Small GET /Items, wrk -t1 -c1; Added is over direct's.
	Conn1P50us  *float64 `json:"conn1_p50_us,omitempty"`
	AddedP50us  *float64 `json:"added_p50_us,omitempty"`
	Conn1RPS    *float64 `json:"conn1_rps,omitempty"`
	StreamMiBs  *float64 `json:"stream_mib_s,omitempty"`
	CPUusPerReq *float64 `json:"proxy_cpu_us_per_req,omitempty"`
	CPUsPerGiB  *float64 `json:"proxy_cpu_s_per_gib,omitempty"`
	PeakRSSMiB  *float64 `json:"peak_rss_mib,omitempty"`
	// UpstreamCPUusPerReq shows whether the proxy reuses its upstream
	// connections (a new connection per request costs the upstream more).
	UpstreamCPUusPerReq *float64 `json:"upstream_cpu_us_per_req,omitempty"`
	// Syscalls are the server's system calls per small GET (the proxy's;
	// for direct access the upstream's), counted with perf in a run of
	// their own.
	Syscalls     *syscallCounts `json:"syscalls_per_req,omitempty"`
	Non2xx       int64          `json:"non_2xx,omitempty"`
	SocketErrors int64          `json:"socket_errors,omitempty"`
	Errors       []string       `json:"errors,omitempty"`

	small, conn1 []smallRun
	streams      []streamRun
}

// ratio compares two peers: small-GET requests/s and stream throughput.
type ratio struct {
	Name     string   `json:"name"`
	SmallGET *float64 `json:"small_get_rps,omitempty"`
	Stream   *float64 `json:"stream,omitempty"`
	CPUPer   *float64 `json:"proxy_cpu_per_req,omitempty"`
}

func newReport(ctx context.Context, o options, p pinning, root string) *report {
	r := &report{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Go:      runtime.Version(),
		CPUs:    len(allowedCPUs()),
		Pinning: p.note,
		pinned:  p.serverCPU >= 0,
		Settings: settings{
			Duration: o.duration.String(), Conn1: max(o.duration/2, time.Second).String(), Quick: o.quick,
			Rounds: o.rounds, StreamBytes: o.streamBytes, Logins: o.logins,
			Auth: `Authorization: MediaBrowser Token="<token released by jellyguard>"`,
		},
	}
	if out, err := runBounded(ctx, 10*time.Second, "git", "-C", root, "rev-parse", "--short", "HEAD"); err == nil {
		r.Commit = strings.TrimSpace(out)
		if st, err := runBounded(ctx, 10*time.Second, "git", "-C", root, "status", "--porcelain"); err == nil && strings.TrimSpace(st) != "" {
			r.Commit += "-dirty"
		}
	}
	r.LoadAvg[0] = loadAvg()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		r.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				r.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return r
}

func (r *report) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.Notes = append(r.Notes, msg)
	fmt.Println("bench: note:", msg)
}

func (r *report) peer(name string) *peerReport {
	for _, p := range r.Peers {
		if p.Name == name {
			return p
		}
	}
	p := &peerReport{Name: name}
	r.Peers = append(r.Peers, p)
	return p
}

func (p *peerReport) fail(format string, args ...any) {
	p.Errors = append(p.Errors, fmt.Sprintf(format, args...))
}

func (r *report) addSmall(name string, s smallRun, err error) {
	p := r.peer(name)
	if err != nil {
		p.fail("small GET: %v", err)
		return
	}
	p.small = append(p.small, s)
	p.Non2xx += s.Non2xx
	p.SocketErrors += s.SockErrs
}

func (r *report) addConn1(name string, s smallRun, err error) {
	p := r.peer(name)
	if err != nil {
		p.fail("1-connection GET: %v", err)
		return
	}
	p.conn1 = append(p.conn1, s)
	p.Non2xx += s.Non2xx
	p.SocketErrors += s.SockErrs
}

func (r *report) addStream(name string, s streamRun, err error) {
	p := r.peer(name)
	if err != nil {
		p.fail("stream: %v", err)
		return
	}
	p.streams = append(p.streams, s)
}

// median of what f reads from each run; nil without runs.
func median[T any](runs []T, f func(T) float64) *float64 {
	if len(runs) == 0 {
		return nil
	}
	vs := make([]float64, len(runs))
	for i, r := range runs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	m := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		m = (vs[len(vs)/2-1] + m) / 2
	}
	return &m
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// finish turns the runs into the table's values and the ratios.
func (r *report) finish() {
	r.LoadAvg[1] = loadAvg()
	for _, p := range r.Peers {
		proxied := p.Name != "direct"
		p.RPS = median(p.small, func(s smallRun) float64 { return s.RPS })
		p.P50us = median(p.small, func(s smallRun) float64 { return us(s.P50) })
		p.P99us = median(p.small, func(s smallRun) float64 { return us(s.P99) })
		p.Conn1P50us = median(p.conn1, func(s smallRun) float64 { return us(s.P50) })
		p.Conn1RPS = median(p.conn1, func(s smallRun) float64 { return s.RPS })
		p.StreamMiBs = median(p.streams, func(s streamRun) float64 { return s.BytesSec / (1 << 20) })
		p.UpstreamCPUusPerReq = median(p.small, func(s smallRun) float64 { return perReq(s.UpstreamCPU, s.Requests) })
		if proxied {
			p.CPUusPerReq = median(p.small, func(s smallRun) float64 { return perReq(s.ProxyCPU, s.Requests) })
			p.CPUsPerGiB = median(p.streams, func(s streamRun) float64 {
				return s.ProxyCPU.Seconds() / (float64(s.Bytes) / (1 << 30))
			})
		}
		if p.Non2xx > 0 || p.SocketErrors > 0 {
			r.note("%s: %d non-2xx answers and %d socket errors during the small-GET runs", p.Name, p.Non2xx, p.SocketErrors)
		}
	}
	direct := r.find("direct")
	for _, p := range r.Peers {
		if p.Name != "direct" && direct != nil && p.Conn1P50us != nil && direct.Conn1P50us != nil {
			p.AddedP50us = ptr(*p.Conn1P50us - *direct.Conn1P50us)
		}
	}
	for _, pair := range [][2]string{{"jellyguard", "direct"}, {"jellyguard", "nginx"}, {"nginx", "direct"}} {
		a, b := r.find(pair[0]), r.find(pair[1])
		if a == nil || b == nil {
			continue
		}
		rt := ratio{Name: pair[0] + "/" + pair[1], SmallGET: div(a.RPS, b.RPS), Stream: div(a.StreamMiBs, b.StreamMiBs)}
		if pair[1] != "direct" {
			rt.CPUPer = div(a.CPUusPerReq, b.CPUusPerReq)
		}
		r.Ratios = append(r.Ratios, rt)
	}
	if d, j := r.Logins["direct"], r.Logins["jellyguard"]; d.N > 0 && j.N > 0 {
		r.LoginAddedP50 = ptr(j.P50 - d.P50)
	}
	if r.Flood != nil {
		r.Flood.finish(r)
	}
	for _, p := range r.Peers {
		for _, v := range []*float64{p.RPS, p.P50us, p.P99us, p.Conn1P50us, p.AddedP50us, p.Conn1RPS, p.StreamMiBs,
			p.CPUusPerReq, p.CPUsPerGiB, p.PeakRSSMiB, p.UpstreamCPUusPerReq} {
			roundTo(v, 100)
		}
		if c := p.Syscalls; c != nil {
			roundTo(&c.Total, 100)
			roundTo(&c.Reads, 100)
			roundTo(&c.Writes, 100)
		}
	}
	for _, rt := range r.Ratios {
		roundTo(rt.SmallGET, 1000)
		roundTo(rt.Stream, 1000)
		roundTo(rt.CPUPer, 1000)
	}
}

// roundTo rounds *v to 1/per, for a readable JSON file.
func roundTo(v *float64, per float64) {
	if v != nil {
		*v = math.Round(*v*per) / per
	}
}

func (r *report) find(name string) *peerReport {
	for _, p := range r.Peers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func perReq(cpu time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return us(cpu) / float64(n)
}

func div(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	return ptr(*a / *b)
}

// print writes the table, the ratios and the notes.
func (r *report) print(w io.Writer) error {
	var buf bytes.Buffer
	r.text(&buf)
	_, err := w.Write(buf.Bytes())
	return err
}

// out formats into a buffer (directly or through a tabwriter), which
// cannot fail.
func out(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}

func (r *report) text(w *bytes.Buffer) {
	out(w, "\njellyguard benchmark — %s, %s, %s, %d CPUs (%s), load average %s before, %s after\n",
		r.Date, r.Commit, r.Go, r.CPUs, r.CPUModel, r.LoadAvg[0], r.LoadAvg[1])
	out(w, "%s; small GET = wrk -t2 -c64 -d%s on /Items (~2 KB JSON); 1-conn = wrk -t1 -c1 -d%s; stream = curl, %d MiB\n\n",
		r.Pinning, r.Settings.Duration, r.Settings.Conn1, r.Settings.StreamBytes>>20)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	out(tw, "peer\trps\tp50\tp99\t1-conn p50\tadded p50\tstream MiB/s\tCPU µs/req\tCPU s/GiB\tpeak RSS MiB\tupstream µs/req\tsyscalls/req (r+w)\t\n")
	for _, p := range r.Peers {
		sc := "-"
		if p.Syscalls != nil {
			sc = fmt.Sprintf("%.1f (%.1f+%.1f)", p.Syscalls.Total, p.Syscalls.Reads, p.Syscalls.Writes)
		}
		out(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Name,
			num(p.RPS, "%.0f"), dur(p.P50us), dur(p.P99us), dur(p.Conn1P50us), added(p.AddedP50us),
			num(p.StreamMiBs, "%.0f"), num(p.CPUusPerReq, "%.1f"), num(p.CPUsPerGiB, "%.2f"),
			num(p.PeakRSSMiB, "%.1f"), num(p.UpstreamCPUusPerReq, "%.1f"), sc)
	}
	_ = tw.Flush()
	out(w, "\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	out(tw, "ratio\tsmall GET rps\tstream\tCPU per req\t\n")
	for _, rt := range r.Ratios {
		out(tw, "%s\t%s\t%s\t%s\t\n", rt.Name, num(rt.SmallGET, "%.2f"), num(rt.Stream, "%.2f"), num(rt.CPUPer, "%.2f"))
	}
	_ = tw.Flush()
	if d, j := r.Logins["direct"], r.Logins["jellyguard"]; d.N > 0 && j.N > 0 {
		out(w, "\nlogins (%d sequential, 1 ms of upstream work each): direct p50 %s p99 %s; jellyguard p50 %s p99 %s; added p50 %s",
			d.N, dur(&d.P50), dur(&d.P99), dur(&j.P50), dur(&j.P99), added(r.LoginAddedP50))
		if d.Errs+j.Errs > 0 {
			out(w, " (%d failed direct, %d through jellyguard)", d.Errs, j.Errs)
		}
		out(w, "\n")
	}
	if r.Flood != nil {
		r.Flood.text(w, r.pinned)
	}
	for _, p := range r.Peers {
		for _, e := range p.Errors {
			out(w, "%s: %s\n", p.Name, e)
		}
	}
	if len(r.Notes) > 0 {
		out(w, "\n")
		for _, n := range r.Notes {
			out(w, "note: %s\n", n)
		}
	}
}

func num(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// dur writes microseconds readably.
func dur(v *float64) string {
	switch {
	case v == nil:
		return "-"
	case *v >= 10000:
		return fmt.Sprintf("%.1fms", *v/1000)
	case *v >= 1000:
		return fmt.Sprintf("%.2fms", *v/1000)
	default:
		return fmt.Sprintf("%.0fµs", *v)
	}
}

func added(v *float64) string {
	if v == nil {
		return "-"
	}
	if *v >= 0 {
		return "+" + dur(v)
	}
	return "-" + dur(ptr(-*v))
}

// write saves the report as JSON, creating the directory.
func (r *report) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
