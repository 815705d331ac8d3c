package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
)

// seedAccountAt records an account first seen at first, as a sign-in
// through the gateway that long ago would have.
func seedAccountAt(t *testing.T, dir, name, id string, first time.Time) {
	t.Helper()
	st := openStore(t, dir)
	if err := st.PutAccount(context.Background(), store.Account{UserID: id, UserName: name,
		NameFolded: jellyfin.FoldName(name), FirstSeenAt: first, UpdatedAt: first}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// usersByName runs user list --json and indexes the answer.
func usersByName(t *testing.T, env map[string]string) map[string]userJSON {
	t.Helper()
	r := runCLIEnv(t, env, "user", "list", "--json")
	var users []userJSON
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &users) != nil {
		t.Fatalf("user list --json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	out := map[string]userJSON{}
	for _, u := range users {
		out[u.Name] = u
	}
	return out
}

// TestUserListShowsSecondFactorAndTokenListsCount: every user's standing
// with the second factor, and active tokens counted as token list marks
// them (a token Jellyfin logged out is not active, though not revoked).
func TestUserListShowsSecondFactorAndTokenListsCount(t *testing.T) {
	dir := t.TempDir()
	const (
		carolID = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
		daveID  = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
	)
	seedAccount(t, dir, "alice", aliceID)
	seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	gone := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Findroid"))
	seedToken(t, dir, randomToken(t), issued("bob", bobID, "Infuse"))
	now := time.Now()
	seedAccountAt(t, dir, "carol", carolID, now.Add(-time.Hour))
	seedAccountAt(t, dir, "dave", daveID, now.Add(-30*24*time.Hour))
	st := openStore(t, dir)
	if err := st.MarkLoggedOut(context.Background(), gone, now); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	env := map[string]string{"JELLYGUARD_DATA": dir, "JELLYGUARD_TWO_FACTOR_REQUIRE": "all", "JELLYGUARD_TWO_FACTOR_GRACE_PERIOD": "168h"}
	for _, args := range [][]string{{"user", "totp", "alice"}, {"user", "exempt", "bob"}} {
		if r := runCLIEnv(t, env, args...); r.code != exitOK {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}

	users := usersByName(t, env)
	for name, want := range map[string]string{"alice": "enrolled", "bob": "exempt", "carol": "grace", "dave": "required"} {
		if got := users[name].TwoFactor; got != want {
			t.Errorf("%s: two_factor %q, want %q (%+v)", name, got, want, users[name])
		}
	}
	if !users["alice"].Enrolled || users["bob"].Enrolled {
		t.Errorf("enrolled: alice %v, bob %v", users["alice"].Enrolled, users["bob"].Enrolled)
	}
	wantGrace := now.Add(-time.Hour).Add(168 * time.Hour)
	if g := users["carol"].GraceUntil; g == nil || g.Sub(wantGrace).Abs() > time.Second {
		t.Errorf("carol's grace_until %v, want %v", g, wantGrace)
	}
	if users["dave"].GraceUntil != nil || users["alice"].GraceUntil != nil {
		t.Errorf("grace_until set outside a running grace period: dave %v, alice %v", users["dave"].GraceUntil, users["alice"].GraceUntil)
	}

	// The same count as token list's "active" rows, for every user.
	r := runCLIEnv(t, env, "token", "list", "--all", "--json")
	var list []tokenJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("token list --json: %v (%q)", err, r.stdout)
	}
	active := map[string]int{}
	for _, tj := range list {
		if tj.Status == "active" {
			active[tj.UserName]++
		}
	}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		u := users[name]
		if u.ActiveTokens == nil || *u.ActiveTokens != active[name] {
			t.Errorf("%s: user list says %v active tokens, token list %d", name, u.ActiveTokens, active[name])
		}
	}
	if active["alice"] != 1 {
		t.Errorf("alice has %d active tokens in token list, want 1 (one logged out)", active["alice"])
	}

	// The table says the same in words.
	r = runCLIEnv(t, env, "user", "list")
	for _, want := range []string{"2FA", "enrolled", "exempt", "grace until " + formatTime(wantGrace), "required, not enrolled"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("user list table lacks %q:\n%s", want, r.stdout)
		}
	}

	// Without a requirement, nobody unenrolled is asked.
	env["JELLYGUARD_TWO_FACTOR_REQUIRE"] = "none"
	users = usersByName(t, env)
	if users["carol"].TwoFactor != "off" || users["dave"].TwoFactor != "off" || users["alice"].TwoFactor != "enrolled" {
		t.Errorf("with require none: carol %q, dave %q, alice %q", users["carol"].TwoFactor, users["dave"].TwoFactor, users["alice"].TwoFactor)
	}
	if r := runCLIEnv(t, env, "user", "list"); !strings.Contains(r.stdout, "not enrolled") {
		t.Errorf("user list table lacks \"not enrolled\":\n%s", r.stdout)
	}
}
