package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// TestWebGraceSignInIsSentToSetup: a user who must set up a second factor
// and still signs in on the grace period is told so by jellyfin-web's own
// sign-in answer (the injected script opens Setup); apps get Jellyfin's
// answer untouched, and a user who needs nothing is not sent anywhere.
func TestWebGraceSignInIsSentToSetup(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TwoFactor.Require, c.TwoFactor.GracePeriod = "admins", 24*time.Hour
	}})
	web := readAnswer(t, e.NewBrowser("web-admin").Login("admin", e.Passwords["admin"]))
	mustSignIn(t, "admin in grace, web", web)
	if got := web.header.Get("X-Jellyguard-Setup"); got != "/jellyguard/setup" {
		t.Errorf("X-Jellyguard-Setup %q on a grace sign-in from jellyfin-web, want /jellyguard/setup", got)
	}
	native := nativeLogin(t, e, "admin", e.Passwords["admin"], findroid("findroid-admin", "Pixel 8"))
	mustSignIn(t, "admin in grace, app", native)
	if got := native.header.Get("X-Jellyguard-Setup"); got != "" {
		t.Errorf("an app got X-Jellyguard-Setup %q", got)
	}
	bob := readAnswer(t, e.NewBrowser("web-bob").Login("bob", e.Passwords["bob"]))
	mustSignIn(t, "bob, nothing required", bob)
	if got := bob.header.Get("X-Jellyguard-Setup"); got != "" {
		t.Errorf("a user who needs no second factor got X-Jellyguard-Setup %q", got)
	}
}

// challengeAttempt posts one code to the challenge page and returns the
// status and page.
func challengeAttempt(t *testing.T, br *testutil.Browser, code string) (int, string) {
	t.Helper()
	resp := br.PostForm(challengePage, url.Values{"code": {code}})
	return resp.StatusCode, readBody(t, resp)
}

