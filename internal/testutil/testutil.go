// Package testutil boots the whole gateway for integration tests: the Jellyfin
// emulator (or a handler of the test's own) on 127.0.0.1, the real gateway in
// front of it over real loopback HTTP, a real SQLite file and key file in a
// temporary data directory.
package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/app"
	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/gateway"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// Options adjust the environment.
type Options struct {
	// Upstream replaces the emulator with the test's own handler.
	Upstream http.Handler
	// Fake are the emulator's options.
	Fake fake.Options
	// Configure may change the gateway's config before it starts.
	Configure func(*config.Config)
	// NoAPIKey leaves the gateway without a Jellyfin API key.
	NoAPIKey bool
	// Resolver resolves allowlist host names (a test resolver).
	Resolver shield.Resolver
	// Wrap, when set, wraps the emulator: a tap that watches what reaches
	// Jellyfin.
	Wrap func(http.Handler) http.Handler
}

// Env is a running gateway with its emulator.
type Env struct {
	t         testing.TB
	Fake      *fake.Server // nil when Options.Upstream was given
	FakeURL   string
	URL       string   // the gateway
	App       *app.App // every part, as serve builds them
	Gateway   *gateway.Gateway
	Config    *config.Config
	Store     *sqlite.Store
	Keys      *secret.Keys
	Audit     *audit.Log
	Logs      *testkit.Buffer
	APIKey    string
	Passwords map[string]string
}

// Start boots an environment; everything stops when the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	e := &Env{t: t, Logs: &testkit.Buffer{}, Passwords: map[string]string{}}
	upstream := o.Upstream
	if upstream == nil {
		e.Fake = fake.New(o.Fake)
		e.Fake.UpdateNetwork(func(n *fake.NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
		for _, u := range []struct {
			name  string
			admin bool
		}{{"admin", true}, {"alice", false}, {"bob", false}} {
			pw := u.name + "-password"
			e.Fake.AddUser(u.name, pw, u.admin)
			e.Passwords[u.name] = pw
		}
		if !o.NoAPIKey {
			e.APIKey = e.Fake.AddAPIKey("jellyguard")
		}
		upstream = e.Fake
		if o.Wrap != nil {
			upstream = o.Wrap(e.Fake)
		}
	}
	e.FakeURL = serve(t, upstream)
	e.startGateway(o)
	return e
}

func (e *Env) startGateway(o Options) {
	t := e.t
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Upstream, cfg.Data, cfg.APIKey = e.FakeURL, dir, e.APIKey
	cfg.Listen = "127.0.0.1:0"
	// Tests of other features make many failed sign-ins from one address;
	// tests of the shield set their own limits.
	cfg.Shield.LoginsPerMinute, cfg.Shield.UserFailures, cfg.Shield.BanFailures = 100000, 100000, 100000
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	e.Config = &cfg
	log := slog.New(slog.NewTextHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	e.App, err = app.Open(context.Background(), app.Options{Config: e.Config, Logger: log, LogWriter: e.Logs,
		Serve: true, Resolver: o.Resolver})
	if err != nil {
		t.Fatalf("opening the gateway: %v", err)
	}
	t.Cleanup(func() { _ = e.App.Close() })
	e.Store, e.Keys, e.Audit, e.Gateway = e.App.Store, e.App.Keys, e.App.Audit, e.App.Gateway
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.App.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	e.URL = "http://" + ln.Addr().String()
}

func serve(t testing.TB, h http.Handler) string {
	srv := httptest.NewUnstartedServer(h)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// AuthHeader is a complete MediaBrowser header as jellyfin-web sends it.
func AuthHeader(deviceID, token string) string {
	h := fmt.Sprintf(`MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="%s", Version="10.11.11"`, deviceID)
	if token != "" {
		h += fmt.Sprintf(`, Token="%s"`, token)
	}
	return h
}

// Login signs in through the gateway at path (any raw path variant) and
// returns the status and the token (empty unless 200).
func (e *Env) Login(rawPath, user, password, deviceID string) (int, string, *http.Response) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"Username": user, "Pw": password})
	req := e.RawRequest("POST", rawPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", AuthHeader(deviceID, ""))
	resp := e.Do(req)
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var res struct{ AccessToken string }
	_ = json.Unmarshal(data, &res)
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp.StatusCode, res.AccessToken, resp
}

// MustLogin signs user in through the gateway's canonical login path.
func (e *Env) MustLogin(user, deviceID string) string {
	e.t.Helper()
	status, token, resp := e.Login("/Users/AuthenticateByName", user, e.Passwords[user], deviceID)
	_ = resp.Body.Close()
	if status != 200 || token == "" {
		e.t.Fatalf("login %s: status %d", user, status)
	}
	return token
}

// RawRequest builds a request to the gateway whose path is sent exactly as
// rawPath (no cleaning, no re-escaping).
func (e *Env) RawRequest(method, rawPathAndQuery string, body io.Reader) *http.Request {
	return rawRequest(e.t, method, e.URL, rawPathAndQuery, body)
}

// RawFakeRequest is RawRequest straight to the emulator.
func (e *Env) RawFakeRequest(method, rawPathAndQuery string, body io.Reader) *http.Request {
	return rawRequest(e.t, method, e.FakeURL, rawPathAndQuery, body)
}

func rawRequest(t testing.TB, method, base, rawPathAndQuery string, body io.Reader) *http.Request {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	path, query, _ := strings.Cut(rawPathAndQuery, "?")
	u.Opaque = "//" + u.Host + path
	u.RawQuery = query
	req, err := http.NewRequest(method, base, body)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = u
	return req
}

// Do sends a request with a bounded client.
func (e *Env) Do(req *http.Request) *http.Response {
	e.t.Helper()
	resp, err := Client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// Get sends a GET with an optional token in a MediaBrowser header and returns
// the status and body.
func (e *Env) Get(rawPath, token string) (int, string) {
	e.t.Helper()
	req := e.RawRequest("GET", rawPath, nil)
	if token != "" {
		req.Header.Set("Authorization", fmt.Sprintf(`MediaBrowser Token="%s"`, token))
	}
	resp := e.Do(req)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Client is the HTTP client tests use: bounded in time, no redirects
// followed (a redirect is an answer to check).
var Client = &http.Client{
	Timeout:       60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
