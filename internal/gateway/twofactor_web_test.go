package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTwoFactorWebChallengeFlowSendsOne401 plays what the injected script
// and the challenge page do in a browser, counting every 401 the gateway
// sends, then signs in again from the trusted browser and replays its old
// cookie from elsewhere.
func TestTwoFactorWebChallengeFlowSendsOne401(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	alice, _ := e.Fake.User("alice")
	pw := e.Passwords["alice"]
	br := e.NewBrowser("firefox-web-1")

	login := br.Login("alice", pw)
	loginBody := readBody(t, login)
	mustRefuse(t, "web login", answer{status: login.StatusCode, body: []byte(loginBody)})
	if got := login.Header.Get("X-Jellyguard-Challenge"); got != challengePage {
		t.Fatalf("X-Jellyguard-Challenge %q, want %q", got, challengePage)
	}
	chCookie := mustBrowserCookie(t, login, "jg_challenge")
	if strings.Contains(login.Header.Get("X-Jellyguard-Challenge"), chCookie.Value) {
		t.Fatal("the challenge id travels in the challenge address")
	}
	withheld := issued.Last(t, br.DeviceID)
	if !e.Fake.TokenValid(withheld) {
		t.Fatal("the withheld session was logged out while its challenge is open")
	}

	page := br.Get(challengePage)
	if body := readBody(t, page); page.StatusCode != http.StatusOK || !strings.Contains(body, "<strong>alice</strong>") {
		t.Fatalf("challenge page: %d %s", page.StatusCode, body)
	}

	wrong := br.PostForm(challengePage, url.Values{"code": {auth.Wrong(t)}})
	if body := readBody(t, wrong); wrong.StatusCode != http.StatusBadRequest || !strings.Contains(body, "4 attempts left") {
		t.Fatalf("wrong code: %d %s", wrong.StatusCode, body)
	}

	right := br.PostForm(challengePage, url.Values{"code": {auth.Code(t)}, "remember": {"1"}})
	body := readBody(t, right)
	if right.StatusCode != http.StatusOK {
		t.Fatalf("right code: %d %s", right.StatusCode, body)
	}
	if cc := right.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("hand-off Cache-Control %q", cc)
	}
	h := handoff(t, []byte(body))
	if h["token"] != withheld || h["user-id"] != alice.ID || h["server-id"] != e.Fake.ServerID() || h["device-id"] != br.DeviceID {
		t.Fatalf("hand-off data %v; withheld token %s, user %s, server %s", h, withheld, alice.ID, e.Fake.ServerID())
	}
	trust := mustBrowserCookie(t, right, "jg_trust")
	released := h["token"]
	mustWork(t, e, released)
	mustFactor(t, e, released, "totp")
	if n := br.Count(http.StatusUnauthorized); n != 1 {
		t.Fatalf("the gateway sent %d 401 answers in one web sign-in, want 1", n)
	}

	// The same browser again: the trust cookie skips the challenge and is
	// rotated.
	second := readAnswer(t, br.Login("alice", pw))
	tok := mustSignIn(t, "trusted browser", second)
	mustWork(t, e, tok)
	mustFactor(t, e, tok, "trusted-browser")
	if second.header.Get("X-Jellyguard-Challenge") != "" {
		t.Fatal("a trusted browser was challenged")
	}
	rotated := br.Cookie("/", "jg_trust")
	if rotated == nil || rotated.Value == trust.Value {
		t.Fatalf("trust cookie not rotated on use: %v", second.header.Values("Set-Cookie"))
	}
	if n := br.Count(http.StatusUnauthorized); n != 1 {
		t.Fatalf("401 answers after the trusted sign-in: %d, want still 1", n)
	}

	// The old value, copied to another browser with the same device id,
	// no longer vouches.
	copied := e.NewBrowser(br.DeviceID)
	copied.SetCookie("jg_trust", trust.Value)
	replay := readAnswer(t, copied.Login("alice", pw))
	mustRefuse(t, "old trust cookie", replay)
	if replay.header.Get("X-Jellyguard-Challenge") != challengePage {
		t.Fatal("an old trust cookie did not lead to a challenge")
	}
}

