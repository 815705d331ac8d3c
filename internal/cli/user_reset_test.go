package cli

import (
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/tokens"
)

// TestUserResetRevokesSessions: a reset signs the user out everywhere and
// says so; nobody else's sessions are touched.
func TestUserResetRevokesSessions(t *testing.T) {
	dir := t.TempDir()
	seedAccount(t, dir, "alice", aliceID)
	a1 := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	a2 := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Findroid"))
	b1 := seedToken(t, dir, randomToken(t), issued("bob", bobID, "Infuse"))
	if r := runCLI(t, "--data", dir, "user", "totp", "alice"); r.code != exitOK {
		t.Fatal(r.stderr)
	}

	r := runCLI(t, "--data", dir, "user", "reset", "alice")
	if r.code != exitOK {
		t.Fatalf("reset: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Reset alice", "Revoked 2 active sessions: alice signs in again everywhere."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reset says %q, want it to say %q", r.stdout, want)
		}
	}
	statuses := listStatuses(t, dir)
	if statuses[a1.String()] != "revoked" || statuses[a2.String()] != "revoked" || statuses[b1.String()] != "active" {
		t.Errorf("statuses after reset: %v", statuses)
	}
	r = runCLI(t, "--data", dir, "audit", "tail", "--kind", "token.revoked", "--json")
	if n := strings.Count(r.stdout, "\n"); n != 2 {
		t.Errorf("%d token.revoked events after the reset, want 2:\n%s", n, r.stdout)
	}

	r = runCLI(t, "--data", dir, "user", "reset", "alice")
	if r.code != exitOK || !strings.Contains(r.stdout, "No active session was revoked: there was none.") {
		t.Errorf("second reset: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUserResetKeepSessions(t *testing.T) {
	dir := t.TempDir()
	seedAccount(t, dir, "alice", aliceID)
	hashes := []tokens.Hash{
		seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web")),
		seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Findroid")),
	}
	r := runCLI(t, "--data", dir, "user", "reset", "alice", "--keep-sessions")
	if r.code != exitOK || !strings.Contains(r.stdout, "No active session was revoked; 2 stay signed in (jellyguard token revoke --user alice ends them).") {
		t.Fatalf("reset --keep-sessions: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	statuses := listStatuses(t, dir)
	for _, h := range hashes {
		if statuses[h.String()] != "active" {
			t.Errorf("reset --keep-sessions revoked %s: %v", h.Short(), statuses)
		}
	}
}

// TestUserResetSaysWhenTheUserIsLockedOut: a user who must use a second
// factor and whose grace period is over cannot sign in after a reset until
// enrolled again; the admin is told what to do.
func TestUserResetSaysWhenTheUserIsLockedOut(t *testing.T) {
	dir := t.TempDir()
	seedAccount(t, dir, "alice", aliceID)
	env := map[string]string{"JELLYGUARD_DATA": dir, "JELLYGUARD_TWO_FACTOR_REQUIRE": "all", "JELLYGUARD_TWO_FACTOR_GRACE_PERIOD": "0s"}
	r := runCLIEnv(t, env, "user", "reset", "alice")
	if r.code != exitOK || !strings.Contains(r.stdout, "they cannot sign in until enrolled again") ||
		!strings.Contains(r.stdout, "jellyguard user totp alice") {
		t.Errorf("reset of a required user past the grace period: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	env["JELLYGUARD_TWO_FACTOR_GRACE_PERIOD"] = "168h"
	if r := runCLIEnv(t, env, "user", "reset", "alice"); strings.Contains(r.stdout, "cannot sign in") {
		t.Errorf("reset within the grace period warns of a lockout: %q", r.stdout)
	}
}
