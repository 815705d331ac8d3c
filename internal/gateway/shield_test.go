package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/gateway"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// reachTap records which client address (X-Forwarded-For, as the gateway
// sends it) reached the emulator, and when.
type reachTap struct {
	mu   sync.Mutex
	seen map[string][]time.Time
}

func (r *reachTap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		if r.seen == nil {
			r.seen = map[string][]time.Time{}
		}
		ip := req.Header.Get("X-Forwarded-For")
		r.seen[ip] = append(r.seen[ip], time.Now())
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

func (r *reachTap) after(ip string, t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, at := range r.seen[ip] {
		if at.After(t) {
			n++
		}
	}
	return n
}

// shieldEnv is a gateway behind a trusted proxy (127.0.0.1), so tests can
// speak for any client address through X-Forwarded-For, with the shield's
// default limits.
func shieldEnv(t *testing.T, tap *reachTap) *testutil.Env {
	t.Helper()
	return testutil.Start(t, testutil.Options{Wrap: tap.wrap, Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield = config.Default().Shield
	}})
}

func loginFrom(t *testing.T, e *testutil.Env, ip, user, password, deviceID string) int {
	t.Helper()
	req := e.RawRequest("POST", "/Users/AuthenticateByName",
		strings.NewReader(fmt.Sprintf(`{"Username":%q,"Pw":%q}`, user, password)))
	req.Header.Set("Authorization", testutil.AuthHeader(deviceID, ""))
	req.Header.Set("X-Forwarded-For", ip)
	resp := e.Do(req)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestFloodAgainstAUserBansAttackersAndNeverLocksTheOwnerOut is issue 4's
// acceptance: Jellyfin locks alice after 5 wrong passwords; 50 addresses
// guess her password while she signs in from her own address.
func TestFloodAgainstAUserBansAttackersAndNeverLocksTheOwnerOut(t *testing.T) {
	tap := &reachTap{}
	e := shieldEnv(t, tap)
	const lockout = 5
	if err := e.Fake.UpdatePolicy("alice", func(p *fake.Policy) { n := lockout; p.LoginAttemptsBeforeLockout = &n }); err != nil {
		t.Fatal(err)
	}
	const home = "198.51.100.10"
	if s := loginFrom(t, e, home, "alice", e.Passwords["alice"], "alice-phone"); s != 200 {
		t.Fatalf("alice's first sign-in: %d", s)
	}
	attackers := make([]string, 50)
	for i := range attackers {
		attackers[i] = fmt.Sprintf("203.0.113.%d", i+1)
	}
	for round := range 12 {
		for i, ip := range attackers {
			if s := loginFrom(t, e, ip, "alice", fmt.Sprintf("guess-%d-%d", round, i), "attacker-"+ip); s != 401 && s != 403 {
				t.Fatalf("attacker %s round %d: %d", ip, round, s)
			}
		}
		if s := loginFrom(t, e, home, "alice", e.Passwords["alice"], "alice-phone"); s != 200 {
			t.Fatalf("alice could not sign in after round %d: %d", round, s)
		}
		if u, _ := e.Fake.User("alice"); u.IsDisabled || u.InvalidLoginAttemptCount >= lockout {
			t.Fatalf("round %d: Jellyfin's lockout moved: %d failed attempts, disabled %v", round, u.InvalidLoginAttemptCount, u.IsDisabled)
		}
	}
	ctx := context.Background()
	for _, ip := range attackers {
		b, banned := e.App.Shield.Banned(netip.MustParseAddr(ip))
		if !banned {
			t.Fatalf("%s was not banned", ip)
		}
		if n := tap.after(ip, b.CreatedAt); n != 0 {
			t.Fatalf("%d requests of %s reached Jellyfin after its ban", n, ip)
		}
		if s := loginFrom(t, e, ip, "alice", e.Passwords["alice"], "x"); s != 403 {
			t.Fatalf("banned %s even with the right password: %d", ip, s)
		}
	}
	if _, banned := e.App.Shield.Banned(netip.MustParseAddr(home)); banned {
		t.Fatal("alice's address was banned")
	}
	bans, err := e.Store.Bans(ctx, time.Now(), false)
	if err != nil || len(bans) != len(attackers) {
		t.Fatalf("%d bans stored, %v", len(bans), err)
	}
}

// TestOneAddressSigningInManyUsersDoesNotLockThemOut is Seerr: one server
// signs every user in from its own address, and one user's typo must not
// keep the others out.
func TestOneAddressSigningInManyUsersDoesNotLockThemOut(t *testing.T) {
	e := shieldEnv(t, &reachTap{})
	const seerr = "192.0.2.50"
	for _, u := range []string{"alice", "bob", "admin"} {
		if s := loginFrom(t, e, seerr, u, e.Passwords[u], "seerr-"+u); s != 200 {
			t.Fatalf("%s: %d", u, s)
		}
	}
	for range 3 {
		if s := loginFrom(t, e, seerr, "bob", "typo", "seerr-bob"); s != 401 {
			t.Fatalf("typo: %d", s)
		}
	}
	for _, u := range []string{"alice", "admin", "bob"} {
		if s := loginFrom(t, e, seerr, u, e.Passwords[u], "seerr-"+u); s != 200 {
			t.Fatalf("%s after bob's typos: %d", u, s)
		}
	}
}

// TestBanSurvivesARestartAndLiftTakesEffectAtOnce: bans live in the store;
// lifting one from another process (the CLI) reaches the running gateway
// through the change feed.
func TestBanSurvivesARestartAndLiftTakesEffectAtOnce(t *testing.T) {
	e := shieldEnv(t, &reachTap{})
	ctx := context.Background()
	cli, err := shield.New(ctx, shield.Options{Config: e.Config, Store: e.Store})
	if err != nil {
		t.Fatal(err)
	}
	p := shield.Key(netip.MustParseAddr("203.0.113.99"))
	if _, err := cli.Ban(ctx, p, "test", "the command line", 0); err != nil {
		t.Fatal(err)
	}
	banned := func() bool { return loginFrom(t, e, "203.0.113.99", "bob", e.Passwords["bob"], "d") == 403 }
	if !testkit.Eventually(3*time.Second, banned) {
		t.Fatal("a ban set by another process did not reach the running gateway")
	}
	// A new shield over the same database — a restart — knows the ban.
	restarted, err := shield.New(ctx, shield.Options{Config: e.Config, Store: e.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := restarted.Banned(netip.MustParseAddr("203.0.113.99")); !ok {
		t.Fatal("the ban did not survive a restart")
	}
	if err := cli.Lift(ctx, p); err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(3*time.Second, func() bool { return !banned() }) {
		t.Fatal("lifting the ban did not reach the running gateway")
	}
	if _, err := cli.Ban(ctx, shield.Key(netip.MustParseAddr("127.0.0.1")), "x", "y", 0); err == nil {
		t.Fatal("a trusted proxy could be banned")
	}
}

// TestBannedClientsAreDroppedAtAccept: without a proxy in front, a banned
// peer's connection is closed before any HTTP is read.
func TestBannedClientsAreDroppedAtAccept(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	ctx := context.Background()
	if _, err := e.App.Shield.Ban(ctx, shield.Key(netip.MustParseAddr("127.0.0.1")), "test", "test", 0); err != nil {
		t.Fatal(err)
	}
	req := e.RawRequest("GET", "/System/Info/Public", nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("a banned peer got an answer: %d", resp.StatusCode)
	}
}

func TestRunningGatewayReportsItsStatus(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	var raw string
	if !testkit.Eventually(3*time.Second, func() bool {
		var err error
		raw, err = e.Store.Setting(context.Background(), gateway.StatusKey)
		return err == nil
	}) {
		t.Fatal("no status written")
	}
	var st gateway.Status
	if err := json.Unmarshal([]byte(raw), &st); err != nil || st.Version != gateway.Version || st.At.IsZero() {
		t.Fatalf("status %q: %v", raw, err)
	}
}

// TestSignInPageIsThrottledLikeTheAPI: the gateway's own sign-in form must
// not be a way around the user name's failure budget.
func TestSignInPageIsThrottledLikeTheAPI(t *testing.T) {
	tap := &reachTap{}
	e := shieldEnv(t, tap)
	post := func(ip, password string) {
		form := url.Values{"username": {"alice"}, "password": {password}}
		req := e.RawRequest("POST", "/jellyguard/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", ip)
		resp := e.Do(req)
		_ = resp.Body.Close()
	}
	for i := range 8 {
		post(fmt.Sprintf("203.0.113.%d", 100+i), "guess")
	}
	if u, _ := e.Fake.User("alice"); u.InvalidLoginAttemptCount > config.Default().Shield.UserFailures {
		t.Fatalf("%d guesses through the sign-in page reached Jellyfin", u.InvalidLoginAttemptCount)
	}
}
