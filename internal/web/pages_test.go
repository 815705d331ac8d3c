package web

import (
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/signin"
)

// everyPage returns requests that render every template and the error
// pages, each with a fresh service.
func everyPage() map[string]func() (*fakeService, *http.Request) {
	fresh := func(r *http.Request) func() (*fakeService, *http.Request) {
		return func() (*fakeService, *http.Request) { return newFake(), r }
	}
	return map[string]func() (*fakeService, *http.Request){
		"challenge": func() (*fakeService, *http.Request) {
			return newFake(), withChallenge(get("/jellyfin/jellyguard/challenge"), "c1")
		},
		"challenge gone": fresh(get("/jellyfin/jellyguard/challenge")),
		"challenge bad code": func() (*fakeService, *http.Request) {
			return newFake(), withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=000000"), "c1")
		},
		"handoff": func() (*fakeService, *http.Request) {
			return newFake(), withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456"), "c1")
		},
		"login":       fresh(get("/jellyfin/jellyguard/login")),
		"login error": fresh(postForm("/jellyfin/jellyguard/login", "username=alice&password=wrong")),
		"setup":       fresh(get("/jellyfin/jellyguard/setup")),
		"not found":   fresh(get("/jellyfin/jellyguard/nothing")),
		"bad method":  fresh(postForm("/jellyfin/jellyguard/setup", "")),
		"internal error": func() (*fakeService, *http.Request) {
			f := newFake()
			f.failWith = errors.New("database down")
			return f, withChallenge(get("/jellyfin/jellyguard/challenge"), "c1")
		},
		"cross origin": func() (*fakeService, *http.Request) {
			r := postForm("/jellyfin/jellyguard/login", "username=alice")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return newFake(), r
		},
	}
}

func TestEveryPageHasSecurityHeaders(t *testing.T) {
	for name, mk := range everyPage() {
		t.Run(name, func(t *testing.T) {
			svc, r := mk()
			w := do(t, svc, r)
			h := w.Header()
			if got := h.Get("Content-Security-Policy"); got != contentSecurityPolicy {
				t.Errorf("CSP = %q", got)
			}
			if got := h.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q", got)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if got := h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
}

var (
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	styleAttr    = regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	styleTag     = regexp.MustCompile(`(?i)<style\b`)
	handlerAttr  = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURL        = regexp.MustCompile(`(?i)javascript:`)
	srcAttribute = regexp.MustCompile(`(?i)\ssrc\s*=\s*"[^"]+"`)
)

// checkNoInline fails when html has anything the CSP would block: inline
// scripts, style attributes or elements, event handler attributes.
func checkNoInline(t *testing.T, html string) {
	t.Helper()
	for _, m := range scriptTag.FindAllStringSubmatch(html, -1) {
		if !srcAttribute.MatchString(m[1]) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %s", m[0])
		}
	}
	for _, re := range []*regexp.Regexp{styleAttr, styleTag, handlerAttr, jsURL} {
		if m := re.FindString(html); m != "" {
			t.Errorf("inline style or script (%s): %s", re, m)
		}
	}
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	for name, mk := range everyPage() {
		t.Run(name, func(t *testing.T) {
			svc, r := mk()
			w := do(t, svc, r)
			body := w.Body.String()
			if !strings.Contains(body, "<html") {
				t.Fatalf("not a page: %.200s", body)
			}
			checkNoInline(t, body)
		})
	}
	// The templates themselves, including parts no request above reaches.
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		t.Run("template "+e.Name(), func(t *testing.T) { checkNoInline(t, string(b)) })
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	tests := []struct {
		name, path, body, site string
	}{
		{"challenge", "/jellyfin/jellyguard/challenge", "code=123456", "cross-site"},
		{"login", "/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456", "cross-site"},
		{"api", "/jellyfin/jellyguard/api/totp/disable", `{"code":"123456"}`, "cross-site"},
		{"same site is not same origin", "/jellyfin/jellyguard/challenge", "code=123456", "same-site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			r := withChallenge(postForm(tt.path, tt.body), "c1")
			r.Header.Set("Authorization", `MediaBrowser Token="`+goodToken+`"`)
			r.Header.Set("Sec-Fetch-Site", tt.site)
			r.Header.Set("Origin", "https://evil.example")
			w := do(t, svc, r)
			if w.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", w.Code)
			}
			if len(svc.calls) != 0 {
				t.Errorf("service called: %v", svc.calls)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("cookies set: %v", w.Result().Cookies())
			}
		})
	}

	t.Run("origin header without fetch metadata", func(t *testing.T) {
		svc := newFake()
		r := withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456"), "c1")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set("Origin", "https://evil.example")
		if w := do(t, svc, r); w.Code != http.StatusForbidden {
			t.Fatalf("status %d, want 403", w.Code)
		}
	})
}

