package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// demoRun is a `jellyguard demo --json` running in the background.
type demoRun struct {
	info     demoInfo
	stdout   *testkit.Buffer
	stderr   *testkit.Buffer
	cancel   context.CancelFunc
	finished chan struct{}
	code     int
}

// startDemo runs `jellyguard demo --json` with free ports until the test
// ends, and returns once it has printed its line.
func startDemo(t *testing.T, extra ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{stdout: &testkit.Buffer{}, stderr: &testkit.Buffer{}, cancel: cancel, finished: make(chan struct{})}
	args := append([]string{"demo", "--json", "--listen", "127.0.0.1:0", "--jellyfin-listen", "127.0.0.1:0"}, extra...)
	go func() {
		defer close(d.finished)
		d.code = run(ctx, args, d.stdout, d.stderr, mapEnv(nil))
	}()
	t.Cleanup(func() { d.stop(t) })
	line := d.waitForLine(t)
	if err := json.Unmarshal([]byte(line), &d.info); err != nil {
		t.Fatalf("demo --json printed %q: %v", line, err)
	}
	return d
}

// stop cancels the demo's context and returns its exit code.
func (d *demoRun) stop(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case <-d.finished:
		return d.code
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop after cancel")
		return -1
	}
}

func (d *demoRun) waitForLine(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s := d.stdout.String(); strings.Contains(s, "\n") {
			return strings.SplitN(s, "\n", 2)[0]
		}
		select {
		case <-d.finished:
			t.Fatalf("demo exited %d before printing; stderr:\n%s", d.code, d.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("demo printed nothing; stderr:\n%s", d.stderr.String())
	return ""
}

func TestDemoJSON(t *testing.T) {
	dr := startDemo(t)
	d := dr.info
	if !strings.HasPrefix(d.Gateway, "http://127.0.0.1:") || !strings.HasPrefix(d.Jellyfin, "http://127.0.0.1:") ||
		d.Gateway == d.Jellyfin || d.Data == "" || d.Config == "" {
		t.Fatalf("demo info: %+v", d)
	}
	var admins int
	for _, u := range d.Users {
		if u.Name == "" || u.Password == "" {
			t.Errorf("demo user without name or password: %+v", u)
		}
		if u.Admin {
			admins++
		}
	}
	if len(d.Users) < 2 || admins != 1 {
		t.Errorf("demo users: %+v", d.Users)
	}

	info := getJSON(t, d.Gateway+"/System/Info/Public")
	if info["Version"] == nil || info["ServerName"] == nil {
		t.Errorf("/System/Info/Public through the gateway: %v", info)
	}

	// The config file the demo wrote lets the admin commands reach it.
	r := runCLI(t, "--config", d.Config, "token", "list")
	if r.code != exitOK {
		t.Errorf("token list --config %s: exit %d, stderr %q", d.Config, r.code, r.stderr)
	}
	r = runCLI(t, "--config", d.Config, "check")
	if r.code != exitOK {
		t.Errorf("check against the demo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if code := dr.stop(t); code != exitOK {
		t.Errorf("demo exited %d; stderr:\n%s", code, dr.stderr.String())
	}
	if lines := strings.Count(dr.stdout.String(), "\n"); lines != 1 {
		t.Errorf("demo --json printed %d lines on stdout: %q", lines, dr.stdout.String())
	}
	if _, err := os.Stat(d.Data); !os.IsNotExist(err) {
		t.Errorf("temporary data directory %s not removed: %v", d.Data, err)
	}
}

func TestDemoKeepsGivenDataDir(t *testing.T) {
	dir := t.TempDir()
	dr := startDemo(t, "--data", dir)
	if dr.info.Data != dir {
		t.Errorf("data %q, want %q", dr.info.Data, dir)
	}
	if code := dr.stop(t); code != exitOK {
		t.Errorf("demo exited %d", code)
	}
	for _, name := range []string{demoConfigFile, demoKeyFile, demoJellyfinLog, dbFileName} {
		if _, err := os.Stat(dir + "/" + name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	info, err := os.Stat(dir + "/" + demoKeyFile)
	if err == nil && info.Mode().Perm() != 0o600 {
		t.Errorf("API key file mode %v", info.Mode().Perm())
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q", url, resp.Status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: %v (%q)", url, err, body)
	}
	return out
}
