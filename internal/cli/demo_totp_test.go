package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// loginStatus posts a Jellyfin login to base and returns the status.
func loginStatus(t *testing.T, base, user, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"Username": user, "Pw": password})
	req, err := http.NewRequest(http.MethodPost, base+"/Users/AuthenticateByName", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", `MediaBrowser Client="Infuse", Device="Apple TV", DeviceId="demo-test", Version="8.0"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestDemoHasAUserWithAnAuthenticator: the demo's TOTP user is enrolled
// when the demo starts, --json carries its secret, and the secret yields
// the codes the gateway asks for.
func TestDemoHasAUserWithAnAuthenticator(t *testing.T) {
	dr := startDemo(t)
	d := dr.info
	var u demoUser
	for _, x := range d.Users {
		if x.TOTPSecret != "" {
			if u.Name != "" {
				t.Errorf("more than one demo user has an authenticator: %s and %s", u.Name, x.Name)
			}
			u = x
		}
	}
	if u.Name != demoTOTPUser || u.Admin || u.Password == "" {
		t.Fatalf("demo users: %+v; want %s with an authenticator", d.Users, demoTOTPUser)
	}
	uri, err := url.Parse(u.TOTPURI)
	if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Query().Get("secret") != u.TOTPSecret {
		t.Errorf("totp_uri %q does not carry totp_secret %q (%v)", u.TOTPURI, u.TOTPSecret, err)
	}
	if len(u.RecoveryCodes) != 10 {
		t.Errorf("%d recovery codes", len(u.RecoveryCodes))
	}
	if d.Setup != d.Gateway+"/jellyguard/setup" {
		t.Errorf("setup %q, want %s/jellyguard/setup", d.Setup, d.Gateway)
	}
	if resp, err := http.Get(d.Setup); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %v %v", d.Setup, resp, err)
	} else {
		_ = resp.Body.Close()
	}

	// The password alone meets the second factor; password;code passes.
	if code := loginStatus(t, d.Gateway, u.Name, u.Password); code != http.StatusUnauthorized {
		t.Errorf("%s with only the password: %d, want 401", u.Name, code)
	}
	code, err := totp.Code(u.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if status := loginStatus(t, d.Gateway, u.Name, u.Password+";"+code); status != http.StatusOK {
		t.Errorf("%s with password;code: %d, want 200", u.Name, status)
	}
	// The others have no second factor yet.
	if status := loginStatus(t, d.Gateway, "alice", dr.password(t, "alice")); status != http.StatusOK {
		t.Errorf("alice with her password: %d, want 200", status)
	}

	// The admin commands see the enrollment.
	r := runCLI(t, "--config", d.Config, "user", "list", "--json")
	var users []userJSON
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil {
		t.Fatalf("user list --json: %v (%q, stderr %q)", err, r.stdout, r.stderr)
	}
	for _, x := range users {
		if (x.Name == demoTOTPUser) != (x.TwoFactor == "enrolled") {
			t.Errorf("user list: %s is %q", x.Name, x.TwoFactor)
		}
	}

	// The banner's oathtool command prints the same code, where installed.
	if oathtool, err := exec.LookPath("oathtool"); err == nil {
		before, _ := totp.Code(u.TOTPSecret, time.Now())
		out, err := exec.Command(oathtool, "--totp", "-b", u.TOTPSecret).Output()
		after, _ := totp.Code(u.TOTPSecret, time.Now())
		if got := strings.TrimSpace(string(out)); err != nil || (got != before && got != after) {
			t.Errorf("oathtool --totp -b %s: %q (%v), want %s", u.TOTPSecret, got, err, before)
		}
	} else {
		t.Log("oathtool is not installed; the banner's oathtool command was not run")
	}
}

func (d *demoRun) password(t *testing.T, name string) string {
	t.Helper()
	for _, u := range d.info.Users {
		if u.Name == name {
			return u.Password
		}
	}
	t.Fatalf("no demo user %q", name)
	return ""
}

// TestDemoBanner: the banner a person reads names the Setup page, says
// that loopback is exempt from the shield, and gives the TOTP user's URI,
// secret and a way to get a code without an app.
func TestDemoBanner(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--jellyfin-listen", "127.0.0.1:0"}, stdout, stderr, mapEnv(nil))
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "Press Ctrl-C to stop.") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("demo exited %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop")
	}
	banner := stdout.String()
	secret := regexp.MustCompile(`(?m)^    secret  ([A-Z2-7]{32})$`).FindStringSubmatch(banner)
	if secret == nil {
		t.Fatalf("the banner shows no secret:\n%s", banner)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  Setup     http://127\.0\.0\.1:\d+/jellyguard/setup `),
		regexp.MustCompile(`(?m)^    ` + demoTOTPUser + `\s+\(has an authenticator\)\s+password: \S+$`),
		regexp.MustCompile(`(?m)^    otpauth://totp/\S+secret=` + secret[1]),
		regexp.MustCompile(`oathtool --totp -b ` + secret[1] + `\n`),
		regexp.MustCompile(`A recovery code \(works once instead of a code\): [0-9A-Z]{5}-[0-9A-Z]{5}\n`),
		regexp.MustCompile(`The shield never bans nor throttles 127\.0\.0\.0/8, ::1 in the demo`),
	} {
		if !want.MatchString(banner) {
			t.Errorf("the banner does not match %s:\n%s", want, banner)
		}
	}
}
