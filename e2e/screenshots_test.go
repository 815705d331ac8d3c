package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// screenshotTimeout bounds browser/pages.mjs; the script gives up on its
// own a little earlier so that it can say which step hung.
const (
	screenshotTimeout = 4 * time.Minute
	screenshotWalk    = 210 * time.Second
)

// pageStates are the states browser/pages.mjs photographs, each at 390 and
// 1280 pixels wide.
var pageStates = []string{
	"signin-error", "setup-before", "setup-enrolling", "setup-codes", "setup-enrolled", "setup-grace",
	"challenge", "challenge-recovery", "challenge-wrong", "challenge-burned",
}

// pagesRun is what browser/pages.mjs reports.
type pagesRun struct {
	OK    bool `json:"ok"`
	Shots []struct {
		Name        string   `json:"name"`
		Size        string   `json:"size"`
		Path        string   `json:"path"`
		ScrollWidth int      `json:"scrollWidth"`
		Width       int      `json:"width"`
		At          string   `json:"at"`
		Problems    []string `json:"problems"`
	} `json:"shots"`
	Issuer string `json:"issuer"`
	Menu   struct {
		Entries            int    `json:"entries"`
		EntriesAfterRedraw int    `json:"entriesAfterRedraw"`
		Text               string `json:"text"`
		Href               string `json:"href"`
		After              string `json:"after"`
		LooksLikeNeighbors bool   `json:"looksLikeItsNeighbours"`
		Floating           *struct {
			Text string `json:"text"`
			Href string `json:"href"`
		} `json:"floating"`
		FloatingElsewhere bool   `json:"floatingElsewhere"`
		Opened            string `json:"opened"`
	} `json:"menu"`
	Scheme map[string]struct {
		Background string `json:"background"`
		Accent     string `json:"accent"`
	} `json:"scheme"`
	Problems []string       `json:"problems"`
	Timings  map[string]int `json:"timings"`
}

// screenshotsDir is e2e/screenshots (ignored by git: CI makes its own),
// emptied at the start of the test.
func screenshotsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("screenshots")
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

// pageUser is a user the walk signs in as.
type pageUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Secret   string `json:"secret,omitempty"`
}

// addEmulatorUser creates a user at the emulator directly, as an
// administrator does in Jellyfin's dashboard.
func addEmulatorUser(t *testing.T, d *demo, key, name string) pageUser {
	t.Helper()
	u := pageUser{Name: name, Password: randomID(t, "pw-")}
	body, err := json.Marshal(map[string]string{"Name": u.Name, "Password": u.Password})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Jellyfin+"/Users/New", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", `MediaBrowser Token="`+key+`"`)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST /Users/New at the emulator: %v", err)
	}
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /Users/New %s at the emulator: %d; body: %.300s", name, resp.StatusCode, respBody)
	}
	return u
}

// runPages runs browser/pages.mjs with its JSON argument, in its own
// process group (killed when time runs out and after it exits).
func runPages(t *testing.T, arg map[string]any) (pagesRun, string) {
	t.Helper()
	raw, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), screenshotTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, filepath.Join(browserDir, "pages.mjs"), string(raw))
	cmd.Dir = browserDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		t.Fatalf("node pages.mjs: no exit within %v\nstdout: %s\nstderr: %s", screenshotTimeout, stdout.String(), stderr.String())
	}
	var res pagesRun
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); jerr != nil {
		t.Fatalf("node pages.mjs (%v): stdout is not one JSON object: %v\nstdout: %s\nstderr: %s", err, jerr, stdout.String(), stderr.String())
	}
	if err != nil || !res.OK {
		t.Fatalf("node pages.mjs: %v\nstderr:\n%s\nwhat it saw: %s", err, stderr.String(), stdout.String())
	}
	return res, stderr.String()
}

var rgb = regexp.MustCompile(`^rgba?\((\d+), (\d+), (\d+)`)

// lightness is the mean of a CSS rgb() colour's channels, 0 to 255.
func lightness(t *testing.T, css string) int {
	t.Helper()
	m := rgb.FindStringSubmatch(css)
	if m == nil {
		t.Fatalf("colour %q is not rgb()", css)
	}
	sum := 0
	for _, c := range m[1:] {
		n, _ := strconv.Atoi(c)
		sum += n
	}
	return sum / 3
}

