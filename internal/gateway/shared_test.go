package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

func natEnv(t *testing.T, mod func(*config.Config)) *testutil.Env {
	t.Helper()
	return testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield.LoginsPerMinute, c.Shield.UserFailures, c.Shield.BanFailures = 30, 5, 10
		if mod != nil {
			mod(c)
		}
	}})
}

// TestSharedAddressNeverLocksOutItsUsers is the NAT test: bob is known at
// an address; others fail fifty times there (wrong passwords for alice,
// unknown names); bob signs in after every five and is never held back,
// and the address is not banned. A stranger's address with the same
// failures is.
func TestSharedAddressNeverLocksOutItsUsers(t *testing.T) {
	e := natEnv(t, nil)
	const home, stranger = "198.51.100.20", "203.0.113.66"
	loginVia(t, e, home, "bob")
	guess := func(ip string, i int) {
		user, pw := "alice", fmt.Sprintf("guess-%d", i)
		if i%2 == 1 {
			user = fmt.Sprintf("root%d", i)
		}
		if a := loginFromAnswer(t, e, ip, user, pw); a.status == http.StatusOK {
			t.Fatalf("a guess was released")
		}
	}
	for i := range 50 {
		guess(home, i)
		if i%5 == 4 {
			if a := loginFromAnswer(t, e, home, "bob", e.Passwords["bob"]); a.status != http.StatusOK || a.token == "" {
				t.Fatalf("bob held back after %d failures at his address: %d %s", i+1, a.status, a.body)
			}
		}
	}
	if _, banned := e.App.Shield.Banned(netip.MustParseAddr(home)); banned {
		t.Fatal("the shared address was banned")
	}
	if !strings.Contains(e.Logs.String(), "would ban a shared address") {
		t.Fatal("the would-be ban of the shared address was not logged")
	}
	evs, err := e.Store.Audit(context.Background(), store.AuditQuery{})
	if err != nil || !hasKind(evs, audit.BanWithheld) {
		t.Fatalf("the would-be ban of the shared address was not audited: %v", err)
	}
	for i := range 50 {
		guess(stranger, i)
	}
	if _, banned := e.App.Shield.Banned(netip.MustParseAddr(stranger)); !banned {
		t.Fatal("the stranger's address was not banned")
	}
}

// TestTrustCookieLiftsOnlyItsOwnUsersBudget: alice's trusted browser does
// not let anyone guess the administrator's password past the budget.
func TestTrustCookieLiftsOnlyItsOwnUsersBudget(t *testing.T) {
	e := natEnv(t, func(c *config.Config) { c.Shield.UserFailures = 3 })
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("alice-trusted")
	br.SetHeader("X-Forwarded-For", "203.0.113.70")
	passWeb(t, br, "alice", e.Passwords["alice"], auth.Code(t), true)
	if br.Cookie("/", "jg_trust") == nil {
		t.Fatal("no trust cookie")
	}
	for i := range 3 {
		mustRefuse(t, "a guess at the admin", readAnswer(t, br.Login("admin", fmt.Sprintf("guess-%d", i))))
	}
	a := readAnswer(t, br.Login("admin", e.Passwords["admin"]))
	if a.status == http.StatusOK || a.token != "" {
		t.Fatal("alice's trust cookie lifted the administrator's failure budget")
	}
}

// TestLegacyRouteSharesTheUsersBudget: the budget is the user's, whatever
// door or spelling of the id is used.
func TestLegacyRouteSharesTheUsersBudget(t *testing.T) {
	e := natEnv(t, func(c *config.Config) { c.Shield.UserFailures = 3 })
	for i := range 3 {
		mustRefuse(t, "a guess", loginFromAnswer(t, e, fmt.Sprintf("203.0.113.%d", 80+i), "alice", "wrong"))
	}
	u, _ := e.Fake.User("alice")
	for _, id := range []string{u.ID, strings.ToUpper(u.ID), "{" + u.ID[:8] + "-" + u.ID[8:12] + "-" + u.ID[12:16] + "-" + u.ID[16:20] + "-" + u.ID[20:] + "}"} {
		req := e.RawRequest(http.MethodPost, "/Users/"+id+"/Authenticate?pw="+url.QueryEscape(e.Passwords["alice"]), nil)
		req.Header.Set("Authorization", testutil.AuthHeader("legacy-"+id, ""))
		req.Header.Set("X-Forwarded-For", "203.0.113.90")
		if a := readAnswer(t, e.Do(req)); a.status == http.StatusOK || a.token != "" {
			t.Fatalf("the legacy route (%s) escaped alice's exhausted budget", id)
		}
	}
}

// TestDisabledAccountAnswersLikeAWrongPassword: Jellyfin answers 403 for a
// disabled (or locked-out) account whatever the password; through the
// gateway it is the one wrong-password answer, at every password door.
func TestDisabledAccountAnswersLikeAWrongPassword(t *testing.T) {
	e := natEnv(t, nil)
	if err := e.Fake.UpdatePolicy("bob", func(p *fake.Policy) { p.IsDisabled = true }); err != nil {
		t.Fatal(err)
	}
	right := loginFromAnswer(t, e, "203.0.113.40", "bob", e.Passwords["bob"])
	wrong := loginFromAnswer(t, e, "203.0.113.41", "carol-unknown", "nope")
	mustRefuse(t, "a disabled account", right)
	if right.status != wrong.status || string(right.body) != string(wrong.body) {
		t.Fatalf("disabled: %d %q; unknown user: %d %q", right.status, right.body, wrong.status, wrong.body)
	}
	if lines := e.Logs.Lines(`user="bob" reason=forbidden`); len(lines) != 1 {
		t.Fatalf("the administrator's failure line should say forbidden: %q", e.Logs.Lines("sign-in failed"))
	}
}

// TestGatewayPagesFollowTheUsersNetworks: a session refused for Jellyfin
// outside its user's networks is refused by the gateway's own API too.
func TestGatewayPagesFollowTheUsersNetworks(t *testing.T) {
	e := natEnv(t, nil)
	tok := loginVia(t, e, "198.51.100.5", "bob")
	bob, _ := e.Fake.User("bob")
	if err := e.App.Shield.SetUserNetworks(context.Background(), bob.ID, "bob", []string{"198.51.100.0/24"}); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]int{"198.51.100.6": http.StatusOK, "203.0.113.77": http.StatusForbidden} {
		if s, body := getFrom(t, e, ip, "/jellyguard/api/account", tok); s != want {
			t.Errorf("account API from %s: %d %s, want %d", ip, s, body, want)
		}
	}
}
