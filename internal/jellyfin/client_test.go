package jellyfin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

const testKey = "0123456789abcdef0123456789abcdef"

// fakeJellyfin is a scripted upstream: each handler sees the request and
// answers; seen records the last request.
type fakeJellyfin struct {
	t      *testing.T
	routes map[string]http.HandlerFunc // "METHOD /path" (path below the base)
	seen   *http.Request
}

func newFake(t *testing.T, base string, routes map[string]http.HandlerFunc) (*fakeJellyfin, *Client) {
	t.Helper()
	fj := &fakeJellyfin{t: t, routes: routes}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fj.seen = r.Clone(context.Background())
		p, ok := strings.CutPrefix(r.URL.Path, base)
		h := fj.routes[r.Method+" "+p]
		if !ok || h == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL + base + "/")
	if err != nil {
		t.Fatal(err)
	}
	return fj, NewClient(u, testKey, nil)
}

func jsonReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func TestPublicInfo(t *testing.T) {
	fj, c := newFake(t, "/jellyfin", map[string]http.HandlerFunc{
		"GET /System/Info/Public": jsonReply(200, `{"LocalAddress":"http://10.0.0.2:8096","ServerName":"Home","Version":"10.11.11",`+
			`"ProductName":"Jellyfin Server","OperatingSystem":"","Id":"f00d","StartupWizardCompleted":true}`),
	})
	got, err := c.PublicInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := PublicInfo{ServerName: "Home", Version: "10.11.11", ProductName: "Jellyfin Server", ID: "f00d", StartupWizardCompleted: true, LocalAddress: "http://10.0.0.2:8096"}
	if got != want {
		t.Errorf("PublicInfo = %+v, want %+v", got, want)
	}
	if a := fj.seen.Header.Get("Authorization"); a != "" {
		t.Errorf("PublicInfo sent credentials: %q", a)
	}
}

func TestUserForToken(t *testing.T) {
	const tok = "fedcba9876543210fedcba9876543210"
	tests := []struct {
		name    string
		reply   http.HandlerFunc
		want    Owner
		wantErr error
	}{
		{"user", jsonReply(200, `{"Name":"alice","Id":"u1","Policy":{"IsAdministrator":true}}`), Owner{"u1", "alice", true}, nil},
		{"camelCase", jsonReply(200, `{"name":"bob","id":"u2","policy":{"isAdministrator":false}}`), Owner{"u2", "bob", false}, nil},
		{"unknown token", status(401), Owner{}, ErrInvalidToken},
		{"api key", status(400), Owner{}, ErrNoUser},
		{"remote access refused", status(403), Owner{}, ErrForbidden},
		{"server error", status(500), Owner{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fj, c := newFake(t, "", map[string]http.HandlerFunc{"GET /Users/Me": tt.reply})
			got, err := c.UserForToken(context.Background(), tok, "203.0.113.7")
			switch {
			case tt.name == "server error":
				if err == nil || !strings.Contains(err.Error(), "500") {
					t.Errorf("err = %v, want a status 500 error", err)
				}
			case !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil):
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			case got != tt.want:
				t.Errorf("Owner = %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("error leaks the token: %v", err)
			}
			checkTokenOnly(t, fj.seen, tok)
		})
	}
}

// checkTokenOnly asserts that a request presented the token and nothing
// that could rewrite the token's device record.
func checkTokenOnly(t *testing.T, r *http.Request, tok string) {
	t.Helper()
	if got, want := r.Header.Get("Authorization"), `MediaBrowser Token="`+tok+`"`; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	for _, h := range []string{"X-Emby-Authorization", "X-Emby-Token", "X-MediaBrowser-Token"} {
		if r.Header.Get(h) != "" {
			t.Errorf("sent %s", h)
		}
	}
	if r.URL.RawQuery != "" {
		t.Errorf("sent a query: %q", r.URL.RawQuery)
	}
	info := ParseRequest(r.Header, r.URL.RawQuery, DefaultDialect())
	if info.Token != tok || info.Device != "" || info.Version != "" || info.Client != "" || info.DeviceID != "" {
		t.Errorf("Jellyfin would read %+v", info)
	}
}