func TestChallengeIDFromCookieOnly(t *testing.T) {
	t.Run("query is ignored", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, get("/jellyfin/jellyguard/challenge?id=c1&challenge=c1"))
		if w.Code != http.StatusGone {
			t.Fatalf("status %d, want 410", w.Code)
		}
		if svc.called("Challenge") {
			t.Error("service asked about a challenge the browser has no cookie for")
		}
		if !strings.Contains(w.Body.String(), `href="/jellyfin/web/"`) {
			t.Error("no link back to jellyfin-web")
		}
	})
	t.Run("cookie wins over query", func(t *testing.T) {
		svc := newFake()
		svc.challenges["c2"] = &ChallengeInfo{UserName: "mallory", AttemptsLeft: 3}
		w := do(t, svc, withChallenge(get("/jellyfin/jellyguard/challenge?id=c2"), "c1"))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		if svc.gotID != "c1" {
			t.Errorf("service got challenge %q, want c1 from the cookie", svc.gotID)
		}
		body := w.Body.String()
		if !strings.Contains(body, "alice") || strings.Contains(body, "mallory") {
			t.Error("page is not for the cookie's challenge")
		}
	})
	t.Run("posted id is ignored", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, postForm("/jellyfin/jellyguard/challenge?id=c1", "id=c1&code=123456"))
		if w.Code != http.StatusGone || svc.called("SignIn") {
			t.Fatalf("status %d, calls %v", w.Code, svc.calls)
		}
	})
}

