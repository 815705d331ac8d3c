package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
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
		if w.Code != http.StatusGone || svc.called("CompleteChallenge") {
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
	if c := cookies["jg_trust"]; c == nil || c.Value != "t1" {
		t.Errorf("release cookie not set: %v", w.Header()["Set-Cookie"])
	}
	c := cookies[DefaultChallengeCookie]
	if c == nil || c.MaxAge >= 0 || c.Path != "/jellyfin/jellyguard/" || !c.Secure || !c.HttpOnly {
		t.Errorf("challenge cookie not cleared: %+v", c)
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
	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=000000"), "c1"))
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "Too many attempts") {
		t.Errorf("status %d after the last attempt", w.Code)
	}
}

func TestChallengeEmptyCode(t *testing.T) {
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=+"), "c1"))
	if w.Code != http.StatusBadRequest || svc.called("CompleteChallenge") {
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

	svc.throttled = true
	w = do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", "code=123456"), "c1"))
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), `href="/jellyfin/web/"`) {
		t.Errorf("throttled: status %d", w.Code)
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
	t.Run("code required", func(t *testing.T) {
		w := do(t, newFake(), postForm("/jellyfin/jellyguard/login", "username=alice&password=secret"))
		body := w.Body.String()
		if w.Code != http.StatusUnauthorized || !strings.Contains(body, "authenticator app") {
			t.Fatalf("status %d", w.Code)
		}
		if !strings.Contains(body, `value="alice"`) || strings.Contains(body, "secret") {
			t.Error("username should be kept and the password not")
		}
	})
	t.Run("wrong password and wrong code look the same", func(t *testing.T) {
		a := do(t, newFake(), postForm("/jellyfin/jellyguard/login", "username=alice&password=nope&code=123456"))
		b := do(t, newFake(), postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=000000"))
		if a.Code != b.Code || a.Body.String() != b.Body.String() {
			t.Error("wrong password and wrong code answer differently")
		}
	})
	t.Run("success", func(t *testing.T) {
		svc := newFake()
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret&code=123456&remember=1&device_id=abc1"))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-token="tok-abc"`) {
			t.Fatalf("status %d", w.Code)
		}
		if svc.gotClient.DeviceID != "abc1" || !svc.gotRemember {
			t.Errorf("client %+v remember %v", svc.gotClient, svc.gotRemember)
		}
		if w.Header().Get("Cache-Control") != "no-store" || len(w.Result().Cookies()) == 0 {
			t.Error("hand-off not protected or cookies missing")
		}
	})
	t.Run("throttled", func(t *testing.T) {
		svc := newFake()
		svc.throttled = true
		w := do(t, svc, postForm("/jellyfin/jellyguard/login", "username=alice&password=secret"))
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("status %d", w.Code)
		}
	})
}

func TestFormBodyLimit(t *testing.T) {
	body := "code=" + strings.Repeat("1", bodyLimit)
	svc := newFake()
	w := do(t, svc, withChallenge(postForm("/jellyfin/jellyguard/challenge", body), "c1"))
	if w.Code != http.StatusRequestEntityTooLarge || svc.called("CompleteChallenge") {
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
