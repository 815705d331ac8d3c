package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testutil"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// revokedToken signs bob in and revokes his token through the table.
func revokedToken(t *testing.T, e *testutil.Env) string {
	t.Helper()
	tok := e.MustLogin("bob", "bob-laptop")
	if _, err := e.App.Tokens.Revoke(context.Background(), tokens.HashOf(tok), "test"); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRevokedTokenIsRefusedAndLoggedOutInJellyfin(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	tok := e.MustLogin("alice", "alice-phone")
	if status, _ := e.Get("/Users/Me", tok); status != 200 {
		t.Fatalf("before revocation: %d", status)
	}
	if _, err := e.App.Tokens.Revoke(context.Background(), tokens.HashOf(tok), "test"); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.Get("/Users/Me", tok); status != 401 {
		t.Fatalf("revoked token: %d, want 401", status)
	}
	if status, _ := e.Get("/System/Info/Public?api_key="+tok, ""); status != 401 {
		t.Fatalf("revoked token in the query on an anonymous route: %d, want 401", status)
	}
	if e.Fake.TokenValid(tok) {
		t.Fatal("revoked token still valid in Jellyfin")
	}
	if got := e.Audit; got != nil {
		evs, err := got.Tail(context.Background(), 10)
		if err != nil || !hasKind(evs, "token.revoked") {
			t.Fatalf("no token.revoked audit event: %v", err)
		}
	}
}

// TestEveryCarrierIsChecked puts a revoked token in each place Jellyfin
// reads one, beside a good token in the Authorization header.
func TestEveryCarrierIsChecked(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	good := e.MustLogin("alice", "alice-phone")
	bad := revokedToken(t, e)
	goodHeader := fmt.Sprintf(`MediaBrowser Token="%s"`, good)
	cases := map[string]func(r *http.Request){
		"query ApiKey":         func(r *http.Request) { r.URL.RawQuery = "ApiKey=" + bad },
		"query apikey":         func(r *http.Request) { r.URL.RawQuery = "apikey=" + bad },
		"query api_key":        func(r *http.Request) { r.URL.RawQuery = "api_key=" + bad },
		"repeated ApiKey":      func(r *http.Request) { r.URL.RawQuery = "ApiKey=" + good + "&ApiKey=" + bad },
		"encoded whole query":  func(r *http.Request) { r.URL.RawQuery = "api_key%3D" + bad },
		"X-Emby-Token":         func(r *http.Request) { r.Header.Set("X-Emby-Token", bad) },
		"X-MediaBrowser-Token": func(r *http.Request) { r.Header.Set("X-MediaBrowser-Token", bad) },
		"X-Emby-Authorization": func(r *http.Request) {
			r.Header.Set("X-Emby-Authorization", fmt.Sprintf(`MediaBrowser Token="%s"`, bad))
		},
		"second Authorization value": func(r *http.Request) {
			r.Header.Add("Authorization", fmt.Sprintf(`MediaBrowser Token="%s"`, bad))
		},
		"Emby scheme": func(r *http.Request) {
			r.Header.Set("X-Emby-Authorization", fmt.Sprintf(`Emby Token="%s"`, bad))
		},
	}
	for name, add := range cases {
		t.Run(name, func(t *testing.T) {
			req := e.RawRequest("GET", "/Users/Me", nil)
			req.Header.Set("Authorization", goodHeader)
			add(req)
			resp := e.Do(req)
			_ = resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("status %d: the revoked token rode along", resp.StatusCode)
			}
		})
	}
	req := e.RawRequest("GET", "/Users/Me?ApiKey="+good, nil)
	req.Header.Set("Authorization", goodHeader)
	if resp := e.Do(req); resp.StatusCode != 200 {
		t.Fatalf("the same good token twice: %d", resp.StatusCode)
	}
}

// TestOnlyTheCarrierJellyfinUsesIsForwarded records what reaches the
// upstream.
func TestOnlyTheCarrierJellyfinUsesIsForwarded(t *testing.T) {
	seen := make(chan *http.Request, 4)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/Users/Me":
			_, _ = io.WriteString(w, `{"Id":"0123456789abcdef0123456789abcdef","Name":"alice"}`)
		default:
			seen <- r.Clone(context.Background())
			_, _ = io.WriteString(w, `{}`)
		}
	})
	e := testutil.Start(t, testutil.Options{Upstream: upstream, NoAPIKey: true})
	tokA, tokB := strings.Repeat("a", 32), strings.Repeat("b", 32)
	req := e.RawRequest("GET", "/Items?api_key="+tokB+"&Fields=x", nil)
	req.Header.Set("Authorization", fmt.Sprintf(`MediaBrowser Client="c", Token="%s"`, tokA))
	req.Header.Set("X-Emby-Token", tokB)
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	resp := e.Do(req)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := <-seen
	if got.Header.Get("X-Emby-Token") != "" || strings.Contains(got.URL.RawQuery, tokB) {
		t.Fatalf("unused carriers forwarded: header %q query %q", got.Header.Get("X-Emby-Token"), got.URL.RawQuery)
	}
	if !strings.Contains(got.Header.Get("Authorization"), tokA) || got.URL.RawQuery != "Fields=x" {
		t.Fatalf("forwarded Authorization %q query %q", got.Header.Get("Authorization"), got.URL.RawQuery)
	}
	if xff := got.Header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "127.0.0.1" {
		t.Fatalf("X-Forwarded-For from an untrusted client was kept: %q", xff)
	}
	if got.Header.Get("X-Forwarded-Proto") != "http" || got.Header.Get("X-Forwarded-Host") == "" {
		t.Fatalf("forwarded proto/host: %q %q", got.Header.Get("X-Forwarded-Proto"), got.Header.Get("X-Forwarded-Host"))
	}
}

