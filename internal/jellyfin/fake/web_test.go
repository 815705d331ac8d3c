package fake

import (
	"strings"
	"testing"
)

// TestWebStandInApp_Section10: /web/ is a stand-in of jellyfin-web's login
// page: it loads standin.js from <head> (before </head>, where a gateway
// injects its own script), has the form the browser tests fill, and the
// script does the app's startup and sign-in (§10.2, §10.3).
func TestWebStandInApp_Section10(t *testing.T) {
	e := newEnv(t, Options{})
	page := e.raw("GET", "/web/", nil, "")
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/web/: %d %v", page.status, page.header)
	}
	html := string(page.body)
	head, _, ok := strings.Cut(html, "</head>")
	if !ok {
		t.Fatalf("index.html has no </head>:\n%s", html)
	}
	if !strings.Contains(head, `<script src="standin.js" defer></script>`) {
		t.Errorf("<head> does not load standin.js with defer:\n%s", head)
	}
	for _, id := range []string{`id="status"`, `id="username"`, `id="password"`, `id="login"`, `id="error"`, `id="loginForm"`} {
		if !strings.Contains(html, id) {
			t.Errorf("index.html has no element with %s", id)
		}
	}
	if strings.Contains(strings.ReplaceAll(html, `<script src="standin.js" defer></script>`, ""), "<script") {
		t.Errorf("index.html has a script other than standin.js (inline scripts would need a CSP exception):\n%s", html)
	}

	js := e.raw("GET", "/web/standin.js", nil, "")
	if js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("/web/standin.js: %d %v", js.status, js.header)
	}
	if js.header.Get("ETag") == "" || js.header.Get("ETag") == page.header.Get("ETag") {
		t.Errorf("ETags: standin.js %q, index.html %q; want two different validators", js.header.Get("ETag"), page.header.Get("ETag"))
	}
	script := string(js.body)
	for _, want := range []string{
		"'jellyfin_credentials'",          // §10.2 storage key
		"'_deviceId2'",                    // device id key
		"'/System/Info/Public'",           // server id
		"'/System/Info'",                  // token check
		"'/Users/authenticatebyname'",     // §10.3 sign-in path, as the app spells it
		"credentials: 'same-origin'",      // the app's fetch option
		"'MediaBrowser '",                 // raw header
		"Client=\"' + CLIENT",             // Client first
		"'Token=\"' + token",              // Token only when there is one
		"Pw: $('password').value",         // AuthenticateUserByName body
		"'Invalid username or password.'", // 401
		"window.fetch(",                   // looked up at call time
		"localStorage.setItem('enableAutoLogin', 'true')",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("standin.js lacks %s", want)
		}
	}
	if r := e.raw("HEAD", "/web/standin.js", nil, ""); r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD /web/standin.js: %d with %d body bytes", r.status, len(r.body))
	}
	if r := e.raw("GET", "/web/StandIn.js", nil, ""); r.status != 404 {
		t.Errorf("/web/StandIn.js: %d, want 404 (names are case-sensitive)", r.status)
	}
}
