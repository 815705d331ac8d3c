package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// signOutRun is what browser/signout.mjs reports.
type signOutRun struct {
	OK            bool   `json:"ok"`
	Token         string `json:"token"`
	LinkBefore    bool   `json:"linkBefore"`
	LinkSignedOut bool   `json:"linkSignedOut"`
	FormAfter     bool   `json:"formAfter"`
	TokenAfter    string `json:"tokenAfter"`
	LogoutStatus  int    `json:"logoutStatus"`
}

// TestBrowserStandInSignOut: on the demo's stand-in jellyfin-web page, the
// "Sign out" link shows once signed in and signs out the way the app does:
// the session ends in Jellyfin, the browser forgets the token, and the
// login form is back.
func TestBrowserStandInSignOut(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Debian's chromium is not installed (%v): run scripts/install-deps.sh test (make deps) to install it", err)
	}
	d := startDemo(t)
	raw, err := json.Marshal(map[string]any{"gateway": d.Gateway, "username": "bob", "password": d.password(t, "bob"),
		"chromium": chromiumPath, "timeoutMs": browserFlow.Milliseconds()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, filepath.Join(browserDir, "signout.mjs"), string(raw))
	cmd.Dir = browserDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers; ESRCH when there are none
	}
	var res signOutRun
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("node signout.mjs: %v / %v\nstdout: %s\nstderr: %s", err, jerr, stdout.String(), stderr.String())
	}

	if res.LinkSignedOut || !res.LinkBefore {
		t.Errorf("the Sign out link: visible on the login page %v, once signed in %v; want only once signed in", res.LinkSignedOut, res.LinkBefore)
	}
	if !hex32.MatchString(res.Token) {
		t.Fatalf("signed in, the page stored AccessToken %q, want 32 hex digits", res.Token)
	}
	if res.LogoutStatus != http.StatusNoContent {
		t.Errorf("POST /Sessions/Logout from the page: %d, want 204", res.LogoutStatus)
	}
	if res.TokenAfter != "" || !res.FormAfter {
		t.Errorf("after Sign out: stored AccessToken %q, login form shown %v; want none and shown", res.TokenAfter, res.FormAfter)
	}
	if r, body := get(t, d.Jellyfin+"/System/Info", res.Token, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the signed-out token at the emulator itself: GET /System/Info %d, want 401; body: %.200s", r.StatusCode, body)
	}
	if r, _ := get(t, d.Gateway+"/System/Info", res.Token, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the signed-out token through the gateway: GET /System/Info %d, want 401", r.StatusCode)
	}
}