func TestUserForTokenForwardedFor(t *testing.T) {
	fj, c := newFake(t, "", map[string]http.HandlerFunc{"GET /Users/Me": jsonReply(200, `{"Id":"u"}`)})
	if _, err := c.UserForToken(context.Background(), "t", "2001:db8::1"); err != nil {
		t.Fatal(err)
	}
	if got := fj.seen.Header.Get("X-Forwarded-For"); got != "2001:db8::1" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
	if _, err := c.UserForToken(context.Background(), "t", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := fj.seen.Header["X-Forwarded-For"]; ok {
		t.Error("X-Forwarded-For sent without a client address")
	}
	if _, err := c.UserForToken(context.Background(), " ", ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("blank token: err = %v", err)
	}
}

// TestUserForTokenAgainstEmulator checks the outcomes against the emulator
// (reference §2.4, §2.6): a user without remote access is 403 from outside
// the LAN and named from inside it; a disabled user's token is 401, as if
// Jellyfin did not know it; an API key has no user.
func TestUserForTokenAgainstEmulator(t *testing.T) {
	ctx := context.Background()
	jf := fake.New(fake.Options{})
	srv := httptest.NewServer(jf)
	t.Cleanup(srv.Close)
	jf.UpdateNetwork(func(n *fake.NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	key := jf.AddAPIKey("jellyguard")
	c := NewClient(u, key, nil)
	login := func(name string) string {
		t.Helper()
		jf.AddUser(name, "pw", false)
		res, err := c.AuthenticateByName(ctx, name, "pw", Identity{Client: "Findroid", Device: "Pixel", DeviceID: "dev-" + name, Version: "1"}, "192.168.1.20")
		if err != nil {
			t.Fatal(err)
		}
		return res.AccessToken
	}
	remy, dora := login("remy"), login("dora")
	_ = jf.UpdatePolicy("remy", func(p *fake.Policy) { p.EnableRemoteAccess = false })
	_ = jf.UpdatePolicy("dora", func(p *fake.Policy) { p.IsDisabled = true })

	if _, err := c.UserForToken(ctx, remy, "203.0.113.7"); !errors.Is(err, ErrForbidden) {
		t.Errorf("no remote access, from outside: %v; want ErrForbidden", err)
	}
	if o, err := c.UserForToken(ctx, remy, "192.168.1.20"); err != nil || o.UserName != "remy" {
		t.Errorf("no remote access, from the LAN: %+v, %v", o, err)
	}
	if _, err := c.UserForToken(ctx, dora, "203.0.113.7"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("disabled user: %v; want ErrInvalidToken", err)
	}
	if _, err := c.UserForToken(ctx, key, "203.0.113.7"); !errors.Is(err, ErrNoUser) {
		t.Errorf("API key: %v; want ErrNoUser", err)
	}
}

func TestUserForTokenEncodesToken(t *testing.T) {
	fj, c := newFake(t, "", map[string]http.HandlerFunc{"GET /Users/Me": status(401)})
	_, _ = c.UserForToken(context.Background(), `a"b, Client="x`, "")
	info := ParseRequest(fj.seen.Header, "", DefaultDialect())
	if info.Token != `a"b, Client="x` || info.Client != "" {
		t.Errorf("Jellyfin would read %+v", info)
	}
}

func TestAPIKeyHeader(t *testing.T) {
	fj, c := newFake(t, "", map[string]http.HandlerFunc{"GET /Auth/Keys": jsonReply(200, `{"Items":[]}`)})
	if _, err := c.APIKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `MediaBrowser Client="jellyguard", Device="jellyguard", DeviceId="jellyguard-gateway", Version="` + Version + `", Token="` + testKey + `"`
	if got := fj.seen.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
}

func TestAPIKeys(t *testing.T) {
	_, c := newFake(t, "", map[string]http.HandlerFunc{"GET /Auth/Keys": jsonReply(200, `{"Items":[`+
		`{"Id":0,"AccessToken":"k1","DeviceId":"","AppName":"sonarr","AppVersion":"","DeviceName":"","UserId":"00000000000000000000000000000000",`+
		`"IsActive":false,"DateCreated":"2025-01-01T12:00:00.0000000Z","DateLastActivity":"0001-01-01T00:00:00.0000000Z"},`+
		`{"AccessToken":"k2","AppName":"radarr","DateCreated":"2025-02-03T04:05:06.1234567Z"}],"TotalRecordCount":2,"StartIndex":0}`)})
	keys, err := c.APIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []APIKey{
		{"k1", "sonarr", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"k2", "radarr", time.Date(2025, 2, 3, 4, 5, 6, 123456700, time.UTC)},
	}
	if len(keys) != len(want) {
		t.Fatalf("APIKeys = %+v", keys)
	}
	for i := range want {
		if keys[i].AccessToken != want[i].AccessToken || keys[i].AppName != want[i].AppName || !keys[i].DateCreated.Equal(want[i].DateCreated) {
			t.Errorf("key %d = %+v, want %+v", i, keys[i], want[i])
		}
	}
}

func TestNoAPIKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request went out without a key")
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := NewClient(u, "", nil)
	ctx := context.Background()
	calls := map[string]func() error{
		"APIKeys":       func() error { _, err := c.APIKeys(ctx); return err },
		"NetworkConfig": func() error { _, err := c.NetworkConfig(ctx); return err },
		"Users":         func() error { _, err := c.Users(ctx); return err },
		"DeleteDevice":  func() error { return c.DeleteDevice(ctx, "d") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNoAPIKey) {
			t.Errorf("%s: err = %v, want ErrNoAPIKey", name, err)
		}
	}
}

func TestLogout(t *testing.T) {
	tests := []struct {
		name    string
		reply   http.HandlerFunc
		wantErr bool
	}{
		{"ended", status(204), false},
		{"already gone", status(401), false},
		{"refused", status(403), true},
		{"broken", status(500), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fj, c := newFake(t, "", map[string]http.HandlerFunc{"POST /Sessions/Logout": tt.reply})
			err := c.Logout(context.Background(), "tok")
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v", err)
			}
			checkTokenOnly(t, fj.seen, "tok")
		})
	}
	_, c := newFake(t, "", nil)
	if err := c.Logout(context.Background(), ""); err == nil {
		t.Error("Logout with no token succeeded")
	}
}

