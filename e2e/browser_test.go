package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// chromiumPath is Debian's chromium (`scripts/install-deps.sh test`
	// installs it); playwright-core drives it and downloads no browser.
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds the whole browser script; the script gives up
	// on its own a little earlier so that it can say which step hung.
	browserTimeout = 2 * time.Minute
	browserFlow    = 90 * time.Second
)

// browserRun is what browser/web2fa.mjs reports.
type browserRun struct {
	OK                     bool   `json:"ok"`
	Injected               bool   `json:"injected"`
	ServerID               string `json:"serverId"`
	UserID                 string `json:"userId"`
	FirstToken             string `json:"firstToken"`
	SecondToken            string `json:"secondToken"`
	FirstStatus            string `json:"firstStatus"`
	SecondStatus           string `json:"secondStatus"`
	ChallengeURL           string `json:"challengeUrl"`
	SecondLandedOn         string `json:"secondLandedOn"`
	SecondVisitedChallenge bool   `json:"secondVisitedChallenge"`
	UsersMeInPage          int    `json:"usersMeInPage"`
	SetupUser              string `json:"setupUser"`
	Cookies                []struct {
		Name     string `json:"name"`
		Path     string `json:"path"`
		HTTPOnly bool   `json:"httpOnly"`
		SameSite string `json:"sameSite"`
	} `json:"cookies"`
	Count401     int `json:"count401"`
	Responses401 []struct {
		Phase     string `json:"phase"`
		Method    string `json:"method"`
		Path      string `json:"path"`
		Challenge string `json:"challenge"`
	} `json:"responses401"`
	Navigations []struct {
		Phase string `json:"phase"`
		URL   string `json:"url"`
	} `json:"navigations"`
	Screenshots []string       `json:"screenshots"`
	Timings     map[string]int `json:"timings"`
}

// artifactsDir is e2e/artifacts (ignored by git): the browser test's
// screenshots. It is emptied at the start of the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("clearing %s: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	return dir
}

// runBrowser runs browser/web2fa.mjs with its JSON argument. Node and the
// Chromium it starts run in their own process group, which is killed when
// the time runs out and once more after the script exits, so that no
// browser outlives the test.
func runBrowser(t *testing.T, arg map[string]any) (browserRun, string) {
	t.Helper()
	raw, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, filepath.Join(browserDir, "web2fa.mjs"), string(raw))
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
	if ctx.Err() != nil {
		t.Fatalf("node web2fa.mjs: no exit within %v\nstdout: %s\nstderr: %s", browserTimeout, stdout.String(), stderr.String())
	}
	var res browserRun
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); jerr != nil {
		t.Fatalf("node web2fa.mjs (%v): stdout is not one JSON object: %v\nstdout: %s\nstderr: %s", err, jerr, stdout.String(), stderr.String())
	}
	if err != nil || !res.OK {
		t.Fatalf("node web2fa.mjs: %v\nstderr:\n%s\nwhat it saw: %s", err, stderr.String(), stdout.String())
	}
	return res, stderr.String()
}

