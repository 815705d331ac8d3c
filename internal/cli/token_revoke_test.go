package cli

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

// TestTokenRevokeRetriesAnOwedLogout: a revocation whose logout Jellyfin
// did not confirm (it was unreachable) is listed as pending, and revoking
// the token again tries the logout again instead of answering "already
// revoked" and doing nothing.
func TestTokenRevokeRetriesAnOwedLogout(t *testing.T) {
	srv := fake.New(fake.Options{})
	srv.AddUser("alice", "alice-pw", false)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	token, id := signIn(t, ts.URL, "alice", "alice-pw")
	dir := t.TempDir()
	h := seedToken(t, dir, token, issued("alice", id, "Jellyfin Web"))

	gone := httptest.NewServer(srv)
	unreachable := gone.URL
	gone.Close()

	r := runCLI(t, "--data", dir, "--upstream", unreachable, "token", "revoke", h.Short())
	if r.code != exitOK || !strings.Contains(r.stdout, "Revoked "+h.Short()) ||
		!strings.Contains(r.stdout, "Jellyfin did not confirm the logout") {
		t.Fatalf("revoke with Jellyfin unreachable: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !srv.TokenValid(token) {
		t.Fatal("the token was logged out although Jellyfin was unreachable")
	}
	r = runCLI(t, "--data", dir, "token", "list", "--all")
	if !strings.Contains(r.stdout, "revoked, logout pending") {
		t.Errorf("token list --all does not show the pending logout:\n%s", r.stdout)
	}
	if got := listed(t, dir, h.String()); got.Status != "revoked" || !got.LogoutPending {
		t.Errorf("token list --json: %+v, want revoked with the logout pending", got)
	}

	r = runCLI(t, "--data", dir, "--upstream", ts.URL, "token", "revoke", h.Short())
	if r.code != exitOK || !strings.Contains(r.stdout, "already revoked") ||
		!strings.Contains(r.stdout, "Jellyfin has now confirmed it") {
		t.Fatalf("second revoke with Jellyfin reachable: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if srv.TokenValid(token) {
		t.Error("the token is still valid in Jellyfin")
	}
	r = runCLI(t, "--data", dir, "token", "list", "--all")
	if strings.Contains(r.stdout, "logout pending") || !strings.Contains(r.stdout, "revoked") {
		t.Errorf("token list --all after the logout:\n%s", r.stdout)
	}
	if got := listed(t, dir, h.String()); got.Status != "revoked" || got.LogoutPending || got.LoggedOutAt == nil {
		t.Errorf("token list --json after the logout: %+v", got)
	}

	r = runCLI(t, "--data", dir, "--upstream", ts.URL, "token", "revoke", h.Short())
	if r.code != exitOK || !strings.Contains(r.stdout, "already revoked") || !strings.Contains(r.stdout, "it is logged out of Jellyfin") {
		t.Errorf("third revoke: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestTokenRevokeWithoutUpstreamLeavesTheLogoutPending: without an
// upstream the command says who will log the token out, and revoking it
// again says the logout is still owed.
func TestTokenRevokeWithoutUpstreamLeavesTheLogoutPending(t *testing.T) {
	dir := t.TempDir()
	h := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	r := runCLI(t, "--data", dir, "token", "revoke", h.Short())
	if r.code != exitOK || !strings.Contains(r.stdout, "a running gateway will log it out") {
		t.Fatalf("revoke: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "--data", dir, "token", "revoke", h.Short())
	if r.code != exitOK || !strings.Contains(r.stdout, "already revoked") || !strings.Contains(r.stdout, "still pending") {
		t.Fatalf("second revoke: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// listed returns the row of `token list --all --json` with the full hash.
func listed(t *testing.T, dir, hash string) tokenJSON {
	t.Helper()
	r := runCLI(t, "--data", dir, "token", "list", "--all", "--json")
	var list []tokenJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("token list --json: %v (%q)", err, r.stdout)
	}
	for _, tj := range list {
		if tj.Hash == hash {
			return tj
		}
	}
	t.Fatalf("token list --json lacks %s: %s", hash, r.stdout)
	return tokenJSON{}
}