// TestTwoFactorChallengeBurnsAfterFiveWrongCodes: the fifth wrong code ends
// the challenge and logs its withheld session out; the right code is then
// too late.
func TestTwoFactorChallengeBurnsAfterFiveWrongCodes(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("firefox-burn")
	if resp := readAnswer(t, br.Login("alice", e.Passwords["alice"])); resp.header.Get("X-Jellyguard-Challenge") == "" {
		t.Fatalf("no challenge: %d", resp.status)
	}
	withheld := issued.Last(t, br.DeviceID)

	for i := 1; i <= 4; i++ {
		resp := br.PostForm(challengePage, url.Values{"code": {auth.Wrong(t)}})
		want := fmt.Sprintf("%d attempts left", 5-i)
		if i == 4 {
			want = "1 attempt left"
		}
		if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Fatalf("wrong code %d: %d, want 400 with %q: %s", i, resp.StatusCode, want, body)
		}
	}
	fifth := br.PostForm(challengePage, url.Values{"code": {auth.Wrong(t)}})
	if body := readBody(t, fifth); fifth.StatusCode != http.StatusTooManyRequests || strings.Contains(body, `id="handoff"`) {
		t.Fatalf("fifth wrong code: %d %s", fifth.StatusCode, body)
	}
	mustBeLoggedOut(t, e, withheld, br.DeviceID, 3*time.Second)

	late := br.PostForm(challengePage, url.Values{"code": {auth.Code(t)}})
	if body := readBody(t, late); late.StatusCode != http.StatusGone || strings.Contains(body, withheld) {
		t.Fatalf("right code after the burn: %d %s", late.StatusCode, body)
	}
	mustFail(t, e, withheld)
}

// TestTwoFactorOpenChallengesPerUserAreCapped: a fourth unanswered web
// sign-in burns the oldest challenge (max_open_challenges 3) and logs its
// session out; the newest three stay open.
func TestTwoFactorOpenChallengesPerUserAreCapped(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	enrollAlice(t, e)
	alice, _ := e.Fake.User("alice")
	var browsers []*testutil.Browser
	for i := range 4 {
		br := e.NewBrowser(fmt.Sprintf("flood-%d", i))
		if a := readAnswer(t, br.Login("alice", e.Passwords["alice"])); a.header.Get("X-Jellyguard-Challenge") == "" {
			t.Fatalf("login %d: no challenge (%d)", i, a.status)
		}
		browsers = append(browsers, br)
	}
	mustBeLoggedOut(t, e, issued.Last(t, "flood-0"), "flood-0", 3*time.Second)
	oldest := browsers[0].Get(challengePage)
	_ = oldest.Body.Close()
	if oldest.StatusCode != http.StatusGone {
		t.Fatalf("the oldest challenge page: %d, want 410", oldest.StatusCode)
	}
	for i := 1; i < 4; i++ {
		if tok := issued.Last(t, browsers[i].DeviceID); !e.Fake.TokenValid(tok) {
			t.Fatalf("challenge %d lost its session", i)
		}
		resp := browsers[i].Get(challengePage)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("challenge %d page: %d, want 200", i, resp.StatusCode)
		}
	}
	open, err := e.Store.UserChallenges(context.Background(), alice.ID)
	if err != nil || len(open) != 3 {
		t.Fatalf("%d open challenges (%v), want 3", len(open), err)
	}
}

