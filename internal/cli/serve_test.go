package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// serveRun is a `jellyguard serve` running in the background of a test.
type serveRun struct {
	stderr   *testkit.Buffer
	cancel   context.CancelFunc
	finished chan struct{}
	code     int
}

// startServe runs serve with args until the test ends, and returns once it
// listens.
func startServe(t *testing.T, args ...string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serveRun{stderr: &testkit.Buffer{}, cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		s.code = run(ctx, append([]string{"serve"}, args...), &testkit.Buffer{}, s.stderr, mapEnv(nil))
	}()
	t.Cleanup(func() { s.stop(t) })
	listening := testkit.Eventually(20*time.Second, func() bool {
		select {
		case <-s.finished:
			return true
		default:
		}
		return strings.Contains(s.stderr.String(), "jellyguard listening")
	})
	select {
	case <-s.finished:
		t.Fatalf("serve exited %d before listening:\n%s", s.code, s.stderr)
	default:
	}
	if !listening {
		t.Fatalf("serve did not listen within 20s:\n%s", s.stderr)
	}
	return s
}

func (s *serveRun) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case <-s.finished:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	if s.code != exitOK {
		t.Errorf("serve exited %d:\n%s", s.code, s.stderr)
	}
}

func TestSecondServeOnOneDataDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data", dir, "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0"}
	first := startServe(t, args...)

	r := runCLI(t, append([]string{"serve"}, args...)...)
	if r.code != exitError {
		t.Fatalf("second serve: exit %d, want %d; stderr:\n%s", r.code, exitError, r.stderr)
	}
	wantStart := fmt.Sprintf("jellyguard: another jellyguard serve (pid %d, listening on 127.0.0.1:0, since ", os.Getpid())
	wantEnd := fmt.Sprintf(") is using %s; stop it first, or give this one its own --data\n", dir)
	if !strings.HasPrefix(r.stderr, wantStart) || !strings.HasSuffix(r.stderr, wantEnd) {
		t.Errorf("second serve said:\n%s\nwant %q…%q", r.stderr, wantStart, wantEnd)
	}
	// demo on the same data directory is a serve too.
	r = runCLI(t, "demo", "--data", dir, "--listen", "127.0.0.1:0", "--jellyfin-listen", "127.0.0.1:0")
	if r.code != exitError || !strings.Contains(r.stderr, wantStart) {
		t.Errorf("demo beside serve: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, demoConfigFile)); err == nil {
		t.Error("the refused demo wrote its config into the data directory in use")
	}

	// Admin commands work beside it.
	if r := runCLI(t, "--data", dir, "ban", "add", "203.0.113.9"); r.code != exitOK {
		t.Errorf("ban add beside serve: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := runCLI(t, "--data", dir, "token", "list"); r.code != exitOK {
		t.Errorf("token list beside serve: exit %d, stderr %s", r.code, r.stderr)
	}

	// Once the first has stopped, the data directory is free again.
	first.stop(t)
	startServe(t, args...)
}

func TestTakenListenAddressSuggestsTheFlag(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	for _, tt := range []struct {
		name string
		args []string
		flag string
	}{
		{"serve", []string{"serve", "--data", t.TempDir(), "--upstream", "http://127.0.0.1:1", "--listen", addr}, "--listen"},
		{"demo gateway", []string{"demo", "--data", t.TempDir(), "--listen", addr, "--jellyfin-listen", "127.0.0.1:0"}, "--listen"},
		{"demo emulator", []string{"demo", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--jellyfin-listen", addr}, "--jellyfin-listen"},
	} {
		r := runCLI(t, tt.args...)
		if r.code != exitError {
			t.Errorf("%s: exit %d, want %d; stderr %s", tt.name, r.code, exitError, r.stderr)
			continue
		}
		want := "cannot listen on " + addr + ": the address is already in use by another program; " +
			"stop that program, or choose another address with " + tt.flag
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s said:\n%s\nwant it to contain %q", tt.name, r.stderr, want)
		}
	}
	// A serve that could not listen recorded no start.
	dir := t.TempDir()
	runCLI(t, "serve", "--data", dir, "--upstream", "http://127.0.0.1:1", "--listen", addr)
	if r := runCLI(t, "--data", dir, "audit", "tail"); strings.Contains(r.stdout, "config.changed") {
		t.Errorf("a serve that never listened recorded a start:\n%s", r.stdout)
	}
}

func TestReadOnlyCommandsAreEveryOneARealCommand(t *testing.T) {
	root := newApp(&strings.Builder{}, &strings.Builder{}, nil).rootCommand()
	paths := map[string]bool{}
	for _, c := range allCommands(root) {
		paths[strings.TrimPrefix(c.CommandPath(), "jellyguard ")] = true
	}
	for name := range readOnlyCommands {
		if !paths[name] {
			t.Errorf("readOnlyCommands names %q, which is not a command", name)
		}
	}
	// The command path reaches openEnv.
	dir := t.TempDir()
	a := newApp(&strings.Builder{}, &strings.Builder{}, mapEnv(map[string]string{"JELLYGUARD_DATA": dir}))
	root = a.rootCommand()
	root.SetArgs([]string{"token", "list"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if a.command != "token list" || !readOnlyCommands[a.command] {
		t.Errorf("command %q", a.command)
	}
	if _, err := os.Stat(filepath.Join(dir, dbFileName)); err != nil {
		t.Errorf("token list on a fresh data directory: %v", err)
	}
}