func TestChallengePage(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(get("/jellyfin/jellyguard/challenge"), "c1"))
	body := w.Body.String()
	for _, want := range []string{
		"Two-step verification", "<strong>alice</strong>", `inputmode="numeric"`, `autocomplete="one-time-code"`,
		"Trust this browser for 30 days", "3 attempts left", "expires in 5 minutes",
		`action="/jellyfin/jellyguard/challenge"`, `href="/jellyfin/web/"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestChallengeSuccessHandsOff(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=+123+456+&remember=1"), "c1"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	body := w.Body.String()
	for _, want := range []string{
		`id="handoff"`, `data-token="tok-abc"`, `data-server-id="srv1"`, `data-user-id="u1"`,
		`data-device-id="dev-1"`, `data-address="https://media.example.com/jellyfin"`, `data-target="/jellyfin/web/"`,
		"/jellyfin/jellyguard/static/handoff.", "<noscript>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("hand-off lacks %q", want)
		}
	}
	if a := svc.gotAttempt; a.Door != signin.DoorChallenge || a.ChallengeID != "c1" || a.Code != goodCode ||
		a.UserName != "" || a.Password != "" {
		t.Errorf("attempt %+v", a)
	}
	if !svc.gotRemember {
		t.Error("remember was not passed on")
	}
	if svc.gotClient.IP.String() != "192.0.2.10" || !svc.gotClient.HTTPS || svc.gotClient.UserAgent == "" {
		t.Errorf("client = %+v", svc.gotClient)
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		cookies[c.Name] = c
	}
	// The outcome's cookies go on the hand-off: the trust cookie and the
	// flow's clearing of the challenge cookie.
	if c := cookies["jg_trust"]; c == nil || c.Value != "t1" {
		t.Errorf("release cookie not set: %v", w.Header()["Set-Cookie"])
	}
	c := cookies[DefaultChallengeCookie]
	if c == nil || c.MaxAge >= 0 || c.Path != "/jellyfin/jellyguard/" || !c.Secure || !c.HttpOnly {
		t.Errorf("challenge cookie not cleared: %+v", c)
	}
	if n := len(w.Header()["Set-Cookie"]); n != len(svc.gotOutcome.Cookies) {
		t.Errorf("%d cookies set, the outcome has %d", n, len(svc.gotOutcome.Cookies))
	}
}

func TestChallengeWrongCode(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=000000&remember=1"), "c1"))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{"didn&#39;t work", "2 attempts left", `value="1" checked`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "tok-abc") {
		t.Error("token leaked")
	}

	// One attempt left, then the service gives up.
	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=000000"), "c1"))
	if !strings.Contains(w.Body.String(), "1 attempt left") {
		t.Error("no singular attempt count")
	}
	// The last one ends the sign-in: the page says so, offers no form,
	// and the challenge cookie goes.
	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=000000"), "c1"))
	body = w.Body.String()
	if w.Code != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong codes") ||
		!strings.Contains(body, "sign in again") || strings.Contains(body, `name="code"`) {
		t.Errorf("status %d after the last attempt: %s", w.Code, body)
	}
	if !strings.Contains(w.Header().Get("Set-Cookie"), DefaultChallengeCookie+"=;") {
		t.Error("the burned challenge's cookie was not cleared")
	}
}

// TestChallengeThrottledShowsTheChallengeStillOpen: an answer held back
// for too many codes tried is not the end of the sign-in. The page shows
// the form again with what happened and the attempts really left, never
// "too many attempts" beside a count that says otherwise.
func TestChallengeThrottledShowsTheChallengeStillOpen(t *testing.T) {
	svc := newFake()
	svc.throttled = true
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456&mode=recovery"), "c1"))
	body := w.Body.String()
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	for _, want := range []string{"Too many codes were tried", "Wait a minute", "2 attempts left", `name="code"`,
		`value="recovery"`, ">Recovery code<"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q: %s", want, body)
		}
	}
	if strings.Contains(w.Header().Get("Set-Cookie"), DefaultChallengeCookie+"=;") {
		t.Error("the open challenge's cookie was cleared")
	}
	if svc.gotOutcome.Refusal != signin.RefuseThrottled {
		t.Errorf("outcome %+v", svc.gotOutcome)
	}
}

// TestChallengeRecoveryMode: in recovery-code mode the form asks for a
// recovery code in every word, takes letters, and a wrong code brings the
// same mode back, with the way back to the authenticator app's code.
func TestChallengeRecoveryMode(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=AAAAA-BBBBB&mode=recovery"), "c1"))
	body := w.Body.String()
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d", w.Code)
	}
	for _, want := range []string{`name="mode" id="mode" value="recovery"`, ">Recovery code<", `inputmode="text"`,
		"Type one of the recovery codes", ">Use the code from your authenticator app instead<", "2 attempts left"} {
		if !strings.Contains(body, want) {
			t.Errorf("recovery mode lacks %q", want)
		}
	}
	for _, wrong := range []string{">Type the 6-digit", `inputmode="numeric"`, ">Code from your authenticator app<"} {
		if strings.Contains(body, wrong) {
			t.Errorf("recovery mode still says %q", wrong)
		}
	}

	// The authenticator app's mode is the default and says so.
	w = do(t, svc, withChallenge(get("/jellyfin/jellyguard/challenge"), "c1"))
	body = w.Body.String()
	for _, want := range []string{`value="app"`, ">Code from your authenticator app<", ">Type the 6-digit", "Use a recovery code<"} {
		if !strings.Contains(body, want) {
			t.Errorf("app mode lacks %q", want)
		}
	}
	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=&mode=recovery"), "c1"))
	if !strings.Contains(w.Body.String(), "Enter one of your recovery codes.") {
		t.Error("an empty recovery code is asked for as a recovery code")
	}
}

// TestGraceSignInHandsOffToSetup: a sign-in released on the grace period
// lands on Setup, which says what to do before the grace period runs out.
func TestGraceSignInHandsOffToSetup(t *testing.T) {
	svc := newFake()
	svc.signIn = func(Attempt) (Outcome, error) {
		return Outcome{Action: signin.Release, Session: releasedSession(), Factors: []string{signin.FactorGrace}}, nil
	}
	w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret"))
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, `data-target="/jellyfin/jellyguard/setup"`) {
		t.Fatalf("grace sign-in: %d %s", w.Code, body)
	}
	svc.signIn = func(Attempt) (Outcome, error) {
		return Outcome{Action: signin.Release, Session: releasedSession(), Factors: []string{signin.FactorTOTP}}, nil
	}
	w = do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456"))
	if body := w.Body.String(); !strings.Contains(body, `data-target="/jellyfin/web/"`) {
		t.Fatalf("verified sign-in does not go to Jellyfin: %s", body)
	}
}

func TestChallengeEmptyCode(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=+"), "c1"))
	if w.Code != http.StatusBadRequest || svc.called("SignIn") {
		t.Fatalf("status %d, calls %v", w.Code, svc.calls)
	}
}

func TestChallengeExpiredAndThrottled(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(get("/jellyfin/jellyguard/challenge"), "gone"))
	if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired: status %d", w.Code)
	}
	if !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Error("expired challenge cookie not cleared")
	}

	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456"), "gone"))
	if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "expired") || svc.gotOutcome.Refusal != signin.RefuseExpired {
		t.Errorf("expired answer: status %d, outcome %+v", w.Code, svc.gotOutcome)
	}
	if !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Error("expired challenge cookie not cleared after an answer")
	}

	svc.throttled = true
	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456"), "c1"))
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), `href="/jellyfin/web/"`) ||
		!strings.Contains(w.Body.String(), "2 attempts left") {
		t.Errorf("throttled: status %d", w.Code)
	}
	if svc.gotOutcome.Refusal != signin.RefuseThrottled {
		t.Errorf("outcome %+v", svc.gotOutcome)
	}
}

// TestChallengeOutcomes checks how the challenge page answers each outcome
// of the flow.
func TestChallengeOutcomes(t *testing.T) {
	const (
		again   = "didn&#39;t work"
		burned  = "Too many wrong codes"
		held    = "Too many codes were tried"
		expired = "This sign-in has expired"
	)
	badCode := func(left int) Outcome {
		return Outcome{Action: signin.Refuse, Refusal: signin.RefuseBadCode, AttemptsLeft: left}
	}
	tests := []struct {
		name    string
		out     Outcome
		err     error
		status  int
		want    string
		cleared bool // the challenge cookie is cleared
	}{
		{"released", Outcome{Action: signin.Release, Session: releasedSession()}, nil, http.StatusOK, `data-token="tok-abc"`, false},
		{"bad code, attempts left", badCode(2), nil, http.StatusBadRequest, again, false},
		{"bad code, none left", badCode(0), nil, http.StatusTooManyRequests, burned, true},
		{"throttled, none left", refused(signin.RefuseThrottled), nil, http.StatusTooManyRequests, burned, true},
		{"expired", refused(signin.RefuseExpired), nil, http.StatusGone, expired, true},
		{"address refused", refused(signin.RefuseAddress), nil, http.StatusGone, expired, true},
		{"outside the user's networks", refused(signin.RefuseNetwork), nil, http.StatusGone, expired, true},
		{"throttled with attempts left", Outcome{Action: signin.Refuse, Refusal: signin.RefuseThrottled, AttemptsLeft: 2},
			nil, http.StatusTooManyRequests, held, false},
		{"failure", Outcome{}, errors.New("database down"), http.StatusInternalServerError, "Something went wrong", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			svc.signIn = func(Attempt) (Outcome, error) { return tt.out, tt.err }
			w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456"), "c1"))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %.300s", w.Code, tt.status, w.Body)
			}
			body := w.Body.String()
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q: %.300s", tt.want, body)
			}
			if tt.status != http.StatusOK && strings.Contains(body, "tok-abc") {
				t.Error("token leaked")
			}
			cleared := strings.Contains(w.Header().Get("Set-Cookie"), DefaultChallengeCookie+"=;")
			if cleared != tt.cleared {
				t.Errorf("challenge cookie cleared: %v, want %v (%q)", cleared, tt.cleared, w.Header()["Set-Cookie"])
			}
		})
	}
}

func TestLogin(t *testing.T) {
	t.Run("page", func(t *testing.T) {
		body := do(t, newFake(), get("/jellyfin/jellyguard/login")).Body.String()
		for _, want := range []string{
			`name="username"`, `name="password"`, `autocomplete="one-time-code"`, `inputmode="numeric"`,
			"Leave empty if your account has no two-step verification", `name="device_id"`, `name="remember"`,
			"/jellyfin/jellyguard/static/login.",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
	t.Run("code missing", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&remember=1"))
		body := w.Body.String()
		if w.Code != http.StatusUnauthorized || !strings.Contains(body, loginFailed) {
			t.Fatalf("status %d: %.300s", w.Code, body)
		}
		if svc.gotOutcome.Refusal != signin.RefuseFactorNeeded {
			t.Fatalf("the fake refused for %v", svc.gotOutcome.Refusal)
		}
		// Asking for the code again would tell that the password was right.
		if strings.Contains(body, "with the code") || strings.Contains(body, `aria-describedby="code-hint" autofocus`) {
			t.Error("the page tells that only the code was missing")
		}
		if !strings.Contains(body, `value="alice"`) || strings.Contains(body, "secret") {
			t.Error("username should be kept and the password not")
		}
		if !strings.Contains(body, `value="1" checked`) {
			t.Error("remember not kept")
		}
	})
	t.Run("no username", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=+&password=secret"))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Enter your username.") {
			t.Fatalf("status %d", w.Code)
		}
		if svc.called("SignIn") {
			t.Error("signed in without a username")
		}
	})
	t.Run("success", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, postForm("/jellyfin/jellyguard/login",
			"username=+alice+&password=secret&code=123+456&remember=1&device_id=abc1"))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-token="tok-abc"`) {
			t.Fatalf("status %d", w.Code)
		}
		if w.Header().Get("Cache-Control") != "no-store" || len(w.Result().Cookies()) == 0 {
			t.Error("hand-off not protected or cookies missing")
		}
		a := svc.gotAttempt
		if a.Door != signin.DoorPage || a.UserName != "alice" || a.Password != "secret" || a.Code != goodCode ||
			!a.Remember || a.ChallengeID != "" {
			t.Errorf("attempt %+v", a)
		}
		// The page's sessions carry jellyfin-web's name, so the hand-off
		// into /web/ lines up.
		c := a.Client
		if c.DeviceID != "abc1" || c.App != "Jellyfin Web" || c.DeviceName != "Firefox" ||
			c.Version != jellyfin.Version || c.Web || c.IP.String() != "192.0.2.10" || !c.HTTPS {
			t.Errorf("client %+v", c)
		}
	})
	t.Run("password as typed", func(t *testing.T) {
		svc := newFake()
		do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=+se+cret%3B1+&code="))
		if got := svc.gotAttempt.Password; got != " se cret;1 " {
			t.Errorf("password %q, want it as typed", got)
		}
	})
	t.Run("device id", func(t *testing.T) {
		for name, form := range map[string]string{
			"missing":  "",
			"blank":    "&device_id=+++",
			"too long": "&device_id=" + strings.Repeat("a", 201),
		} {
			svc := newFake()
			w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456"+form))
			if w.Code != http.StatusOK {
				t.Fatalf("%s: status %d", name, w.Code)
			}
			id := svc.gotClient.DeviceID
			if id == "" || len(id) > 200 || strings.TrimSpace(id) != id {
				t.Errorf("%s: device id %q", name, id)
			}
		}
		longest := strings.Repeat("b", 200)
		svc := newFake()
		do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456&device_id="+longest))
		if svc.gotClient.DeviceID != longest {
			t.Errorf("a 200-character device id was replaced by %q", svc.gotClient.DeviceID)
		}
	})
	t.Run("hand-off device id", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456&device_id=abc1"))
		if !strings.Contains(w.Body.String(), `data-device-id="dev-1"`) {
			t.Error("the hand-off does not use the session's device id")
		}
		svc = newFake()
		svc.session.SessionInfo.DeviceID = ""
		w = do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456&device_id=abc1"))
		if !strings.Contains(w.Body.String(), `data-device-id="abc1"`) {
			t.Error("without a device id in the session the hand-off does not use the browser's")
		}
	})
	t.Run("failure", func(t *testing.T) {
		svc := newFake()
		svc.signIn = func(Attempt) (Outcome, error) { return Outcome{}, errors.New("jellyfin down") }
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456"))
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), loginFailed) {
			t.Fatalf("status %d", w.Code)
		}
	})
}

