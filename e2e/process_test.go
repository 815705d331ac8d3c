package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// listeningAddr finds the address in serve's "jellyguard listening" line.
var listeningAddr = regexp.MustCompile(`msg="jellyguard listening" addr=(\S+)`)

// startServe starts `jellyguard serve` with args and extra environment,
// waits until it listens, and returns it with its address. It is stopped
// with SIGINT at cleanup and must exit 0.
func startServe(t *testing.T, env []string, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, "serve", "", env, append([]string{"serve"}, args...)...)
	var addr string
	testkit.Eventually(startTimeout, func() bool {
		if m := listeningAddr.FindStringSubmatch(p.stderr.String()); m != nil {
			addr = m[1]
		}
		return addr != "" || p.exited()
	})
	if addr == "" {
		t.Fatalf("serve did not listen within %v (exited: %v)\nstderr:\n%s", startTimeout, p.exited(), p.stderr)
	}
	return p, addr
}

// TestSecondServeExitsNamingTheFirst: with a demo (a serve) running on a
// data directory, a serve of a second process on the same directory exits
// non-zero at once and names the first by its pid, address and directory;
// admin commands keep working beside the running one.
func TestSecondServeExitsNamingTheFirst(t *testing.T) {
	d := startDemo(t)
	res := runCLI(t, "serve", "--data", d.Data, "--upstream", d.Jellyfin, "--listen", "127.0.0.1:0")
	if res.code == 0 {
		t.Fatalf("a second serve on %s started (exit 0)\nstderr:\n%s", d.Data, res.stderr)
	}
	want := fmt.Sprintf("jellyguard: another jellyguard serve (pid %d, listening on %s, since ",
		d.cmd.Process.Pid, strings.TrimPrefix(d.Gateway, "http://"))
	if !strings.Contains(res.stderr, want) ||
		!strings.Contains(res.stderr, ") is using "+d.Data+"; stop it first, or give this one its own --data") {
		t.Errorf("second serve said:\n%s\nwant it to name the demo: %q … is using %s", res.stderr, want, d.Data)
	}
	if res := runCLI(t, "token", "list", "--config", d.Config); res.code != 0 {
		t.Errorf("token list beside the running demo: exit %d\n%s", res.code, res.stderr)
	}
	if res := runCLI(t, "ban", "add", "203.0.113.71", "--config", d.Config); res.code != 0 {
		t.Errorf("ban add beside the running demo: exit %d\n%s", res.code, res.stderr)
	}
}

// TestKilledServeLeavesNoLockBehind: a serve killed with SIGKILL leaves its
// lock file, and the next serve on the directory starts anyway.
func TestKilledServeLeavesNoLockBehind(t *testing.T) {
	dir := t.TempDir()
	args := []string{"serve", "--data", dir, "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0"}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	killed := exec.CommandContext(ctx, binPath, args...)
	stderr := &testkit.Buffer{}
	killed.Stderr = stderr
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(startTimeout, func() bool { return strings.Contains(stderr.String(), "jellyguard listening") }) {
		_ = killed.Process.Kill()
		t.Fatalf("serve did not listen:\n%s", stderr)
	}
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()
	lock, err := os.ReadFile(filepath.Join(dir, "serve.lock"))
	if err != nil || !strings.Contains(string(lock), fmt.Sprintf(`"pid":%d`, killed.Process.Pid)) {
		t.Fatalf("the killed serve left no lock file naming it: %q, %v", lock, err)
	}
	p, _ := startServe(t, nil, args[1:]...)
	if strings.Contains(p.stderr.String(), "another jellyguard serve") {
		t.Errorf("the stale lock file blocked:\n%s", p.stderr)
	}
}

