package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// The made-up token flood: how many, from how many clients at once, how
// long the unknown-token cache keeps them, and how far above its baseline
// the gateway's memory may stay once they have expired.
const (
	floodTokens    = 100_000
	floodClients   = 16
	floodTime      = 40 * time.Second // the whole flood, at most
	floodCacheTTL  = 3 * time.Second  // tokens.negative_cache_ttl
	floodRSSMargin = 20 << 20
	floodSettle    = 12 * time.Second // after the flood: back near baseline within this
	// floodEnough is what a machine too busy to send every token within
	// floodTime must still send for the test to mean something: many
	// times the table's bound on cached entries (tokens.DefaultMaxCached).
	floodEnough = floodTokens / 2
)

// TestUnknownTokensAreForgotten sends 100,000 random tokens, which Jellyfin
// does not know, to `serve` from several clients, and checks that the
// gateway's memory comes back near its baseline once the negative cache
// has expired: unknown tokens are not remembered for ever, and never more
// than a bounded number of them at once.
//
// Measured on a 2-core machine shared with other work (VmRSS of serve; the
// emulator runs in the test process): when the table kept every unknown
// token, 30.3 MiB at baseline grew to 81.9 MiB and stayed there (2,750
// tokens/s). With expiry and the bound on cached entries: 28.7 MiB at
// baseline, 37.3 MiB at the peak (4,600 tokens/s, 22 s), 37.1 MiB after the
// cache lifetime; the Go runtime keeps the freed heap for reuse, so RSS
// stays near the bound rather than dropping to the baseline.
func TestUnknownTokensAreForgotten(t *testing.T) {
	jf := fake.New(fake.Options{})
	key := jf.AddAPIKey("jellyguard")
	upstream := httptest.NewServer(jf)
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("listen: %q\nupstream: %q\ndata: %q\n"+
		"tokens:\n  negative_cache_ttl: %s\n  resolve_per_minute: 100000000\n"+
		"shield:\n  exempt: [\"127.0.0.0/8\"]\nlog:\n  level: warn\n",
		listen, upstream.URL, filepath.Join(dir, "data"), floodCacheTTL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "serve", dir, []string{"JELLYGUARD_API_KEY=" + key}, "serve", "--config", cfgPath)
	base := "http://" + listen
	if !testkit.Eventually(startTimeout, func() bool {
		resp, err := httpClient.Get(base + "/jellyguard/health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("serve did not answer on %s within %v", listen, startTimeout)
	}
	pid := p.cmd.Process.Pid
	rss := func() int64 {
		t.Helper()
		n, err := rssBytes(pid)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The baseline: after the same traffic on a small scale, once its
	// tokens have expired, so that connections, buffers and the runtime's
	// own growth are in it.
	client := floodClient()
	flood(t, client, base, 2_000, 2_000)
	time.Sleep(floodCacheTTL + 2*time.Second)
	baseline := medianRSS(rss, 3, 500*time.Millisecond)

	var peak atomic.Int64
	sampling, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampling.Done():
				return
			case <-tick.C:
				if n, err := rssBytes(pid); err == nil && n > peak.Load() {
					peak.Store(n)
				}
			}
		}
	}()
	start := time.Now()
	sent := flood(t, client, base, floodTokens, floodEnough)
	took := time.Since(start)
	stopSampling()
	<-sampled

	// Back near the baseline: three samples in a row within the margin.
	var samples []int64
	settled := false
	for deadline := time.Now().Add(floodCacheTTL + floodSettle); time.Now().Before(deadline); time.Sleep(time.Second) {
		samples = append(samples, rss())
		n := len(samples)
		if n >= 3 && samples[n-1] <= baseline+floodRSSMargin && samples[n-2] <= baseline+floodRSSMargin &&
			samples[n-3] <= baseline+floodRSSMargin && time.Since(start)-took > floodCacheTTL {
			settled = true
			break
		}
	}
	t.Logf("serve VmRSS: baseline %s, peak %s during %d tokens in %v (%.0f/s), after: %s",
		mib(baseline), mib(peak.Load()), sent, took.Round(time.Millisecond),
		float64(sent)/took.Seconds(), mibs(samples))
	if !settled {
		t.Errorf("serve's memory did not come back within %s of its %s baseline after the unknown tokens expired: %s",
			mib(floodRSSMargin), mib(baseline), mibs(samples))
	}
}

// floodClient keeps one connection per flooding client, all on loopback.
func floodClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DisableCompression:    true,
			ResponseHeaderTimeout: requestTimeout,
			MaxIdleConnsPerHost:   floodClients,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// flood sends n requests, each with a new random token, from floodClients
// clients at once, and returns how many it sent: all n, or as many as
// floodTime allowed, which must be at least enough. Jellyfin does not know
// the tokens, so the gateway resolves each once and passes it on; a 5xx
// would mean the resolution failed and fails the test.
func flood(t *testing.T, client *http.Client, base string, n, enough int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), floodTime)
	defer cancel()
	var (
		next   atomic.Int64
		mu     sync.Mutex
		status = map[int]int{}
		errs   []error
		wg     sync.WaitGroup
	)
	for range floodClients {
		wg.Go(func() {
			seen := map[int]int{}
			defer func() {
				mu.Lock()
				for k, v := range seen {
					status[k] += v
				}
				mu.Unlock()
			}()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				code, err := sendUnknownToken(ctx, client, base)
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
					return
				}
				seen[code]++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("sending unknown tokens: %v (and %d more)", errs[0], len(errs)-1)
	}
	sent := 0
	for code, k := range status {
		sent += k
		if code >= 500 {
			t.Errorf("%d requests with unknown tokens were answered %d", k, code)
		}
	}
	switch {
	case sent < enough:
		t.Fatalf("sent %d of %d unknown tokens within %v (answers: %v)", sent, n, floodTime, status)
	case sent < n:
		t.Logf("the machine is busy: sent %d of %d unknown tokens within %v", sent, n, floodTime)
	}
	return sent
}

// sendUnknownToken asks for the caller's own user with a random token.
func sendUnknownToken(ctx context.Context, client *http.Client, base string) (int, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/Users/Me", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", `MediaBrowser Client="flood", Device="test", DeviceId="flood", Version="1", Token="`+hex.EncodeToString(raw)+`"`)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// medianRSS samples n times, wait apart, and returns the median.
func medianRSS(rss func() int64, n int, wait time.Duration) int64 {
	var s []int64
	for i := range n {
		if i > 0 {
			time.Sleep(wait)
		}
		s = append(s, rss())
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[n/2]
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func mibs(ns []int64) string {
	out := ""
	for i, n := range ns {
		if i > 0 {
			out += ", "
		}
		out += mib(n)
	}
	return out
}
