package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
)

// seedAccount records an account as a sign-in through the gateway would.
func seedAccount(t *testing.T, dir, name, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := secret.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFileName), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	now := time.Now()
	if err := st.PutAccount(ctx, store.Account{UserID: id, UserName: name, NameFolded: jellyfin.FoldName(name),
		FirstSeenAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var otpauthURI = regexp.MustCompile(`^otpauth://totp/[^:/?]+:Alice\?.*secret=[A-Z2-7]{32}`)

func TestUserTOTPEnrollsAndPrintsURIAndCodes(t *testing.T) {
	dir := t.TempDir()
	const id = "0123456789abcdef0123456789abcdef"
	seedAccount(t, dir, "Alice", id)
	r := runCLI(t, "--data", dir, "user", "totp", "alice")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if !otpauthURI.MatchString(lines[0]) {
		t.Fatalf("first line is not the otpauth URI: %q", lines[0])
	}
	codes := regexp.MustCompile(`(?m)^[0-9A-Z]{5}-[0-9A-Z]{5}$`).FindAllString(r.stdout, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes printed:\n%s", len(codes), r.stdout)
	}
	st := openStore(t, dir)
	if tp, err := st.TOTP(context.Background(), id); err != nil || !tp.Confirmed {
		t.Fatalf("enrollment stored: %+v %v", tp, err)
	}
	if rc, _ := st.RecoveryCodes(context.Background(), id); len(rc) != 10 {
		t.Fatalf("%d recovery codes stored", len(rc))
	}
}

func TestUserRequireExemptAndReset(t *testing.T) {
	dir := t.TempDir()
	const id = "fedcba9876543210fedcba9876543210"
	seedAccount(t, dir, "bob", id)
	for _, c := range []struct {
		cmd  string
		want store.Requirement
	}{{"require", store.RequireAlways}, {"exempt", store.RequireNever}, {"default", store.RequireDefault}} {
		if r := runCLI(t, "--data", dir, "user", c.cmd, "BOB"); r.code != 0 {
			t.Fatalf("%s: exit %d: %s", c.cmd, r.code, r.stderr)
		}
		st := openStore(t, dir)
		acct, err := st.Account(context.Background(), id)
		if err != nil || acct.Requirement != c.want {
			t.Fatalf("%s: stored %+v %v", c.cmd, acct, err)
		}
	}
	if r := runCLI(t, "--data", dir, "user", "totp", "bob"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := runCLI(t, "--data", dir, "user", "reset", "bob")
	if r.code != 0 || !strings.Contains(r.stdout, "Reset bob") {
		t.Fatalf("reset: %d %s %s", r.code, r.stdout, r.stderr)
	}
	st := openStore(t, dir)
	if _, err := st.TOTP(context.Background(), id); err == nil {
		t.Fatal("reset kept the enrollment")
	}
	evs, err := st.Audit(context.Background(), store.AuditQuery{})
	if err != nil || !hasAuditKind(evs, "user.reset") || !hasAuditKind(evs, "user.requirement") {
		t.Fatalf("audit: %v %v", evs, err)
	}
}

func hasAuditKind(evs []store.AuditEvent, kind store.AuditKind) bool {
	for _, ev := range evs {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}

func TestUserCommandsRefuseUnknownUsers(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"totp", "reset", "require", "exempt"} {
		r := runCLI(t, "--data", dir, "user", cmd, "nobody")
		if r.code != 1 || !strings.Contains(r.stderr, `no such user "nobody"`) {
			t.Errorf("%s nobody: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
}

func TestUserNetworksSetShowAndClear(t *testing.T) {
	dir := t.TempDir()
	const id = "00112233445566778899aabbccddeeff"
	seedAccount(t, dir, "grandma", id)
	r := runCLI(t, "--data", dir, "user", "networks", "grandma", "198.51.100.0/24", "grandma.dyndns.example")
	if r.code != 0 || !strings.Contains(r.stdout, "only from: 198.51.100.0/24, grandma.dyndns.example") {
		t.Fatalf("set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "--data", dir, "user", "networks", "grandma"); !strings.Contains(r.stdout, "grandma.dyndns.example") {
		t.Fatalf("show: %q", r.stdout)
	}
	if r := runCLI(t, "--data", dir, "user", "networks", "grandma", "not a network!"); r.code != 1 {
		t.Fatalf("a bad entry: exit %d", r.code)
	}
	if r := runCLI(t, "--data", dir, "user", "networks", "grandma", "--clear"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, "--data", dir, "user", "networks", "grandma"); !strings.Contains(r.stdout, "anywhere") {
		t.Fatalf("after clear: %q", r.stdout)
	}
}

func TestBanAddListRemove(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "--data", dir, "ban", "add", "203.0.113.7", "--reason", "scanning", "--for", "2h"); r.code != 0 || !strings.Contains(r.stdout, "Banned 203.0.113.7/32") {
		t.Fatalf("add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "--data", dir, "ban", "list"); !strings.Contains(r.stdout, "203.0.113.7/32") || !strings.Contains(r.stdout, "scanning") {
		t.Fatalf("list: %q", r.stdout)
	}
	if r := runCLI(t, "--data", dir, "ban", "remove", "203.0.113.7"); r.code != 0 {
		t.Fatalf("remove: %q", r.stderr)
	}
	if r := runCLI(t, "--data", dir, "ban", "list"); !strings.Contains(r.stdout, "No active bans") {
		t.Fatalf("after remove: %q", r.stdout)
	}
	if r := runCLI(t, "--data", dir, "ban", "add", "nonsense"); r.code != 2 {
		t.Fatalf("a bad address: exit %d", r.code)
	}
	if r := runCLI(t, "--data", dir, "ban", "remove", "198.51.100.1"); r.code != 1 {
		t.Fatalf("lifting no ban: exit %d", r.code)
	}
}