// TestTwoFactorChallengeExpiresAndLogsItsTokenOut: after
// two_factor.challenge_ttl the withheld session is logged out in Jellyfin.
func TestTwoFactorChallengeExpiresAndLogsItsTokenOut(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{Configure: func(c *config.Config) {
		c.TwoFactor.ChallengeTTL = 2 * time.Second
	}})
	enrollAlice(t, e)
	br := e.NewBrowser("firefox-slow")
	if a := readAnswer(t, br.Login("alice", e.Passwords["alice"])); a.header.Get("X-Jellyguard-Challenge") == "" {
		t.Fatalf("no challenge: %d", a.status)
	}
	withheld := issued.Last(t, br.DeviceID)
	if !e.Fake.TokenValid(withheld) {
		t.Fatal("the withheld session was logged out before its challenge expired")
	}
	mustBeLoggedOut(t, e, withheld, br.DeviceID, 8*time.Second)
	resp := br.Get(challengePage)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("expired challenge page: %d, want 410", resp.StatusCode)
	}
	mustFail(t, e, withheld)
}

// TestTwoFactorRevokingTrustedBrowserRevokesItsTokens: a trusted browser
// removed on the Setup page loses its sessions and its skip.
func TestTwoFactorRevokingTrustedBrowserRevokesItsTokens(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("firefox-revoke")
	tok, _ := passWeb(t, br, "alice", e.Passwords["alice"], auth.Code(t), true)
	mustWork(t, e, tok)

	acct := account(t, e, tok)
	if len(acct.Browsers) != 1 || acct.Browsers[0].ID == "" {
		t.Fatalf("trusted browsers: %+v", acct.Browsers)
	}
	status, body := e.API("browsers/revoke", tok, map[string]string{"id": acct.Browsers[0].ID})
	mustAPIError(t, "revoke without a code", status, body, http.StatusForbidden, "code_required")
	if status, body := e.API("browsers/revoke", tok, map[string]string{"id": acct.Browsers[0].ID, "code": auth.Code(t)}); status != http.StatusOK {
		t.Fatalf("browsers/revoke: %d %s", status, body)
	}
	mustFail(t, e, tok)
	if !testkit.Eventually(3*time.Second, func() bool { return !e.Fake.TokenValid(tok) }) {
		t.Fatal("the revoked browser's session is still live in Jellyfin")
	}
	again := readAnswer(t, br.Login("alice", e.Passwords["alice"]))
	if again.status != http.StatusUnauthorized || again.header.Get("X-Jellyguard-Challenge") != challengePage {
		t.Fatalf("a revoked trusted browser was not challenged: %d", again.status)
	}
}

var scriptTag = regexp.MustCompile(`<script src="([^"]*/jellyguard/static/inject\.[^"]*)"`)

// TestTwoFactorScriptIsInjectedIntoWebIndex: jellyfin-web's index.html
// comes back uncompressed, without its validators, with the gateway's
// script in the head; the script is served as JavaScript.
func TestTwoFactorScriptIsInjectedIntoWebIndex(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	for _, p := range []string{"/web/index.html", "/web/"} {
		req := e.RawRequest(http.MethodGet, p, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp := e.Do(req)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: %d, Content-Encoding %q", p, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if resp.Header.Get("ETag") != "" {
			t.Fatalf("%s: the rewritten page kept the ETag of the original", p)
		}
		m := scriptTag.FindStringSubmatchIndex(body)
		head := strings.Index(strings.ToLower(body), "</head>")
		if m == nil || head < 0 || m[0] > head {
			t.Fatalf("%s: no script tag before </head>: %s", p, body)
		}
		src := body[m[2]:m[3]]
		tagEnd := strings.Index(body[m[0]:], "</script>")
		if tagEnd < 0 || body[:m[0]]+body[m[0]+tagEnd+len("</script>"):] != fake.IndexHTML {
			t.Fatalf("%s: the page was changed beyond the script tag: %s", p, body)
		}
		script := e.Do(e.RawRequest(http.MethodGet, src, nil))
		js := readBody(t, script)
		if script.StatusCode != http.StatusOK || !strings.Contains(script.Header.Get("Content-Type"), "javascript") ||
			!strings.Contains(js, "X-Jellyguard-Web") {
			t.Fatalf("%s: %d %q", src, script.StatusCode, script.Header.Get("Content-Type"))
		}
	}
}