func TestNetworkConfig(t *testing.T) {
	_, c := newFake(t, "", map[string]http.HandlerFunc{"GET /System/Configuration/network": jsonReply(200,
		`{"BaseUrl":"/jellyfin","EnableHttps":false,"KnownProxies":["10.0.0.1"],"LocalNetworkSubnets":[],"EnableRemoteAccess":true,"InternalHttpPort":8096}`)})
	got, err := c.NetworkConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != "/jellyfin" || len(got.KnownProxies) != 1 || got.KnownProxies[0] != "10.0.0.1" || !got.EnableRemoteAccess || len(got.LocalNetworkSubnets) != 0 {
		t.Errorf("NetworkConfig = %+v", got)
	}
}

func TestUsers(t *testing.T) {
	_, c := newFake(t, "", map[string]http.HandlerFunc{"GET /Users": jsonReply(200, `[`+
		`{"Name":"alice","Id":"u1","LastLoginDate":"2025-01-01T12:00:00.0000000Z","Policy":{"IsAdministrator":true,"IsDisabled":false}},`+
		`{"Name":"bob","Id":"u2","Policy":{"IsAdministrator":false,"IsDisabled":true}}]`)})
	users, err := c.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 {
		t.Fatalf("Users = %+v", users)
	}
	if u := users[0]; u.ID != "u1" || u.Name != "alice" || !u.IsAdministrator || u.IsDisabled || !u.LastLoginDate.Equal(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("alice = %+v", u)
	}
	if u := users[1]; u.ID != "u2" || u.IsAdministrator || !u.IsDisabled || !u.LastLoginDate.IsZero() {
		t.Errorf("bob = %+v", u)
	}
}

func TestDeleteDevice(t *testing.T) {
	fj, c := newFake(t, "", map[string]http.HandlerFunc{"DELETE /Devices": func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("id") == "known id" {
			w.WriteHeader(204)
			return
		}
		w.WriteHeader(404)
	}})
	if err := c.DeleteDevice(context.Background(), "known id"); err != nil {
		t.Errorf("DeleteDevice: %v", err)
	}
	if fj.seen.URL.RawQuery != "id=known+id" {
		t.Errorf("query = %q", fj.seen.URL.RawQuery)
	}
	if err := c.DeleteDevice(context.Background(), "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown device: err = %v", err)
	}
	if err := c.DeleteDevice(context.Background(), ""); err == nil {
		t.Error("empty device id accepted")
	}
}

func TestClientErrors(t *testing.T) {
	big := strings.Repeat("x", maxBody+1)
	_, c := newFake(t, "", map[string]http.HandlerFunc{
		"GET /System/Info/Public": jsonReply(200, `"`+big+`"`),
		"GET /Users":              jsonReply(200, `{not json`),
		"GET /Auth/Keys": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
		},
	})
	ctx := context.Background()
	if _, err := c.PublicInfo(ctx); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("oversized body: err = %v", err)
	}
	if _, err := c.Users(ctx); err == nil || !strings.Contains(err.Error(), "GET /Users") {
		t.Errorf("bad JSON: err = %v", err)
	}
	_, err := c.APIKeys(ctx)
	if err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("redirect: err = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the key: %v", err)
	}
}

func TestClientTransportError(t *testing.T) {
	u, _ := url.Parse("http://user:secret@127.0.0.1:1/")
	c := NewClient(u, testKey, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.PublicInfo(ctx)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the URL's password: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2025-01-01T12:00:00.0000000Z", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"2025-01-01T12:00:00.1234567Z", time.Date(2025, 1, 1, 12, 0, 0, 123456700, time.UTC)},
		{"2025-01-01T12:00:00Z", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"2025-01-01T14:00:00.5+02:00", time.Date(2025, 1, 1, 12, 0, 0, 500000000, time.UTC)},
		{"2025-01-01T12:00:00.1234567", time.Date(2025, 1, 1, 12, 0, 0, 123456700, time.UTC)},
		{"0001-01-01T00:00:00.0000000Z", time.Time{}},
		{"0001-01-01T00:00:00", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime accepted garbage")
	}
}

func TestJFTimeJSON(t *testing.T) {
	var v struct{ A, B, C jfTime }
	if err := jsonUnmarshal(`{"A":"2025-01-01T12:00:00.0000000Z","B":null,"C":""}`, &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Year() != 2025 || !v.B.IsZero() || !v.C.IsZero() {
		t.Errorf("decoded %+v", v)
	}
	if err := jsonUnmarshal(`{"A":12}`, &v); err == nil {
		t.Error("a number decoded as a date")
	}
}
