package ipset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// feed is a blocklist server whose answer a test changes as it goes.
type feed struct {
	*httptest.Server
	mu      sync.Mutex
	handler http.HandlerFunc
	hits    atomic.Int32
	ua      atomic.Value
}

func newFeed(t *testing.T, body string) *feed {
	t.Helper()
	f := &feed{}
	f.serve(body)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		f.ua.Store(r.Header.Get("User-Agent"))
		f.mu.Lock()
		h := f.handler
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *feed) set(h http.HandlerFunc) {
	f.mu.Lock()
	f.handler = h
	f.mu.Unlock()
}

func (f *feed) serve(body string) {
	f.set(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) })
}

// start starts m and stops it, waiting for its refreshes, when the test
// ends (before the servers it uses close).
func start(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		m.Wait()
	})
	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

var quiet = slog.New(slog.DiscardHandler)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func statusOf(t *testing.T, m *Manager, name string) SourceStatus {
	t.Helper()
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %q", name)
	return SourceStatus{}
}

func writeFile(t *testing.T, path, body string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestManagerInitialLoad(t *testing.T) {
	f := newFeed(t, "# feed\n198.51.100.0/24\n2001:db8:feed::/48\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "local.netset")
	writeFile(t, path, "203.0.113.7\n10.0.0.0/8\n", time.Now())
	cache := filepath.Join(dir, "cache")

	var logs testkit.Buffer
	m := NewManager([]Source{
		{Name: "static", Static: []string{"10.1.0.0/16", "192.0.2.1"}},
		{Name: "local", Path: path, Refresh: time.Hour},
		{Name: "feed", URL: f.URL + "/level1.netset", Refresh: time.Hour},
	}, Options{CacheDir: cache, Logger: logs.Logger()})
	if m.Set() != nil {
		t.Error("a set before Start")
	}
	start(t, m)

	for a, want := range map[string]string{
		"10.1.2.3":             "static", // also in local's 10/8: the first list wins
		"10.2.0.1":             "local",
		"192.0.2.1":            "static",
		"203.0.113.7":          "local",
		"198.51.100.20":        "feed",
		"::ffff:198.51.100.20": "feed",
		"2001:db8:feed::1":     "feed",
	} {
		if got, ok := m.Lookup(addr(a)); !ok || got != want {
			t.Errorf("Lookup(%s) = %q, %v; want %q", a, got, ok, want)
		}
	}
	if got, ok := m.Lookup(addr("8.8.8.8")); ok {
		t.Errorf("Lookup(8.8.8.8) = %q", got)
	}
	if lists, _ := m.Set().Lookup(addr("10.1.2.3")); lists != 1<<0|1<<1 {
		t.Errorf("lists of 10.1.2.3 = %b, want static and local", lists)
	}
	if got := m.Set().Len(); got != 6 {
		t.Errorf("Len = %d, want 6", got)
	}

	st := m.Status()
	want := []struct {
		name, kind string
		prefixes   int
	}{{"static", "static", 2}, {"local", "file", 2}, {"feed", "url", 2}}
	for i, w := range want {
		s := st[i]
		if s.Name != w.name || s.Kind != w.kind || s.Prefixes != w.prefixes || s.LastError != "" ||
			s.Stale || s.Empty || s.FromCache || s.LastLoad.IsZero() || s.LastAttempt.IsZero() {
			t.Errorf("status %d = %+v", i, s)
		}
	}
	if ua, _ := f.ua.Load().(string); ua != "jellyguard" {
		t.Errorf("User-Agent = %q", ua)
	}

	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache dir: %v, %v", entries, err)
	}
	fi, err := entries[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(cache); di.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", di.Mode().Perm())
	}
	out := logs.String()
	for _, w := range []string{`msg="loaded blocklist" name=feed prefixes=2`, "duration="} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
}

func TestManagerScheduledRefresh(t *testing.T) {
	f := newFeed(t, "192.0.2.1\n")
	m := NewManager([]Source{{Name: "feed", URL: f.URL, Refresh: 20 * time.Millisecond}}, Options{Logger: quiet})
	start(t, m)
	if _, ok := m.Lookup(addr("192.0.2.1")); !ok {
		t.Fatal("initial list not loaded")
	}
	f.serve("192.0.2.2\n")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, old := m.Lookup(addr("192.0.2.1"))
		_, cur := m.Lookup(addr("192.0.2.2"))
		if !old && cur {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refresh not picked up (old %v, new %v)", old, cur)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestManagerSwapIsAtomic swaps between two lists while readers check that
// every Set they see holds exactly one of them, whole. Run with -race.
func TestManagerSwapIsAtomic(t *testing.T) {
	filler := func(second byte) string {
		var sb strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&sb, "100.%d.%d.%d\n", second, i/256, i%256)
		}
		return sb.String()
	}
	bodyA := "10.0.0.1\n10.0.0.2\n" + filler(1)
	bodyB := "10.0.0.3\n10.0.0.4\n" + filler(2)
	f := newFeed(t, bodyA)
	m := NewManager([]Source{{Name: "feed", URL: f.URL}}, Options{Logger: quiet})
	start(t, m)

	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	seen := make([]map[*Set]bool, 8)
	for g := range 8 {
		seen[g] = map[*Set]bool{}
		wg.Go(func() {
			for !stop.Load() {
				s := m.Set()
				seen[g][s] = true
				_, a1 := s.Lookup(addr("10.0.0.1"))
				_, a2 := s.Lookup(addr("10.0.0.2"))
				_, b1 := s.Lookup(addr("10.0.0.3"))
				_, b2 := s.Lookup(addr("10.0.0.4"))
				if a1 != a2 || b1 != b2 || a1 == b1 {
					errs <- fmt.Errorf("torn set: A %v %v, B %v %v", a1, a2, b1, b2)
					return
				}
				if _, ok := m.Lookup(addr("10.0.0.1")); !ok {
					_, _ = m.Lookup(addr("10.0.0.3"))
				}
				runtime.Gosched() // two cores, nine goroutines: let the refresh run
			}
		})
	}
	for i := range 20 {
		if i%2 == 0 {
			f.serve(bodyB)
		} else {
			f.serve(bodyA)
		}
		if err := m.refresh(ctx, 0); err != nil {
			t.Errorf("refresh %d: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sets := 0
	for _, s := range seen {
		sets = max(sets, len(s))
	}
	t.Logf("a reader saw up to %d distinct sets", sets)
}

func TestManagerRefreshFailureKeepsPrevious(t *testing.T) {
	const good = "# good\n192.0.2.1\n192.0.2.2\n198.51.100.0/24\n"
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string // in LastError
	}{
		{"HTTP 500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "oops", http.StatusInternalServerError)
		}, "unexpected status 500"},
		{"timeout", func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, "Client.Timeout"},
		{"truncated body", func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n192.0.2.9\n")
			_ = buf.Flush()
		}, "unexpected EOF"},
		{"mostly garbage", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "<html>\n<body>\nRate limited\n192.0.2.9\n</body>\n</html>\n")
		}, "5 of 6 lines are not addresses"},
		{"empty body", func(http.ResponseWriter, *http.Request) {}, "the new copy has no prefixes"},
		{"comments only", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "# nothing today\n")
		}, "the new copy has no prefixes"},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			for range 100 {
				_, _ = io.WriteString(w, "192.0.2.9\n")
				_ = http.NewResponseController(w).Flush() // chunked: no length announced
			}
		}, "larger than the size limit"},
		{"too large, announced", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "5000")
			_, _ = io.WriteString(w, strings.Repeat("192.0.2.9\n", 500))
		}, "over the 512 byte limit"},
		{"redirect refused by the guard", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://internal.example/list", http.StatusFound)
		}, "outbound guard refused http://internal.example/list"},
		{"redirect to another scheme", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		}, `scheme "file" not allowed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(t, good)
			clk := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			m := NewManager([]Source{{Name: "feed", URL: f.URL + "/list", Refresh: time.Hour}}, Options{
				Client: &http.Client{Timeout: 300 * time.Millisecond},
				Now:    clk.Now,
				Guard: func(u *url.URL) error {
					if u.Hostname() != "127.0.0.1" {
						return errors.New("not an allowed host")
					}
					return nil
				},
				CacheDir: t.TempDir(),
				Logger:   quiet,
			})
			m.maxBody = 512
			start(t, m)
			before := m.Set()
			loaded := statusOf(t, m, "feed").LastLoad

			clk.Advance(time.Minute)
			f.set(tc.handler)
			err := m.refresh(context.Background(), 0)
			if err == nil {
				t.Fatal("refresh succeeded")
			}
			if m.Set() != before {
				t.Error("the set was replaced")
			}
			for _, a := range []string{"192.0.2.1", "198.51.100.7"} {
				if _, ok := m.Lookup(addr(a)); !ok {
					t.Errorf("%s lost", a)
				}
			}
			if _, ok := m.Lookup(addr("192.0.2.9")); ok {
				t.Error("the refused copy is in use")
			}
			st := statusOf(t, m, "feed")
			if !strings.Contains(st.LastError, tc.want) {
				t.Errorf("LastError = %q, want it to contain %q", st.LastError, tc.want)
			}
			if st.Prefixes != 3 || !st.LastLoad.Equal(loaded) || !st.LastAttempt.Equal(clk.Now()) || st.Empty {
				t.Errorf("status = %+v", st)
			}
			// The cached copy is still the good one.
			cached, err := m.loadCache(context.Background(), 0)
			if err != nil || cached.res.added != 3 {
				t.Errorf("cache: %v, %+v", err, cached)
			}
			leftovers, _ := filepath.Glob(filepath.Join(m.cacheDir, ".download-*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}

			// The feed recovers: the next refresh clears the error.
			f.serve(good + "192.0.2.3\n")
			if err := m.refresh(context.Background(), 0); err != nil {
				t.Fatalf("refresh after recovery: %v", err)
			}
			if st := statusOf(t, m, "feed"); st.LastError != "" || st.Prefixes != 4 {
				t.Errorf("status after recovery = %+v", st)
			}
		})
	}
}

func TestManagerConditionalRefresh(t *testing.T) {
	f := newFeed(t, "")
	f.set(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, "192.0.2.1\n")
	})
	clk := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := NewManager([]Source{{Name: "feed", URL: f.URL, Refresh: time.Hour}}, Options{Now: clk.Now, Logger: quiet})
	start(t, m)
	before := m.Set()
	clk.Advance(90 * time.Minute)
	if err := m.refresh(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if m.Set() != before {
		t.Error("an unchanged list was rebuilt")
	}
	if st := statusOf(t, m, "feed"); !st.LastLoad.Equal(clk.Now()) || st.Prefixes != 1 {
		t.Errorf("status = %+v", st)
	}
	clk.Advance(90 * time.Minute)
	if st := statusOf(t, m, "feed"); st.Stale {
		t.Error("stale 90 minutes after a 304 with a one hour refresh")
	}
}

func TestManagerRestartUsesCache(t *testing.T) {
	f := newFeed(t, "192.0.2.1\n2001:db8::/32\n")
	cache := t.TempDir()
	src := []Source{{Name: "feed", URL: f.URL + "/list?key=s3cret", Refresh: time.Hour}}

	ctx, cancel := context.WithCancel(context.Background())
	m1 := NewManager(src, Options{CacheDir: cache, Logger: quiet})
	if err := m1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	m1.Wait()
	f.Close() // the feed is gone

	clk := testkit.NewClock(time.Now().Add(3 * time.Hour))
	var logs testkit.Buffer
	m2 := NewManager(src, Options{CacheDir: cache, Now: clk.Now, Logger: logs.Logger()})
	start(t, m2)
	if _, ok := m2.Lookup(addr("2001:db8::1")); !ok {
		t.Error("cached list not loaded")
	}
	st := statusOf(t, m2, "feed")
	if !st.FromCache || st.LastError == "" || st.Prefixes != 2 {
		t.Errorf("status = %+v", st)
	}
	if !st.Stale {
		t.Error("a 3 hour old cached copy of an hourly list is not stale")
	}
	if strings.Contains(st.LastError, "s3cret") || strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the URL's key leaked: %q", st.LastError)
	}

	// A different URL never serves another feed's cached list.
	m3 := NewManager([]Source{{Name: "feed", URL: f.URL + "/other"}}, Options{CacheDir: cache, Logger: quiet})
	if err := m3.Start(context.Background()); err == nil {
		t.Error("started from the cache of another URL")
	}
}

func TestManagerStartFails(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.netset")
	writeFile(t, garbage, "<html>\n<p>not found</p>\n1.2.3.4\n</html>\n", time.Now())
	down := "http://127.0.0.1:1/list?key=s3cret"
	if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		down = "http://" + l.Addr().String() + "/list?key=s3cret"
		_ = l.Close()
	}
	refuse := func(*url.URL) error { return errors.New("private address") }

	tests := []struct {
		name  string
		src   []Source
		guard func(*url.URL) error
		want  string
	}{
		{"missing file", []Source{{Name: "a", Path: filepath.Join(dir, "nope")}}, nil, `loading list "a": reading list file`},
		{"garbage file", []Source{{Name: "a", Path: garbage}}, nil, "3 of 4 lines are not addresses"},
		{"feed down, no cache", []Source{{Name: "a", URL: down}}, nil, "no cache directory"},
		{"guard", []Source{{Name: "a", URL: "http://10.0.0.1/x"}}, refuse, "outbound guard refused http://10.0.0.1/x: private address"},
		{"scheme", []Source{{Name: "a", URL: "ftp://example.com/x"}}, nil, `scheme "ftp" not allowed`},
		{"no source", []Source{{Name: "a"}}, nil, "no path, URL or entries"},
		{"two sources", []Source{{Name: "a", Path: garbage, URL: "http://x/"}}, nil, "only one of"},
		{"duplicate", []Source{{Name: "a", Static: []string{"1.2.3.4"}}, {Name: "a", Static: []string{"1.2.3.4"}}}, nil, "name used twice"},
		{"no name", []Source{{Static: []string{"1.2.3.4"}}}, nil, "list 1: no name"},
		{"negative refresh", []Source{{Name: "a", Path: garbage, Refresh: -1}}, nil, "negative refresh"},
		{"too many", make([]Source, MaxLists+1), nil, "at most 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager(tc.src, Options{Guard: tc.guard, Logger: quiet})
			err := m.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the URL's key leaked: %v", err)
			}
			m.Wait()
		})
	}

	m := NewManager(nil, Options{Logger: quiet})
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("no sources: %v", err)
	}
	if err := m.Start(context.Background()); err == nil {
		t.Error("started twice")
	}
}

func TestManagerStatusStaleAndEmpty(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.netset")
	writeFile(t, path, "192.0.2.1\n", time.Now())
	f := newFeed(t, "# empty today\n")
	clk := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := NewManager([]Source{
		{Name: "file", Path: path, Refresh: time.Hour},
		{Name: "typos", Static: []string{"10.0.0.0/33", "nonsense"}},
		{Name: "feed", URL: f.URL, Refresh: time.Hour},
	}, Options{Now: clk.Now, Logger: quiet})
	start(t, m)

	if st := statusOf(t, m, "typos"); !st.Empty || st.BadLines != 2 || st.Stale {
		t.Errorf("typos = %+v", st)
	}
	if st := statusOf(t, m, "feed"); !st.Empty || st.Stale || st.LastError != "" {
		t.Errorf("feed = %+v", st)
	}
	if st := statusOf(t, m, "file"); st.Stale || st.Empty {
		t.Errorf("file = %+v", st)
	}

	// The file cannot be read for three hours: stale, still in use.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Hour)
	if err := m.refresh(context.Background(), 0); err == nil {
		t.Error("refresh of a missing file succeeded")
	}
	st := statusOf(t, m, "file")
	if !st.Stale || st.Prefixes != 1 || !strings.Contains(st.LastError, "no such file") {
		t.Errorf("file = %+v", st)
	}
	if _, ok := m.Lookup(addr("192.0.2.1")); !ok {
		t.Error("the last good copy of the file was dropped")
	}
	if st := statusOf(t, m, "typos"); st.Stale {
		t.Error("a static list went stale")
	}

	// The feed starts serving entries: an empty copy may be replaced.
	f.serve("198.51.100.1\n")
	if err := m.refresh(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, m, "feed"); st.Empty || st.Stale {
		t.Errorf("feed = %+v", st)
	}
}

func TestManagerFileRefresh(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.netset")
	t0 := time.Now().Add(-time.Hour)
	writeFile(t, path, "192.0.2.1\n", t0)
	var logs testkit.Buffer
	m := NewManager([]Source{{Name: "file", Path: path, Refresh: time.Hour}}, Options{Logger: logs.Logger()})
	start(t, m)

	before := m.Set()
	if err := m.refresh(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if m.Set() != before {
		t.Error("an unchanged file was read again")
	}

	writeFile(t, path, "# new\n192.0.2.2\n192.0.2.300\n192.0.2.3\nfoo bar\n", t0.Add(time.Minute))
	if err := m.refresh(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Lookup(addr("192.0.2.1")); ok {
		t.Error("old entry still listed")
	}
	if _, ok := m.Lookup(addr("192.0.2.3")); !ok {
		t.Error("new entry not listed")
	}
	st := statusOf(t, m, "file")
	if st.Prefixes != 2 || st.BadLines != 2 {
		t.Errorf("status = %+v", st)
	}
	out := logs.String()
	for _, w := range []string{
		`msg="bad line in blocklist" name=file line=3 reason="not an IP address" text=192.0.2.300`,
		`msg="bad line in blocklist" name=file line=5 reason="more than one value on the line" text="foo bar"`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %s:\n%s", w, out)
		}
	}
}

func TestManagerProgressLog(t *testing.T) {
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "10.%d.%d.1\n", i/256, i%256)
	}
	f := newFeed(t, sb.String())
	var logs testkit.Buffer
	clk := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// Every reading of the clock is 600 ms later: a slow download.
	now := func() time.Time { clk.Advance(600 * time.Millisecond); return clk.Now() }
	m := NewManager([]Source{{Name: "big", URL: f.URL}}, Options{Logger: logs.Logger(), Now: now})
	start(t, m)
	out := logs.String()
	if !strings.Contains(out, `msg="loading blocklist" name=big bytes=`) || !strings.Contains(out, "prefixes=") {
		t.Errorf("no progress line:\n%s", out)
	}
	if !strings.Contains(out, `msg="loaded blocklist" name=big prefixes=20000 bad_lines=0 bytes=`) {
		t.Errorf("no summary line:\n%s", out)
	}
}

func TestManagerStartRespectsContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := newFeed(t, "")
	f.set(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	m := NewManager([]Source{{Name: "slow", URL: f.URL}}, Options{Logger: quiet})
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Start = %v, want the context's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start ignored its context")
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"firehol_level1": "firehol_level1",
		"../etc/passwd":  "_._etc_passwd",
		"a b/c":          "a_b_c",
		"spamhaus.drop":  "spamhaus.drop",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
