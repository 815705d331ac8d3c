package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/shield/geo/geotest"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// The door-parity test: one policy matrix run through every door a sign-in
// can come in by. Each policy must give the same outcome and the same
// sign-in audit events whichever door is used — a door that skipped the
// flow would stand out here.

const (
	doorHome = "192.0.2.10" // Berlin in the test GeoIP database; the setup's address
	doorAway = "203.0.113.9"
)

// door signs subject in from ip and reports whether a session was
// released. prepare runs before the policy is applied (a challenge to
// answer, a Quick Connect code to redeem).
type door struct {
	name    string
	enroll  bool // the subject needs a second factor for this door
	prepare func(t *testing.T, e *testutil.Env, subject string) any
	try     func(t *testing.T, e *testutil.Env, subject, ip string, state any) (released bool, status int)
}

// policy is one rule of the matrix.
type policy struct {
	name    string
	subject string
	ip      string
	config  func(*config.Config)
	apply   func(t *testing.T, e *testutil.Env, subject string)
	// released is the outcome every door must give; reason the failure
	// line's word in the one signin.failure event ("" for none at all).
	released bool
	reason   string
	// freshOnly: only a factor answered in this very sign-in vouches
	// (impossible travel in block mode), so the door that answers one —
	// the challenge page — is released and every other door refused.
	freshOnly bool
}

func doors() []door {
	login := func(path string) func(t *testing.T, e *testutil.Env, subject, ip string, _ any) (bool, int) {
		return func(t *testing.T, e *testutil.Env, subject, ip string, _ any) (bool, int) {
			body, _ := json.Marshal(map[string]string{"Username": subject, "Pw": e.Passwords[subject]})
			req := e.RawRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", testutil.AuthHeader("parity-"+subject, ""))
			req.Header.Set("X-Forwarded-For", ip)
			a := readAnswer(t, e.Do(req))
			return a.status == http.StatusOK && a.token != "", a.status
		}
	}
	return []door{
		{name: "AuthenticateByName", try: login("/Users/AuthenticateByName")},
		{name: "emby spelling", try: login("/emby/Users/authenticatebyname")},
		{name: "legacy route", try: func(t *testing.T, e *testutil.Env, subject, ip string, _ any) (bool, int) {
			u, _ := e.Fake.User(subject)
			dashed := u.ID[:8] + "-" + u.ID[8:12] + "-" + u.ID[12:16] + "-" + u.ID[16:20] + "-" + u.ID[20:]
			req := e.RawRequest(http.MethodPost, "/Users/{"+strings.ToUpper(dashed)+"}/Authenticate?pw="+url.QueryEscape(e.Passwords[subject]), nil)
			req.Header.Set("Authorization", testutil.AuthHeader("parity-legacy-"+subject, ""))
			req.Header.Set("X-Forwarded-For", ip)
			a := readAnswer(t, e.Do(req))
			return a.status == http.StatusOK && a.token != "", a.status
		}},
		{name: "sign-in page", try: func(t *testing.T, e *testutil.Env, subject, ip string, _ any) (bool, int) {
			form := url.Values{"username": {subject}, "password": {e.Passwords[subject]}}
			req := e.RawRequest(http.MethodPost, "/jellyguard/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", ip)
			resp := e.Do(req)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`id="handoff"`)), resp.StatusCode
		}},
		{name: "challenge answer", enroll: true,
			prepare: func(t *testing.T, e *testutil.Env, subject string) any {
				br := e.NewBrowser("parity-web-" + subject)
				br.SetHeader("X-Forwarded-For", doorHome)
				if a := readAnswer(t, br.Login(subject, e.Passwords[subject])); a.header.Get("X-Jellyguard-Challenge") == "" {
					t.Fatalf("no challenge to answer: %d %s", a.status, a.body)
				}
				return br
			},
			try: func(t *testing.T, e *testutil.Env, subject, ip string, state any) (bool, int) {
				br := state.(*testutil.Browser)
				br.SetHeader("X-Forwarded-For", ip)
				resp := br.PostForm(challengePage, url.Values{"code": {authenticators[subject].Code(t)}})
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				return resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`id="handoff"`)), resp.StatusCode
			}},
		{name: "Quick Connect", prepare: func(t *testing.T, e *testutil.Env, subject string) any {
			return quickConnectApproved(t, e, subject)
		}, try: func(t *testing.T, e *testutil.Env, _, ip string, state any) (bool, int) {
			req := e.RawRequest(http.MethodPost, "/Users/AuthenticateWithQuickConnect", strings.NewReader(`{"Secret":"`+state.(string)+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", testutil.AuthHeader("parity-tv", ""))
			req.Header.Set("X-Forwarded-For", ip)
			a := readAnswer(t, e.Do(req))
			return a.status == http.StatusOK && a.token != "", a.status
		}},
	}
}

