package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/testutil"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// TestLoginPathVariantsAreInterceptedAndRecorded sends a login to every
// spelling of the login routes. The emulator routes with its own
// Kestrel-like router, so where it answers 200 the gateway must have
// intercepted and recorded the token; where it does not route the path, no
// token may come back at all.
func TestLoginPathVariantsAreInterceptedAndRecorded(t *testing.T) {
	cases := []struct {
		path   string
		base   string
		routed bool // Jellyfin routes this to the login endpoint
	}{
		{"/Users/AuthenticateByName", "", true},
		{"/users/authenticatebyname", "", true},
		{"/USERS/AUTHENTICATEBYNAME", "", true},
		{"/emby/Users/AuthenticateByName", "", true},
		{"/EMBY/users/authenticatebyname", "", true},
		{"/MediaBrowser/USERS/AuthenticateByName/", "", true},
		{"/web/%2e%2e/Users/AuthenticateByName", "", true},
		{"/web/%2E%2E/Users/AuthenticateByName", "", true},
		{"/web/../Users/AuthenticateByName", "", true},
		{"/x/y/../../Users/AuthenticateByName", "", true},
		{"/Users/./AuthenticateByName", "", true},
		{"/%55sers/AuthenticateByName", "", true},
		{"/Users/Authenticate%42y%4Eame", "", true},
		{"/emby/web/%2e%2e/Users/AuthenticateByName", "", true},
		{"/Users/AuthenticateByName?format=json", "", true},
		// Jellyfin cuts /emby as text and decodes the rest a second time.
		{"/emby/Users/AuthenticateByNam%2565", "", true},
		{"/emby/%2555sers/AuthenticateByName", "", true},
		{"/mediabrowser/users/authenticatebyname%252f", "", false},
		{"/x%2Fy/../Users/AuthenticateByName", "", true},
		{"//Users/AuthenticateByName", "", false},
		{"/Users//AuthenticateByName", "", false},
		{"/Users%2FAuthenticateByName", "", false},
		{"/emby/emby/Users/AuthenticateByName", "", false},
		{"/%252e%252e/Users/AuthenticateByName", "", false},
		{"/jellyfin/Users/AuthenticateByName", "/jellyfin", true},
		{"/JellyFin/emby/users/authenticatebyname", "/jellyfin", true},
		{"/jellyfin/web/%2e%2e/Users/AuthenticateByName", "/jellyfin", true},
		{"/Users/AuthenticateByName", "/jellyfin", false},
		{"/jellyfin/%2e%2e/Users/AuthenticateByName", "/jellyfin", false},
	}
	envs := map[string]*testutil.Env{}
	for _, base := range []string{"", "/jellyfin"} {
		base := base
		e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) { c.BaseURL = base }})
		if base != "" {
			e.Fake.UpdateNetwork(func(n *fakeNetwork) { n.BaseURL = base })
		}
		envs[base] = e
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s%s", c.base, c.path), func(t *testing.T) {
			e := envs[c.base]
			status, token, resp := e.Login(c.path, "bob", e.Passwords["bob"], fmt.Sprintf("variant-%d", i))
			if c.routed != (status == http.StatusOK) {
				t.Fatalf("status %d, want routed=%v", status, c.routed)
			}
			if !c.routed {
				body, _ := io.ReadAll(resp.Body)
				if strings.Contains(strings.ToLower(string(body)), "accesstoken") {
					t.Fatalf("unrouted variant returned a token: %s", body)
				}
				return
			}
			if resp.Header.Get("X-Response-Time-ms") != "" {
				t.Errorf("login answer kept X-Response-Time-ms")
			}
			st, err := e.Store.Token(context.Background(), tokens.HashOf(token))
			if err != nil {
				t.Fatalf("token released through %s not recorded: %v", c.path, err)
			}
			if st.UserName != "bob" || st.Source != "login" || st.IP != "127.0.0.1" || len(st.Sealed) == 0 {
				t.Fatalf("recorded %+v", st)
			}
		})
	}
}