// TestTwoFactorLoginPageAsksForTheCode covers <base>/jellyguard/login: an
// enrolled user is asked for the code, signs in with it, and a cross-site
// post is refused before anything reaches Jellyfin.
func TestTwoFactorLoginPageAsksForTheCode(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	post := func(form url.Values, fetchSite string) (int, string, *http.Response) {
		req, err := http.NewRequest(http.MethodPost, e.URL+"/jellyguard/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if fetchSite != "" {
			req.Header.Set("Sec-Fetch-Site", fetchSite)
		}
		resp := e.Do(req)
		return resp.StatusCode, readBody(t, resp), resp
	}
	form := url.Values{"username": {"alice"}, "password": {e.Passwords["alice"]}}

	logins := e.Fake.Requests("/users/authenticatebyname")
	crossSite := url.Values{"username": {"alice"}, "password": {e.Passwords["alice"]}, "code": {"123456"}}
	if status, body, _ := post(crossSite, "cross-site"); status != http.StatusForbidden || strings.Contains(body, `id="handoff"`) {
		t.Fatalf("cross-site post: %d %s", status, body)
	}
	if n := e.Fake.Requests("/users/authenticatebyname"); n != logins {
		t.Fatalf("a cross-site post reached Jellyfin (%d sign-ins)", n-logins)
	}

	// A right password without the code gets exactly a wrong password's
	// answer: the page must not confirm the password.
	status, body, _ := post(form, "same-origin")
	wrong := url.Values{"username": {"alice"}, "password": {"not-her-password"}}
	wrongStatus, wrongBody, _ := post(wrong, "same-origin")
	if status != http.StatusUnauthorized || strings.Contains(body, `id="handoff"`) || status != wrongStatus || body != wrongBody {
		t.Fatalf("without the code: %d %s\nwrong password: %d %s", status, body, wrongStatus, wrongBody)
	}

	form.Set("code", auth.Code(t))
	status, body, resp := post(form, "")
	if status != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("with the code: %d %s", status, body)
	}
	tok := handoff(t, []byte(body))["token"]
	mustWork(t, e, tok)
	if st := recorded(t, e, tok); st.Factor != "totp" || st.UserName != "alice" || st.Source != "login-page" {
		t.Fatalf("recorded %+v", st)
	}
}

// TestTwoFactorBreakGlassResetFromTheCommandLine: after a reset the user
// signs in with the password alone, the trusted browser's sessions are
// revoked, and its cookie no longer skips a challenge once TOTP is back.
func TestTwoFactorBreakGlassResetFromTheCommandLine(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	pw := e.Passwords["alice"]
	br := e.NewBrowser("firefox-reset")
	passWeb(t, br, "alice", pw, auth.Code(t), true)
	trusted := mustSignIn(t, "trusted browser before the reset", readAnswer(t, br.Login("alice", pw)))
	mustFactor(t, e, trusted, "trusted-browser")

	alice, _ := e.Fake.User("alice")
	acct := store.Account{UserID: alice.ID, UserName: "alice"}
	if err := e.App.Signin.Reset(context.Background(), acct, "test"); err != nil {
		t.Fatal(err)
	}
	mustFail(t, e, trusted)

	tok := mustSignIn(t, "password only after the reset", nativeLogin(t, e, "alice", pw, findroid("after-reset", "Pixel")))
	mustWork(t, e, tok)
	mustFactor(t, e, tok, "")
	if a := account(t, e, tok); a.Enrolled || len(a.Browsers) != 0 || len(a.Devices) != 0 {
		t.Fatalf("account after the reset: %+v", a)
	}

	if _, err := e.App.Signin.EnrollFromCLI(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	again := readAnswer(t, br.Login("alice", pw))
	if again.status != http.StatusUnauthorized || again.header.Get("X-Jellyguard-Challenge") != challengePage {
		t.Fatalf("the browser trusted before the reset skipped the challenge: %d", again.status)
	}
}