// authenticators holds the enrolled subjects' authenticators (one
// environment per subtest, one subject each).
var authenticators = map[string]*testutil.Authenticator{}

// quickConnectApproved opens a Quick Connect request from home, approves
// it with a session of subject, and returns the secret to redeem.
func quickConnectApproved(t *testing.T, e *testutil.Env, subject string) string {
	t.Helper()
	req := e.RawRequest(http.MethodPost, "/QuickConnect/Initiate", nil)
	req.Header.Set("Authorization", testutil.AuthHeader("parity-tv", ""))
	req.Header.Set("X-Forwarded-For", doorHome)
	resp := e.Do(req)
	var qc struct{ Secret, Code string }
	decodeJSON(t, resp, &qc)
	tok := loginVia(t, e, doorHome, subject)
	if s, body := getFromMethod(t, e, http.MethodPost, doorHome, "/QuickConnect/Authorize?code="+qc.Code, tok); s != http.StatusOK {
		t.Fatalf("authorising Quick Connect: %d %s", s, body)
	}
	return qc.Secret
}

func getFromMethod(t *testing.T, e *testutil.Env, method, ip, rawPath, token string) (int, string) {
	t.Helper()
	req := e.RawRequest(method, rawPath, nil)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("Authorization", `MediaBrowser Token="`+token+`"`)
	resp := e.Do(req)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, string(body)
}

