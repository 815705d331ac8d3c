package fake

import (
	"regexp"
	"strings"
	"testing"
)

// TestWebStandInSignOut: the stand-in page has a "Sign out" link, hidden
// until someone is signed in, outside the status line the browser tests
// read; its script ends the session the way jellyfin-web's user menu does:
// POST /Sessions/Logout with the token, then the token and user id leave
// the server's entry in localStorage and the login form shows, also when
// the server did not answer.
func TestWebStandInSignOut(t *testing.T) {
	e := newEnv(t, Options{})
	html := string(e.raw("GET", "/web/", nil, "").body)
	link := regexp.MustCompile(`<a id="signOut" href="index.html" hidden>Sign out</a>`)
	if !link.MatchString(html) {
		t.Fatalf("index.html has no hidden sign-out link:\n%s", html)
	}
	if status := regexp.MustCompile(`<p id="status"[^>]*>[^<]*</p>`).FindString(html); status == "" || strings.Contains(status, "signOut") {
		t.Errorf("the sign-out link must sit outside #status: %q", status)
	}

	js := string(e.raw("GET", "/web/standin.js", nil, "").body)
	for _, want := range []string{
		"$('signOut').hidden = false;",                                 // shown when signed in
		"$('signOut').hidden = true;",                                  // hidden with the login form
		"$('signOut').addEventListener('click'",                        // wired up
		"ev.preventDefault();\n          signOut(info);",               // no navigation
		"request('POST', '/Sessions/Logout', token).then(done, done);", // the server first, forget either way
		"delete entry.AccessToken;\n      delete entry.UserId;",        // what the app forgets
		"setState('signing-out');",
	} {
		if !strings.Contains(js, want) {
			t.Errorf("standin.js lacks %q", want)
		}
	}

	// The request the link sends ends the session at the emulator.
	e.s.AddUser("alice", "pw", false)
	token := e.login("alice", "pw", "dev-signout")
	if r := e.do("POST", "/Sessions/Logout", tokenHeader(token), ""); r.status != 204 {
		t.Fatalf("POST /Sessions/Logout: %d", r.status)
	}
	if e.s.TokenValid(token) {
		t.Error("the token is still valid after POST /Sessions/Logout")
	}
}
