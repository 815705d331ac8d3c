package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// seedToken records a token in the data directory as a login through the
// gateway would, and returns its hash.
func seedToken(t *testing.T, dir, token string, is tokens.Issued) tokens.Hash {
	t.Helper()
	ctx := context.Background()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFileName), log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}()
	table, err := tokens.New(ctx, tokens.Options{Store: st, Keys: keys, Audit: audit.New(st, keys, log), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := table.Record(ctx, token, is)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func issued(user, id, client string) tokens.Issued {
	return tokens.Issued{UserID: id, UserName: user, DeviceID: "dev-" + client, Client: client,
		DeviceName: "Firefox", IP: "203.0.113.7", Source: "login"}
}

const (
	aliceID = "4f6a6c0c4a6d4f0e9d8b0b1a2c3d4e5f"
	bobID   = "5a6b7c8d9e0f4a1b8c2d3e4f5a6b7c8d"
)

func TestTokenListEmptyDataDir(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, "--data", dir, "token", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, "No active tokens.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "--data", dir, "token", "list", "--json")
	if r.code != exitOK || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestTokenRevokeUnknownPrefix(t *testing.T) {
	dir := t.TempDir()
	seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	r := runCLI(t, "--data", dir, "token", "revoke", "0000000000")
	if r.code != exitError {
		t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "jellyguard: no token with hash 0000000000") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runCLI(t, "--data", dir, "token", "revoke", "abc")
	if r.code != exitError || !strings.Contains(r.stderr, "at least its first 8 hex digits") {
		t.Errorf("short prefix: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAuditVerifyFreshDataDir(t *testing.T) {
	r := runCLI(t, "--data", t.TempDir(), "audit", "verify")
	if r.code != exitOK || strings.TrimSpace(r.stdout) != "audit log intact: 0 events" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestTokenLifecycle(t *testing.T) {
	dir := t.TempDir()
	a1 := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	a2 := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Findroid"))
	b1 := seedToken(t, dir, randomToken(t), issued("bob", bobID, "Infuse"))

	r := runCLI(t, "--data", dir, "token", "list")
	if r.code != exitOK {
		t.Fatalf("token list: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, h := range []tokens.Hash{a1, a2, b1} {
		if !strings.Contains(r.stdout, h.Short()) {
			t.Errorf("token list lacks %s:\n%s", h.Short(), r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "TOKEN") || !strings.Contains(r.stdout, "LAST SEEN") {
		t.Errorf("token list has no header:\n%s", r.stdout)
	}

	r = runCLI(t, "--data", dir, "token", "revoke", a1.String()[:10])
	if r.code != exitOK || !strings.Contains(r.stdout, "Revoked "+a1.Short()) ||
		!strings.Contains(r.stdout, "a running gateway will log it out") {
		t.Fatalf("revoke: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "--data", dir, "token", "revoke", a1.String())
	if r.code != exitOK || !strings.Contains(r.stdout, "already revoked") {
		t.Errorf("second revoke: exit %d, stdout %q", r.code, r.stdout)
	}

	r = runCLI(t, "--data", dir, "token", "list", "--user", "ALICE")
	if strings.Contains(r.stdout, a1.Short()) || !strings.Contains(r.stdout, a2.Short()) || strings.Contains(r.stdout, b1.Short()) {
		t.Errorf("token list --user alice (active only):\n%s", r.stdout)
	}

	statuses := listStatuses(t, dir)
	if statuses[a1.String()] != "revoked" || statuses[a2.String()] != "active" || statuses[b1.String()] != "active" {
		t.Errorf("statuses after revoke: %v", statuses)
	}

	r = runCLI(t, "--data", dir, "token", "revoke", "--user", "alice")
	if r.code != exitOK || !strings.Contains(r.stdout, "Revoked "+a2.Short()) || strings.Contains(r.stdout, a1.Short()) {
		t.Fatalf("revoke --user: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "--data", dir, "token", "revoke", "--user", "alice")
	if r.code != exitOK || !strings.Contains(r.stdout, "no active tokens") {
		t.Errorf("revoke --user again: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, "--data", dir, "token", "revoke", "--user", "mallory")
	if r.code != exitError || !strings.Contains(r.stderr, `"mallory"`) {
		t.Errorf("revoke --user unknown: exit %d, stderr %q", r.code, r.stderr)
	}
	if statuses := listStatuses(t, dir); statuses[b1.String()] != "active" {
		t.Errorf("bob's token was touched: %v", statuses)
	}

	r = runCLI(t, "--data", dir, "audit", "tail", "--json")
	if r.code != exitOK || strings.Count(r.stdout, `"kind":"`+string(audit.TokenRevoked)+`"`) != 2 {
		t.Errorf("audit tail: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, "--data", dir, "audit", "tail", "-n", "1")
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, string(audit.TokenRevoked)) {
		t.Errorf("audit tail -n 1: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, "--data", dir, "audit", "verify")
	if r.code != exitOK || !strings.Contains(r.stdout, "audit log intact: 2 events") {
		t.Errorf("audit verify: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "--data", dir, "user", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, "alice") || !strings.Contains(r.stdout, "bob") {
		t.Errorf("user list: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var users []userJSON
	r = runCLI(t, "--data", dir, "user", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil || len(users) != 2 {
		t.Fatalf("user list --json: %v, %q", err, r.stdout)
	}
	if users[0].Name != "alice" || users[0].ActiveTokens == nil || *users[0].ActiveTokens != 0 ||
		users[1].Name != "bob" || *users[1].ActiveTokens != 1 {
		t.Errorf("user list --json: %+v", users)
	}
}

// listStatuses returns the status of every token by full hash.
func listStatuses(t *testing.T, dir string) map[string]string {
	t.Helper()
	r := runCLI(t, "--data", dir, "token", "list", "--all", "--json")
	var list []tokenJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("token list --json: %v (%q)", err, r.stdout)
	}
	out := map[string]string{}
	for _, tj := range list {
		out[tj.Hash] = tj.Status
	}
	return out
}

func TestFindTokenPrefixes(t *testing.T) {
	mk := func(hexHash string) store.Token {
		h, err := tokens.ParseHash(hexHash)
		if err != nil {
			t.Fatal(err)
		}
		return store.Token{Hash: h}
	}
	list := []store.Token{
		mk("aaaaaaaa11111111111111111111111111111111111111111111111111111111"),
		mk("aaaaaaaa22222222222222222222222222222222222222222222222222222222"),
		mk("bbbbbbbb33333333333333333333333333333333333333333333333333333333"),
	}
	tests := []struct {
		arg, want, err string
	}{
		{arg: "bbbbbbbb", want: "bbbbbbbb3333"},
		{arg: "AAAAAAAA1", want: "aaaaaaaa1111"},
		{arg: "aaaaaaaa22222222222222222222222222222222222222222222222222222222", want: "aaaaaaaa2222"},
		{arg: "aaaaaaaa", err: "ambiguous: it matches 2 tokens"},
		{arg: "cccccccc", err: "no token with hash cccccccc"},
		{arg: "bbbb", err: "at least its first 8"},
		{arg: "bbbbbbbz", err: "not a hex digit"},
	}
	for _, tt := range tests {
		st, err := findToken(list, tt.arg)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want %q", tt.arg, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.arg, err)
		case tt.err == "" && tokens.Hash(st.Hash).Short() != tt.want:
			t.Errorf("%q: found %s, want %s", tt.arg, tokens.Hash(st.Hash).Short(), tt.want)
		}
	}
	if _, err := findTokens(list, []string{"bbbbbbbb", "cccccccc", "aaaaaaaa"}); err == nil ||
		!strings.Contains(err.Error(), "cccccccc") || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("findTokens should report every bad argument: %v", err)
	}
}

func TestCellNeutralisesControlCharacters(t *testing.T) {
	if got := cell("evil\x1b[31m\tname\n"); strings.ContainsAny(got, "\x1b\t\n") {
		t.Errorf("cell kept control characters: %q", got)
	}
	if got := cell(""); got != none {
		t.Errorf("empty cell %q", got)
	}
}