func TestUnknownTokensAreResolvedOnceAndCached(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	// A token made by reaching Jellyfin directly, behind the gateway's back.
	direct := loginDirect(t, e, "alice")
	before := e.Fake.Requests("/users/me")
	for range 5 {
		if status, _ := e.Get("/System/Info", direct); status != 200 {
			t.Fatalf("adopted token: %d", status)
		}
	}
	if n := e.Fake.Requests("/users/me") - before; n != 1 {
		t.Fatalf("resolved %d times, want once", n)
	}
	st, err := e.Store.Token(context.Background(), tokens.HashOf(direct))
	if err != nil || st.Source != "resolved" || st.UserName != "alice" {
		t.Fatalf("adopted token recorded as %+v, %v", st, err)
	}
	// A random token: Jellyfin says no once, the negative cache remembers.
	random := strings.Repeat("9", 32)
	before = e.Fake.Requests("/users/me")
	for range 5 {
		if status, _ := e.Get("/System/Info", random); status != 401 {
			t.Fatalf("unknown token: %d", status)
		}
	}
	if n := e.Fake.Requests("/users/me") - before; n != 1 {
		t.Fatalf("negative cache: resolved %d times", n)
	}
	// API keys pass; the gateway's own key never does.
	key := e.Fake.AddAPIKey("sonarr")
	if status, _ := e.Get("/System/Info", key); status != 200 {
		t.Fatalf("API key: %d", status)
	}
	if status, _ := e.Get("/System/Info", e.APIKey); status != 401 {
		t.Fatalf("the gateway's own key from a client: %d, want 401", status)
	}
}

func TestUnknownTokenResolutionIsLimitedPerAddress(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) { c.Tokens.ResolvePerMinute = 3 }})
	statuses := make([]int, 0, 6)
	for i := range 6 {
		status, _ := e.Get("/System/Info", fmt.Sprintf("%032x", i+1))
		statuses = append(statuses, status)
	}
	if e.Fake.Requests("/users/me") != 3 {
		t.Fatalf("Jellyfin asked %d times, want 3 (statuses %v)", e.Fake.Requests("/users/me"), statuses)
	}
	for _, s := range statuses {
		if s != 401 {
			t.Fatalf("statuses %v", statuses)
		}
	}
}

func TestStrictRefusesTokensTheGatewayNeverReleased(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) { c.Tokens.Strict = true }})
	direct := loginDirect(t, e, "alice")
	if status, _ := e.Get("/System/Info", direct); status != 401 {
		t.Fatalf("strict: foreign token got %d", status)
	}
	own := e.MustLogin("alice", "alice-phone")
	if status, _ := e.Get("/System/Info", own); status != 200 {
		t.Fatalf("strict: released token got %d", status)
	}
	key := e.Fake.AddAPIKey("sonarr")
	if status, _ := e.Get("/System/Info", key); status != 200 {
		t.Fatalf("strict: API key got %d", status)
	}
}

func TestAPIKeyCannotAuthorizeQuickConnect(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	key := e.Fake.AddAPIKey("sonarr")
	admin, _ := e.Fake.User("admin")
	init := e.RawRequest("POST", "/QuickConnect/Initiate", nil)
	init.Header.Set("Authorization", testutil.AuthHeader("attacker-device", ""))
	var qc struct{ Secret, Code string }
	decodeJSON(t, e.Do(init), &qc)
	for _, path := range []string{"/QuickConnect/Authorize", "/emby/quickconnect/authorize", "/web/%2e%2e/QuickConnect/Authorize/"} {
		req := e.RawRequest("POST", path+"?code="+qc.Code+"&userId="+admin.ID, nil)
		req.Header.Set("X-Emby-Token", key)
		resp := e.Do(req)
		_ = resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("%s with an API key: %d, want 403", path, resp.StatusCode)
		}
	}
	redeem := e.RawRequest("POST", "/Users/AuthenticateWithQuickConnect", strings.NewReader(`{"Secret":"`+qc.Secret+`"}`))
	redeem.Header.Set("Content-Type", "application/json")
	resp := e.Do(redeem)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode == 200 || strings.Contains(string(body), "AccessToken") {
		t.Fatalf("the code was authorised anyway: %d %s", resp.StatusCode, body)
	}
}

// loginDirect signs in at the emulator itself, bypassing the gateway.
func loginDirect(t *testing.T, e *testutil.Env, user string) string {
	t.Helper()
	req := e.RawFakeRequest("POST", "/Users/AuthenticateByName",
		strings.NewReader(fmt.Sprintf(`{"Username":%q,"Pw":%q}`, user, e.Passwords[user])))
	req.Header.Set("Authorization", testutil.AuthHeader("direct-"+user, ""))
	req.Header.Set("Content-Type", "application/json")
	return decodeToken(t, e.Do(req))
}

func hasKind(evs []auditEvent, kind store.AuditKind) bool {
	for _, ev := range evs {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}