// TestHungJellyfinGets504WithinTheTimeout: the built binary in front of a
// Jellyfin that accepts connections and never answers gives up after
// limits.upstream_header_timeout (1s here, from the environment) with 504
// and a body saying Jellyfin is unreachable, in the client's form.
func TestHungJellyfinGets504WithinTheTimeout(t *testing.T) {
	_, addr := startServe(t, []string{"JELLYGUARD_LIMITS_UPSTREAM_HEADER_TIMEOUT=1s"},
		"--data", t.TempDir(), "--upstream", testkit.HangingServer(t), "--listen", "127.0.0.1:0")
	for _, tt := range []struct{ accept, contentType, says string }{
		{"application/json", "application/json", `"error":"jellyfin_unreachable"`},
		{"text/html,*/*;q=0.8", "text/html", "<h1>Jellyfin is unreachable</h1>"},
	} {
		start := time.Now()
		resp, body := get(t, "http://"+addr+"/System/Info/Public", "", map[string]string{"Accept": tt.accept})
		took := time.Since(start)
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("Accept %s: status %d, want 504; body %q", tt.accept, resp.StatusCode, body)
		}
		if took < time.Second || took > 5*time.Second {
			t.Errorf("Accept %s: answered after %v, want just over 1s", tt.accept, took)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) || !bytes.Contains(body, []byte(tt.says)) {
			t.Errorf("Accept %s: %s %q, want %s saying %q", tt.accept, ct, body, tt.contentType, tt.says)
		}
	}
}

// TestReadOnlyCommandsOnAReadOnlyDataDirectory: after a demo ran (a
// sign-in, a ban), the commands that only look work on its data directory
// made read-only — run as an unprivileged user when the suite runs as root,
// since root writes through permission bits — while a command that writes
// fails there.
func TestReadOnlyCommandsOnAReadOnlyDataDirectory(t *testing.T) {
	d := startDemo(t)
	if status, body := postLoginAs(t, d, "", "alice", d.password(t, "alice")); status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	if res := runCLI(t, "ban", "add", "203.0.113.72", "--config", d.Config); res.code != 0 {
		t.Fatalf("ban add: exit %d\n%s", res.code, res.stderr)
	}
	d.stop(t)
	as := readOnlyForTest(t, d.Data)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "list"}, "alice"},
		{[]string{"audit", "verify"}, "audit log intact: "},
		{[]string{"audit", "tail"}, "ban.added"},
		{[]string{"ban", "list"}, "203.0.113.72/32"},
		{[]string{"user", "list"}, "alice"},
	} {
		res := runCLIAs(t, as, append(tt.args, "--config", d.Config)...)
		if res.code != 0 || !strings.Contains(res.stdout, tt.want) {
			t.Errorf("%s on the read-only data directory: exit %d\nstdout: %s\nstderr: %s", tt.args, res.code, res.stdout, res.stderr)
		}
	}
	if res := runCLIAs(t, as, "ban", "add", "203.0.113.73", "--config", d.Config); res.code == 0 {
		t.Error("ban add succeeded: the data directory is not read-only, so the test proves nothing")
	}
}

// readOnlyForTest takes every write permission away from dir. As root it
// also hands dir to the user nobody and returns the credential to run
// commands as (root would write regardless); the binary and the path to
// dir are opened to that user for the test.
func readOnlyForTest(t *testing.T, dir string) *syscall.Credential {
	t.Helper()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		for _, p := range []string{filepath.Dir(binPath), filepath.Dir(dir)} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, info.Mode().Perm()|0o055); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(p, info.Mode().Perm()) })
		}
	}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if cred != nil {
			if err := os.Lchown(path, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
		return os.Chmod(path, info.Mode().Perm()&^0o222)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err == nil {
				if cred != nil {
					_ = os.Lchown(path, 0, 0)
				}
				if info, err := e.Info(); err == nil {
					_ = os.Chmod(path, info.Mode().Perm()|0o200)
				}
			}
			return nil
		})
	})
	return cred
}

// runCLIAs is runCLI as the user cred (nil: this process's user).
func runCLIAs(t *testing.T, cred *syscall.Credential, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = "/"
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("jellyguard %s: no exit within %v", strings.Join(args, " "), cliTimeout)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("jellyguard %s: %v", strings.Join(args, " "), err)
	}
	return res
}