// loginFailed is the sign-in page's one answer to every failure.
const loginFailed = "That didn&#39;t work. Check your username, password and code, then try again."

// TestLoginFailuresLookAlike checks that the sign-in page answers every
// failure byte for byte the same: telling them apart would tell whether a
// user exists, whether a password was right, or that an address is held back.
func TestLoginFailuresLookAlike(t *testing.T) {
	const form = "username=alice&password=secret&code=000000&remember=1"
	tests := []struct {
		name    string
		form    string
		setup   func(*fakeService)
		refusal signin.Refusal
	}{
		{"wrong password", "username=alice&password=nope&code=123456&remember=1", nil, signin.RefuseCredentials},
		{"unknown user", "username=alice&password=secret&code=123456&remember=1",
			func(f *fakeService) { delete(f.users, "alice") }, signin.RefuseCredentials},
		{"missing code", "username=alice&password=secret&code=&remember=1", nil, signin.RefuseFactorNeeded},
		{"wrong code", form, nil, signin.RefuseBadCode},
		{"throttled", "username=alice&password=secret&code=123456&remember=1",
			func(f *fakeService) { f.throttled = true }, signin.RefuseThrottled},
		{"address refused", "username=alice&password=secret&code=123456&remember=1",
			func(f *fakeService) {
				f.signIn = func(Attempt) (Outcome, error) { return refused(signin.RefuseAddress), nil }
			}, signin.RefuseAddress},
		{"device waits for approval", "username=alice&password=secret&code=123456&remember=1",
			func(f *fakeService) {
				f.signIn = func(Attempt) (Outcome, error) {
					return Outcome{Action: signin.Pending, Refusal: signin.RefuseFactorNeeded}, nil
				}
			}, signin.RefuseFactorNeeded},
	}
	var first *httptest.ResponseRecorder
	for _, tt := range tests {
		svc := newFake()
		if tt.setup != nil {
			tt.setup(svc)
		}
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", tt.form))
		if svc.gotOutcome.Released() || svc.gotOutcome.Refusal != tt.refusal {
			t.Fatalf("%s: the fake answered %+v, want refusal %v", tt.name, svc.gotOutcome, tt.refusal)
		}
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tt.name, w.Code)
		}
		body := w.Body.String()
		if !strings.Contains(body, loginFailed) {
			t.Errorf("%s: page lacks the one failure message: %.300s", tt.name, body)
		}
		if strings.Contains(body, "tok-abc") || len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: a refused sign-in handed something out", tt.name)
		}
		if first == nil {
			first = w
			continue
		}
		if w.Code != first.Code || body != first.Body.String() {
			t.Errorf("%s answers differently from %s:\n%s\n---\n%s", tt.name, tests[0].name, body, first.Body)
		}
		if !maps.EqualFunc(w.Header(), first.Header(), slices.Equal) {
			t.Errorf("%s: headers differ: %v, %v", tt.name, w.Header(), first.Header())
		}
	}
}

