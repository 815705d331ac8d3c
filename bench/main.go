// Command bench measures jellyguard on loopback against direct access to a
// Jellyfin stand-in and against nginx, in one run, following the method of
// performance.md: the stand-in and the proxy under test share one CPU, the
// load generators (wrk, curl) run on another.
//
//	go run ./bench            # full run (10 s per wrk run, 1 GiB stream)
//	go run ./bench -quick     # smoke run (2 s runs, 256 MiB stream)
//
// It prints a table and writes the same numbers to bench/results/latest.json.
// It reports what it measured and never judges it: a busy machine gives
// lower numbers, not a failure. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	// Hidden modes: the program runs itself as the upstream stand-in and as
	// the login client, so that both can be pinned to their CPU.
	if len(os.Args) > 2 {
		switch os.Args[1] {
		case "-upstream":
			exitOn(runUpstream(os.Args[2]))
			return
		case "-login-client":
			exitOn(runLoginClient(os.Args[2:]))
			return
		case "-accept-flood":
			exitOn(runAcceptFlood(os.Args[2:]))
			return
		}
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each wrk run with 64 connections (the 1-connection run takes half) and of each banned flood (at least 3s)")
	flag.BoolVar(&o.quick, "quick", false, "smoke run: 2s wrk runs, a 256 MiB stream, 100 logins, 3s floods")
	flag.IntVar(&o.rounds, "rounds", 1, "repeat every measurement this many times (interleaved) and report medians")
	flag.IntVar(&o.logins, "logins", 500, "sequential logins through each of direct and jellyguard")
	flag.StringVar(&o.binary, "jellyguard", "", "use this jellyguard binary instead of building ./cmd/jellyguard")
	flag.StringVar(&o.out, "out", "", "where to write the JSON results (default bench/results/latest.json)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "after measuring, record jellyguard under the small-GET load with perf into this perf.data file")
	flag.BoolVar(&o.noNginx, "no-nginx", false, "skip nginx")
	flag.BoolVar(&o.syscalls, "syscalls", true, "count system calls per request with perf in one more short run per peer (skipped without perf)")
	flag.BoolVar(&o.flood, "flood", true, "measure a banned client flooding a second jellyguard while another client downloads the stream")
	flag.Usage = func() {
		out(flag.CommandLine.Output(), "usage: go run ./bench [flags]\n\n"+
			"Measures direct access, nginx and jellyguard in front of a Jellyfin stand-in on loopback.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if o.quick {
		o.duration = 2 * time.Second
		o.streamBytes = 256 << 20
		if !isFlagSet("logins") {
			o.logins = 100
		}
	} else {
		o.streamBytes = streamSize
	}
	o.rounds = max(o.rounds, 1)
	o.floodDuration = max(o.duration, 3*time.Second)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, o)
	stop()
	os.Exit(code)
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration    time.Duration
	quick       bool
	rounds      int
	logins      int
	binary      string
	out         string
	cpuprofile  string
	noNginx     bool
	syscalls    bool
	streamBytes int64
	// flood runs the banned flood for floodDuration.
	flood         bool
	floodDuration time.Duration
}

// run does the whole benchmark and returns the exit code: 1 when jellyguard
// could not be measured at all, 0 otherwise (a slow run is still a run).
func run(ctx context.Context, o options) int {
	for _, tool := range []string{"wrk", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s not found (Debian: scripts/install-deps.sh bench)\n", tool)
			return 1
		}
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if o.out == "" {
		o.out = filepath.Join(root, "bench", "results", "latest.json")
	}
	tmp, err := os.MkdirTemp("", "jellyguard-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	// nginx workers run as root here but other users must still be able to
	// enter the directory when the benchmark runs unprivileged.
	_ = os.Chmod(tmp, 0o755)

	pin := choosePinning()
	rep := newReport(ctx, o, pin, root)
	fmt.Println("bench:", pin.note)

	bin := o.binary
	if bin == "" {
		fmt.Println("bench: building ./cmd/jellyguard")
		if bin, err = buildJellyguard(ctx, root, tmp); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}

	up, upAddr, err := startUpstream(pin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer up.stop(2 * time.Second)
	direct := &peer{name: "direct", base: "http://" + upAddr}
	peers := []*peer{direct}

	if !o.noNginx {
		dir := filepath.Join(tmp, "nginx")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		ng, err := startNginx(ctx, pin, dir, upAddr)
		if err != nil {
			rep.note("nginx not measured: %v", err)
		} else {
			defer ng.proc.stop(5 * time.Second)
			peers = append(peers, ng)
		}
	}

	// Every check stays on, but the load generator's address is exempt
	// from the shield: 500 sequential logins from one address would
	// otherwise (rightly) be throttled, and the login latency measured on
	// refusals.
	jg, err := startJellyguard(ctx, pin, bin, filepath.Join(tmp, "jellyguard"), upAddr, "jellyguard", benchExempt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: jellyguard did not start:", err)
		return 1
	}
	defer jg.proc.stop(10 * time.Second)
	peers = append(peers, jg)

	// Every measured request carries a token the gateway released: every
	// check on, a signed-in session.
	token, err := signIn(ctx, &http.Client{Timeout: 10 * time.Second}, jg.base, "bench-device")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	auth := fmt.Sprintf("MediaBrowser Token=%q", token)
	for _, pr := range peers {
		if err := checkPeer(ctx, pr, auth); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}

	m := &measurer{o: o, pin: pin, upPID: up.pid(), auth: auth, peers: peers, rep: rep}
	m.all(ctx)
	if o.flood && ctx.Err() == nil {
		m.flood(ctx, bin, filepath.Join(tmp, "flood"), upAddr)
	}
	if o.cpuprofile != "" && ctx.Err() == nil {
		m.profile(ctx, jg)
	}
	for _, pr := range peers {
		if pr.pids == nil {
			continue
		}
		if rss, err := peakRSS(pr.pids()); err == nil {
			rep.peer(pr.name).PeakRSSMiB = ptr(float64(rss) / (1 << 20))
		}
	}
	for _, pr := range peers {
		if pr.proc != nil && pr.proc.exited() {
			rep.note("%s", pr.proc.describe())
		}
	}
	rep.finish()
	if err := rep.print(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	if err := rep.write(o.out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	} else {
		fmt.Println("\nbench: results written to", o.out)
	}
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := runBounded(ctx, time.Minute, "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(out)
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside the jellyguard module (go run ./bench)")
	}
	return filepath.Dir(gomod), nil
}

func ptr[T any](v T) *T { return &v }