// failureEvents returns the reasons of the sign-in failures audited so far.
func failureReasons(t *testing.T, e *testutil.Env) []string {
	t.Helper()
	evs, err := e.Store.Audit(context.Background(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Kind == "signin.failure" {
			out = append(out, ev.Detail)
		}
	}
	return out
}

// TestChallengeHeldBackByTheShieldStaysOpen: codes answered faster than
// the shield allows are held back. The page says so and shows the form
// with the attempts really left (never "too many attempts" for a sign-in
// that is still open), and the refusal is audited and written to the
// failure line like every other.
func TestChallengeHeldBackByTheShieldStaysOpen(t *testing.T) {
	e, _ := testutil.StartRecording(t, testutil.Options{Configure: func(c *config.Config) {
		d := config.Default().Shield
		c.Shield.LoginsPerMinute, c.Shield.UserFailures, c.Shield.BanFailures = d.LoginsPerMinute, d.UserFailures, d.BanFailures
		c.TwoFactor.ChallengeAttempts = 8
	}})
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("firefox-hasty")
	if a := readAnswer(t, br.Login("alice", e.Passwords["alice"])); a.header.Get("X-Jellyguard-Challenge") == "" {
		t.Fatalf("no challenge: %d", a.status)
	}
	for i := 1; i <= 4; i++ {
		if status, body := challengeAttempt(t, br, auth.Wrong(t)); status != http.StatusBadRequest ||
			!strings.Contains(body, fmt.Sprintf("%d attempts left", 8-i)) {
			t.Fatalf("wrong code %d: %d %s", i, status, body)
		}
	}
	// Four failures in a row: the next answer comes too soon.
	status, body := challengeAttempt(t, br, auth.Wrong(t))
	if status != http.StatusTooManyRequests || !strings.Contains(body, "Too many codes were tried") ||
		!strings.Contains(body, `name="code"`) || !strings.Contains(body, "3 attempts left") {
		t.Fatalf("held-back answer: %d, want 429 with the form and 3 attempts left: %s", status, body)
	}
	page := br.Get(challengePage)
	if body := readBody(t, page); page.StatusCode != http.StatusOK || !strings.Contains(body, "3 attempts left") {
		t.Fatalf("the challenge page afterwards: %d %s", page.StatusCode, body)
	}
	reasons := failureReasons(t, e)
	if len(reasons) != 5 || !strings.Contains(reasons[4], "throttled") {
		t.Errorf("audited sign-in failures %q, want four wrong codes and one held back", reasons)
	}
	if n := strings.Count(e.Logs.String(), `msg="sign-in failed" ip=127.0.0.1 user="alice" reason=throttled`); n != 1 {
		t.Errorf("%d failure lines for the held-back answer, want 1:\n%s", n, e.Logs.String())
	}
}

// TestChallengeCodeLimitIsNotAWrongCode: past the per-user limit on code
// attempts a code is not checked at all. The page must not call it wrong
// (the user may have typed the right one): it says to wait, and the
// failure line and the audit trail say "throttled".
func TestChallengeCodeLimitIsNotAWrongCode(t *testing.T) {
	e, _ := testutil.StartRecording(t, testutil.Options{Configure: func(c *config.Config) {
		c.TwoFactor.ChallengeAttempts = 20
		// The shield would hold the answers back first (after four
		// failures in a row): its exemption leaves the code limits alone.
		c.Shield.Exempt = []string{"127.0.0.1/32"}
	}})
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("firefox-many")
	if a := readAnswer(t, br.Login("alice", e.Passwords["alice"])); a.header.Get("X-Jellyguard-Challenge") == "" {
		t.Fatalf("no challenge: %d", a.status)
	}
	wrong := 0
	var status int
	var body string
	for range 15 {
		status, body = challengeAttempt(t, br, auth.Wrong(t))
		if !strings.Contains(body, "didn&#39;t work") {
			break
		}
		wrong++
	}
	if wrong < 5 || status != http.StatusTooManyRequests || !strings.Contains(body, "Too many codes were tried") {
		t.Fatalf("after %d wrong codes: %d, want 429 saying to wait: %s", wrong, status, body)
	}
	// The right code now is held back too, and not called wrong.
	status, body = challengeAttempt(t, br, auth.Code(t))
	if status != http.StatusTooManyRequests || strings.Contains(body, "didn&#39;t work") || strings.Contains(body, `id="handoff"`) {
		t.Fatalf("right code past the limit: %d %s", status, body)
	}
	if n := strings.Count(e.Logs.String(), `user="alice" reason=throttled`); n != 2 {
		t.Errorf("%d failure lines with reason=throttled, want 2:\n%s", n, e.Logs.String())
	}
	reasons := failureReasons(t, e)
	if len(reasons) != wrong+2 || !strings.Contains(reasons[len(reasons)-1], "throttled") {
		t.Errorf("audited sign-in failures %q", reasons)
	}
}

// TestSetupAPIKnowsThisBrowser: the Setup page's calls name the browser's
// jellyfin-web device id, so the trusted browser asking is marked as the
// current one, and no other.
func TestSetupAPIKnowsThisBrowser(t *testing.T) {
	e, _ := testutil.StartRecording(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("firefox-setup-1")
	token, _ := passWeb(t, br, "alice", e.Passwords["alice"], auth.Code(t), true)

	for _, tc := range []struct {
		header string
		want   bool
	}{
		{fmt.Sprintf(`MediaBrowser DeviceId="%s", Token="%s"`, br.DeviceID, token), true},
		{fmt.Sprintf(`MediaBrowser Token="%s"`, token), false},
		{fmt.Sprintf(`MediaBrowser DeviceId="another-browser", Token="%s"`, token), false},
	} {
		req, err := http.NewRequest(http.MethodGet, e.URL+"/jellyguard/api/account", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", tc.header)
		resp := br.Do(req)
		var a accountJSON
		decodeJSON(t, resp, &a)
		if len(a.Browsers) != 1 || a.Browsers[0].Current != tc.want {
			t.Errorf("%s: browsers %+v, want one with current=%v", tc.header, a.Browsers, tc.want)
		}
	}
}