func TestFormBodyLimit(t *testing.T) {
	body := "code=" + strings.Repeat("1", bodyLimit)
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", body), "c1"))
	if w.Code != http.StatusRequestEntityTooLarge || svc.called("SignIn") {
		t.Fatalf("status %d, calls %v", w.Code, svc.calls)
	}
}

func TestSetupPage(t *testing.T) {
	w := do(t, newFake(), get("/jellyfin/jellyguard/setup"))
	body := w.Body.String()
	for _, want := range []string{
		`data-api="/jellyfin/jellyguard/api/"`, `data-base="/jellyfin"`, `href="/jellyfin/web/"`,
		"/jellyfin/jellyguard/static/setup.", `id="code-prompt"`, `inputmode="numeric"`, "Download as text",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		path string
		want int
	}{
		{"/jellyfin/jellyguard/login", http.StatusOK},
		{"/jellyguard/login", http.StatusOK}, // BaseUrl already cut by the gateway
		{"/JellyFin/JellyGuard/Login", http.StatusOK},
		{"/jellyfin/jellyguard/static/../login", http.StatusOK},
		{"/jellyfin/jellyguard", http.StatusSeeOther},
		{"/jellyfin/jellyguardx/login", http.StatusNotFound},
		{"/jellyfin/web/", http.StatusNotFound},
		{"/jellyfin/jellyguard/api/nothing", http.StatusNotFound},
	}
	for _, tt := range tests {
		w := do(t, newFake(), get(tt.path))
		if w.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.path, w.Code, tt.want)
		}
		if tt.want == http.StatusSeeOther && w.Header().Get("Location") != "/jellyfin/jellyguard/setup" {
			t.Errorf("%s: Location %q", tt.path, w.Header().Get("Location"))
		}
	}
}