func TestLegacyAndQuickConnectLoginsAreRecorded(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	bob, _ := e.Fake.User("bob")
	req := e.RawRequest("POST", "/Users/"+bob.ID+"/Authenticate?pw="+e.Passwords["bob"], nil)
	req.Header.Set("Authorization", testutil.AuthHeader("legacy-dev", ""))
	resp := e.Do(req)
	tok := decodeToken(t, resp)
	if resp.StatusCode != 200 || tok == "" {
		t.Fatalf("legacy login: %d", resp.StatusCode)
	}
	if st, err := e.Store.Token(context.Background(), tokens.HashOf(tok)); err != nil || st.Source != "legacy-login" {
		t.Fatalf("legacy token: %+v %v", st, err)
	}

	// Quick Connect: a TV initiates, alice authorises it with her token,
	// the TV redeems its secret.
	alice := e.MustLogin("alice", "alice-phone")
	init := e.RawRequest("POST", "/QuickConnect/Initiate", nil)
	init.Header.Set("Authorization", testutil.AuthHeader("living-room-tv", ""))
	var qc struct{ Secret, Code string }
	decodeJSON(t, e.Do(init), &qc)
	auth := e.RawRequest("POST", "/QuickConnect/Authorize?code="+qc.Code, nil)
	auth.Header.Set("Authorization", testutil.AuthHeader("alice-phone", alice))
	if r := e.Do(auth); r.StatusCode != 200 {
		t.Fatalf("authorize: %d", r.StatusCode)
	}
	redeem := e.RawRequest("POST", "/Users/AuthenticateWithQuickConnect", strings.NewReader(`{"Secret":"`+qc.Secret+`"}`))
	redeem.Header.Set("Content-Type", "application/json")
	tvToken := decodeToken(t, e.Do(redeem))
	if st, err := e.Store.Token(context.Background(), tokens.HashOf(tvToken)); err != nil || st.Source != "quickconnect" || st.UserName != "alice" {
		t.Fatalf("quick connect token: %+v %v", st, err)
	}
}

func TestFailedLoginWritesTheDocumentedLine(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
	}})
	body := `{"Username":"alice\"\n ip=6.6.6.6","Pw":"wrong"}`
	req := e.RawRequest("POST", "/Users/AuthenticateByName", strings.NewReader(body))
	req.Header.Set("Authorization", testutil.AuthHeader("d1", ""))
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp := e.Do(req)
	_ = resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	lines := e.Logs.Lines(`msg="sign-in failed"`)
	if len(lines) != 1 {
		t.Fatalf("failure lines: %q", lines)
	}
	if !strings.HasPrefix(lines[0][strings.Index(lines[0], "level="):], `level=WARN msg="sign-in failed" ip=203.0.113.7 user="alice\"\n ip=6.6.6.6"`) {
		t.Fatalf("line: %s", lines[0])
	}
	if strings.Contains(e.Logs.String(), "wrong") {
		t.Fatal("the password reached the log")
	}
}

func TestUnreadableOrOversizedLoginBodiesAreRefused(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	for name, c := range map[string]struct {
		body string
		want int
	}{
		"not json":          {`Username=alice&Pw=x`, 400},
		"username a number": {`{"Username":5,"Pw":"x"}`, 400},
		"too large":         {`{"Username":"alice","Pw":"` + strings.Repeat("x", 70<<10) + `"}`, 413},
	} {
		req := e.RawRequest("POST", "/Users/AuthenticateByName", strings.NewReader(c.body))
		req.Header.Set("Authorization", testutil.AuthHeader("d", ""))
		resp := e.Do(req)
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, c.want)
		}
	}
	if n := e.Fake.Requests("/users/authenticatebyname"); n != 0 {
		t.Fatalf("%d refused logins reached Jellyfin", n)
	}
}

// TestLoginBodyCasingAndDuplicatesReachJellyfinAsDecided checks that what the
// gateway read is what Jellyfin reads: it forwards a body it wrote.
func TestLoginBodyCasingAndDuplicatesReachJellyfinAsDecided(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	for _, body := range []string{
		`{"username":"alice","pw":"alice-password"}`,
		`{ "Username" : "alice" , "Pw" : "alice-password" }`,
		`{"Username":"bob","Username":"alice","Pw":"alice-password"}`,
	} {
		req := e.RawRequest("POST", "/Users/AuthenticateByName", strings.NewReader(body))
		req.Header.Set("Authorization", testutil.AuthHeader("casing", ""))
		tok := decodeToken(t, e.Do(req))
		st, err := e.Store.Token(context.Background(), tokens.HashOf(tok))
		if err != nil || st.UserName != "alice" {
			t.Fatalf("%s: recorded %+v %v", body, st, err)
		}
	}
}