func policies() []policy {
	return []policy{
		{name: "nothing in the way", subject: "alice", ip: doorAway, released: true},
		{name: "banned address", subject: "alice", ip: doorAway, apply: func(t *testing.T, e *testutil.Env, _ string) {
			if _, err := e.App.Shield.Ban(context.Background(), netip.MustParsePrefix(doorAway+"/32"), "test", "test", time.Hour); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "allow-only", subject: "alice", ip: doorAway, config: func(c *config.Config) { c.Shield.AllowOnly = []string{"192.0.2.0/24"} }},
		{name: "country denied", subject: "alice", ip: "198.51.100.9", config: func(c *config.Config) { c.Shield.DenyCountries = []string{"AU"} }},
		{name: "administrators' networks", subject: "admin", ip: doorAway, reason: "network",
			config: func(c *config.Config) { c.Shield.AdminNetworks = []string{"192.0.2.0/24", "127.0.0.1"} }},
		{name: "the user's networks", subject: "alice", ip: doorAway, reason: "network", apply: func(t *testing.T, e *testutil.Env, subject string) {
			u, _ := e.Fake.User(subject)
			if err := e.App.Shield.SetUserNetworks(context.Background(), u.ID, subject, []string{"192.0.2.0/24"}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "throttled address", subject: "alice", ip: doorAway, reason: "throttled",
			config: func(c *config.Config) { c.Shield.LoginsPerMinute = 3 },
			apply: func(t *testing.T, e *testutil.Env, _ string) {
				for i := range 3 {
					mustRefuse(t, "a guess", loginFromAnswer(t, e, doorAway, fmt.Sprintf("nobody%d", i), "wrong"))
				}
			}},
		{name: "impossible travel (block)", subject: "alice", ip: "198.51.100.9", reason: "impossible_travel", freshOnly: true,
			config: func(c *config.Config) { c.Shield.TravelAction = "block" },
			apply: func(t *testing.T, e *testutil.Env, subject string) {
				pw := e.Passwords[subject]
				if auth := authenticators[subject]; auth != nil {
					pw += ";" + auth.Code(t)
				}
				mustSignIn(t, "Berlin, a moment before Sydney", loginFromAnswer(t, e, doorHome, subject, pw))
			}},
		{name: "shared known address", subject: "alice", ip: doorAway, released: true,
			config: func(c *config.Config) { c.Shield.BanFailures, c.Shield.LoginsPerMinute = 10, 60 },
			apply: func(t *testing.T, e *testutil.Env, _ string) {
				loginVia(t, e, doorAway, "bob")
				for i := range 12 {
					mustRefuse(t, "a guess", loginFromAnswer(t, e, doorAway, fmt.Sprintf("someone%d", i), "wrong"))
				}
			}},
	}
}

func loginFromAnswer(t *testing.T, e *testutil.Env, ip, user, password string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"Username": user, "Pw": password})
	req := e.RawRequest(http.MethodPost, "/Users/AuthenticateByName", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", testutil.AuthHeader("guesser-"+user, ""))
	req.Header.Set("X-Forwarded-For", ip)
	return readAnswer(t, e.Do(req))
}

func TestEveryDoorGivesTheSameOutcome(t *testing.T) {
	db := filepath.Join(t.TempDir(), "city.mmdb")
	geotest.Write(t, db, geotest.Sample())
	for _, p := range policies() {
		t.Run(p.name, func(t *testing.T) {
			for _, d := range doors() {
				t.Run(d.name, func(t *testing.T) {
					e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
						c.TrustedProxies = []string{"127.0.0.1"}
						c.Shield.GeoIPCity = db
						c.Shield.LoginsPerMinute, c.Shield.UserFailures, c.Shield.BanFailures = 1000, 1000, 1000
						if p.config != nil {
							p.config(c)
						}
					}})
					authenticators[p.subject] = nil
					if d.enroll {
						tok := loginVia(t, e, doorHome, p.subject)
						authenticators[p.subject], _ = e.EnrollTOTP(tok)
					}
					var state any
					if d.prepare != nil {
						state = d.prepare(t, e, p.subject)
					}
					if p.apply != nil {
						p.apply(t, e, p.subject)
					}
					before := auditSeq(t, e)
					want := p
					if p.freshOnly && d.enroll {
						want = policy{released: true}
					}
					released, status := d.try(t, e, p.subject, p.ip, state)
					if released != want.released {
						t.Fatalf("released = %v (status %d), want %v", released, status, want.released)
					}
					if got, want := signInEvents(t, e, before, p.subject), expectedEvents(want); !slices.Equal(got, want) {
						t.Fatalf("sign-in audit events %q, want %q", got, want)
					}
					if p.name == "shared known address" {
						if _, banned := e.App.Shield.Banned(netip.MustParseAddr(p.ip)); banned {
							t.Fatal("a shared address was banned")
						}
					}
				})
			}
		})
	}
}

func expectedEvents(p policy) []string {
	switch {
	case p.released:
		return []string{string(audit.SignInSuccess)}
	case p.reason != "":
		return []string{string(audit.SignInFailure) + " " + p.reason}
	}
	return nil
}

func auditSeq(t *testing.T, e *testutil.Env) int64 {
	t.Helper()
	evs, err := e.Store.Audit(context.Background(), store.AuditQuery{Limit: 1, Newest: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[0].Seq
}

// signInEvents lists the signin.success and signin.failure events about
// subject (or about nobody yet known: a Quick Connect redemption held back
// before Jellyfin named its user) after seq, a failure with its reason.
func signInEvents(t *testing.T, e *testutil.Env, after int64, subject string) []string {
	t.Helper()
	evs, err := e.Store.Audit(context.Background(), store.AuditQuery{AfterSeq: after})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.UserName != "" && !strings.EqualFold(ev.UserName, subject) {
			continue // the guesses a policy was set up with
		}
		switch ev.Kind {
		case audit.SignInSuccess:
			out = append(out, string(ev.Kind))
		case audit.SignInFailure:
			_, reason, _ := strings.Cut(ev.Detail, "reason ")
			reason, _, _ = strings.Cut(reason, ",")
			out = append(out, string(ev.Kind)+" "+reason)
		}
	}
	return out
}