func TestDefaultClient(t *testing.T) {
	svc := newFake()
	r := httptest.NewRequest(http.MethodPost, "http://media.example.com/jellyguard/login",
		strings.NewReader("username=alice&password=secret&code=123456"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "[2001:db8::1]:5000"
	r.Header.Set("User-Agent", "test-agent")
	w := httptest.NewRecorder()
	Handler(svc, Options{Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if svc.gotClient.IP.String() != "2001:db8::1" || svc.gotClient.HTTPS || svc.gotClient.UserAgent != "test-agent" {
		t.Errorf("client = %+v", svc.gotClient)
	}
	if !strings.Contains(w.Body.String(), `data-address="http://media.example.com"`) {
		t.Error("address without BaseUrl or over plain HTTP is wrong")
	}
}

func TestChallengeCookieFor(t *testing.T) {
	exp := time.Now().Add(10 * time.Minute)
	c := Options{BasePath: "jellyfin/"}.ChallengeCookieFor("id1", true, exp)
	if c.Name != DefaultChallengeCookie || c.Value != "id1" || c.Path != "/jellyfin/jellyguard/" ||
		!c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || !c.Expires.Equal(exp) {
		t.Errorf("cookie = %+v", c)
	}
	if got := (Options{ChallengeCookie: "x"}).ChallengeCookieFor("", false, exp).Name; got != "x" {
		t.Errorf("name = %q", got)
	}
	if got := ChallengePath("/jellyfin/"); got != "/jellyfin/jellyguard/challenge" {
		t.Errorf("ChallengePath = %q", got)
	}
	if got := SetupPath("/jellyfin/"); got != "/jellyfin/jellyguard/setup" {
		t.Errorf("SetupPath = %q", got)
	}
}

func TestExpiresIn(t *testing.T) {
	now := time.Now()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "in less than a minute"},
		{-time.Second, "in less than a minute"},
		{time.Minute, "in 1 minute"},
		{4*time.Minute + time.Second, "in 5 minutes"},
	}
	for _, tt := range tests {
		if got := expiresIn(now.Add(tt.d), now); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.d, got, tt.want)
		}
	}
	if expiresIn(time.Time{}, now) != "" {
		t.Error("zero time should say nothing")
	}
}