// TestBrowserScreenshots takes screenshots of every state of the Setup,
// challenge and sign-in pages at phone (390 px) and desktop (1280 px)
// width, under e2e/screenshots/, and checks each as a person would look
// at it: nothing wider than the window, the elements that make the state
// visible and nothing that contradicts it. It also checks the entry the
// gateway adds to jellyfin-web's settings menu, that a user in the grace
// period lands on Setup, and the colours (dark unless the browser asks
// for light, with Jellyfin's accent).
func TestBrowserScreenshots(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Debian's chromium is not installed (%v): run scripts/install-deps.sh test (make deps) to install it", err)
	}
	// Administrators must set up a second factor: the demo's admin is in
	// the grace period and is sent to Setup.
	d := startDemoEnv(t, []string{"JELLYGUARD_TWO_FACTOR_REQUIRE=admins"})
	key := emulatorKey(t, d)
	runs := map[string]map[string]pageUser{}
	for _, kind := range []string{"phone", "desktop"} {
		setup := addEmulatorUser(t, d, key, "setup-"+kind)
		challenged := addEmulatorUser(t, d, key, "challenged-"+kind)
		challenged.Secret = enrollTOTP(t, d, challenged.Name).Secret
		runs[kind] = map[string]pageUser{"setup": setup, "challenge": challenged}
	}
	dir := screenshotsDir(t)

	start := time.Now()
	res, steps := runPages(t, map[string]any{
		"gateway":     d.Gateway,
		"chromium":    chromiumPath,
		"screenshots": dir,
		"timeoutMs":   screenshotWalk.Milliseconds(),
		"grace":       pageUser{Name: "admin", Password: d.password(t, "admin")},
		"runs":        runs,
	})
	t.Logf("headless Chromium walk: %v (ms per walk: %v)\n%s", time.Since(start).Round(time.Millisecond), res.Timings, strings.TrimRight(steps, "\n"))
	for _, p := range res.Problems {
		t.Error(p)
	}

	want := map[string]bool{}
	for _, s := range pageStates {
		for _, w := range []int{390, 1280} {
			want[fmt.Sprintf("%s-%d", s, w)] = true
		}
	}
	for _, shot := range res.Shots {
		name := strings.TrimSuffix(filepath.Base(shot.Path), ".png")
		if !want[name] {
			t.Errorf("unexpected screenshot %s", shot.Path)
			continue
		}
		delete(want, name)
		width, _ := strconv.Atoi(strings.Split(shot.Size, "x")[0])
		cfg := pngConfig(t, shot.Path)
		t.Logf("screenshot %s (%dx%d) of %s", shot.Path, cfg.Width, cfg.Height, shot.At)
		if cfg.Width != width {
			t.Errorf("%s is %d pixels wide, want %d", shot.Path, cfg.Width, width)
		}
		if shot.ScrollWidth > width {
			t.Errorf("%s: the page is %d px wide in a %d px window (it scrolls sideways)", name, shot.ScrollWidth, width)
		}
		for _, p := range shot.Problems {
			t.Errorf("%s: %s", name, p)
		}
	}
	for name := range want {
		t.Errorf("no screenshot %s.png", name)
	}

	if res.Issuer != "Jellyfin Emulator" {
		t.Errorf("Setup says the authenticator app lists the account as %q, want the server's name %q", res.Issuer, "Jellyfin Emulator")
	}

	m := res.Menu
	if m.Entries != 1 || m.EntriesAfterRedraw != 1 || m.Text != "Two-step verification" || m.Href != "/jellyguard/setup" ||
		!strings.Contains(m.After, "lnkQuickConnectPreferences") || !m.LooksLikeNeighbors {
		t.Errorf("settings menu entry: %+v; want one \"Two-step verification\" link to /jellyguard/setup after Quick Connect, built like its neighbours", m)
	}
	if m.Floating == nil || m.Floating.Text != "Two-step verification" || m.Floating.Href != "/jellyguard/setup" {
		t.Errorf("without the menu's markup no floating link to Setup on the settings route: %+v", m.Floating)
	}
	if m.FloatingElsewhere {
		t.Error("the floating link stays on other pages of the app")
	}
	if m.Opened != "/jellyguard/setup" {
		t.Errorf("the link opened %q, want /jellyguard/setup", m.Opened)
	}

	dark, light := res.Scheme["dark"], res.Scheme["light"]
	if lightness(t, dark.Background) > 60 {
		t.Errorf("the pages are not dark when the browser asks for dark: background %s", dark.Background)
	}
	if lightness(t, light.Background) < 200 {
		t.Errorf("the pages are not light when the browser asks for light: background %s", light.Background)
	}
	if dark.Accent != "rgb(0, 164, 220)" {
		t.Errorf("the primary button is %s, want Jellyfin's accent #00a4dc (rgb(0, 164, 220))", dark.Accent)
	}
}

func pngConfig(t *testing.T, path string) image.Config {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	return cfg
}