func TestBrowserWebTwoFactor(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Debian's chromium is not installed (%v): run scripts/install-deps.sh test (make deps) to install it", err)
	}
	d := startDemo(t)
	e := enrollTOTP(t, d, "alice")
	artifacts := artifactsDir(t)

	start := time.Now()
	res, steps := runBrowser(t, map[string]any{
		"gateway":     d.Gateway,
		"username":    "alice",
		"password":    d.password(t, "alice"),
		"secret":      e.Secret,
		"artifacts":   artifacts,
		"userDataDir": t.TempDir(),
		"chromium":    chromiumPath,
		"timeoutMs":   browserFlow.Milliseconds(),
	})
	t.Logf("headless Chromium flow: %v (ms since start: %v)\n%s", time.Since(start).Round(time.Millisecond), res.Timings, strings.TrimRight(steps, "\n"))

	// The gateway's script is in the stand-in jellyfin-web page.
	if !res.Injected {
		t.Errorf("window.fetch on /web/ is not the gateway's wrapper: the script was not injected into index.html")
	}

	// First sign-in: password, challenge, code, signed in.
	if !strings.HasSuffix(res.ChallengeURL, "/jellyguard/challenge") {
		t.Errorf("after the password the browser was at %q, want the challenge page /jellyguard/challenge", res.ChallengeURL)
	}
	if res.FirstStatus != "Signed in as alice" {
		t.Errorf("after the code /web/ shows %q in #status, want %q", res.FirstStatus, "Signed in as alice")
	}
	info := getPublicInfo(t, d.Gateway)
	if res.ServerID != info.ID {
		t.Errorf("the page saw server Id %q, the gateway serves %q", res.ServerID, info.ID)
	}
	if !hex32.MatchString(res.FirstToken) || !hex32.MatchString(res.UserID) {
		t.Errorf("localStorage jellyfin_credentials entry for server %s: AccessToken %q UserId %q, want 32 hex digits each",
			res.ServerID, res.FirstToken, res.UserID)
	}
	if res.UsersMeInPage != http.StatusOK {
		t.Errorf("GET /Users/Me from the page with the stored token: %d, want 200", res.UsersMeInPage)
	}
	if res.SetupUser != "alice" {
		t.Errorf("the Setup page, opened while signed in, names %q, want alice", res.SetupUser)
	}

	// Exactly one 401 from the gateway over the whole flow: the withheld
	// password sign-in.
	for _, r := range res.Responses401 {
		t.Logf("401 from the gateway during %s: %s %s (X-Jellyguard-Challenge %q)", r.Phase, r.Method, r.Path, r.Challenge)
	}
	if res.Count401 != 1 {
		t.Errorf("the gateway answered %d responses with 401 during the web 2FA flow, want exactly 1", res.Count401)
	} else if r := res.Responses401[0]; r.Method != http.MethodPost || !strings.EqualFold(r.Path, "/Users/authenticatebyname") || r.Challenge == "" {
		t.Errorf("the one 401 was %s %s (challenge header %q), want the password sign-in POST /Users/authenticatebyname with X-Jellyguard-Challenge",
			r.Method, r.Path, r.Challenge)
	}

	// Second sign-in from the same browser: no challenge.
	if res.SecondLandedOn != "signed-in" || res.SecondVisitedChallenge {
		t.Errorf("second sign-in from the trusted browser: landed on %q (visited the challenge: %v), want signed in without a challenge",
			res.SecondLandedOn, res.SecondVisitedChallenge)
	}
	if res.SecondStatus != "Signed in as alice" {
		t.Errorf("after the second sign-in /web/ shows %q, want %q", res.SecondStatus, "Signed in as alice")
	}
	if !hex32.MatchString(res.SecondToken) {
		t.Errorf("after the second sign-in the stored AccessToken is %q, want 32 hex digits", res.SecondToken)
	} else {
		code, body := usersMe(t, d.Gateway, res.SecondToken)
		var me struct{ Name, ID string }
		_ = json.Unmarshal(body, &me)
		if code != http.StatusOK || me.Name != "alice" {
			t.Errorf("GET /Users/Me through the gateway with the browser's stored token: %d Name=%q, want 200 alice; body: %.300s", code, me.Name, body)
		}
	}
	for _, c := range res.Cookies {
		t.Logf("cookie left in the browser: %s (path %s, HttpOnly %v, SameSite %s)", c.Name, c.Path, c.HTTPOnly, c.SameSite)
	}

	// The screenshots exist and are the sizes asked for.
	want := map[string]bool{}
	for _, page := range []string{"challenge", "setup"} {
		for _, size := range []string{"390x844", "1280x800"} {
			want[filepath.Join(artifacts, page+"-"+size+".png")] = true
		}
	}
	for _, p := range res.Screenshots {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("screenshot %s: %v", p, err)
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("screenshot %s is not a PNG: %v", p, err)
			continue
		}
		t.Logf("screenshot %s (%dx%d)", p, cfg.Width, cfg.Height)
		if w := strings.Split(strings.TrimSuffix(filepath.Base(p), ".png"), "-"); len(w) == 2 && !strings.HasPrefix(w[1], strconv.Itoa(cfg.Width)+"x") {
			t.Errorf("screenshot %s is %d pixels wide, want the width in its name", p, cfg.Width)
		}
		delete(want, p)
	}
	for p := range want {
		t.Errorf("screenshot %s was not saved", p)
	}
}
