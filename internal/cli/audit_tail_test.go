package cli

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/secret"
)

// tailEvents runs audit tail --json with args and returns the events.
func tailEvents(t *testing.T, dir string, args ...string) []eventJSON {
	t.Helper()
	r := runCLI(t, append([]string{"--data", dir, "audit", "tail", "--json"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("audit tail %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	var out []eventJSON
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var ev eventJSON
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit tail %v: %v in %q", args, err, line)
		}
		out = append(out, ev)
	}
	return out
}

func kindsOf(evs []eventJSON) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Kind+":"+ev.UserName)
	}
	return out
}

func TestAuditTailFilters(t *testing.T) {
	dir := t.TempDir()
	a1 := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	b1 := seedToken(t, dir, randomToken(t), issued("bob", bobID, "Infuse"))
	seedAccount(t, dir, "alice", aliceID)
	for _, args := range [][]string{
		{"token", "revoke", a1.String()},
		{"ban", "add", "203.0.113.7"},
		{"token", "revoke", b1.String()},
		{"user", "require", "alice"},
	} {
		if r := runCLI(t, append([]string{"--data", dir}, args...)...); r.code != exitOK {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}

	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"token.revoked:alice", "ban.added:", "token.revoked:bob", "user.requirement:alice"}},
		{[]string{"--user", "ALICE"}, []string{"token.revoked:alice", "user.requirement:alice"}},
		{[]string{"--user", bobID}, []string{"token.revoked:bob"}},
		{[]string{"--kind", "token.revoked"}, []string{"token.revoked:alice", "token.revoked:bob"}},
		{[]string{"--kind", "ban,user"}, []string{"ban.added:", "user.requirement:alice"}},
		{[]string{"--kind", "token", "--kind", "ban.added"}, []string{"token.revoked:alice", "ban.added:", "token.revoked:bob"}},
		{[]string{"--kind", "token", "--user", "alice"}, []string{"token.revoked:alice"}},
		{[]string{"--kind", "token", "-n", "1"}, []string{"token.revoked:bob"}},
		{[]string{"--since", "1h"}, []string{"token.revoked:alice", "ban.added:", "token.revoked:bob", "user.requirement:alice"}},
		{[]string{"--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, nil},
		{[]string{"--since", time.Now().Add(-time.Hour).Format("2006-01-02 15:04")}, []string{"token.revoked:alice", "ban.added:", "token.revoked:bob", "user.requirement:alice"}},
		{[]string{"--user", "mallory"}, nil},
	} {
		if got := kindsOf(tailEvents(t, dir, c.args...)); !slices.Equal(got, c.want) {
			t.Errorf("audit tail %v: %v, want %v", c.args, got, c.want)
		}
	}

	// The table form filters the same way.
	r := runCLI(t, "--data", dir, "audit", "tail", "--kind", "ban")
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "ban.added") {
		t.Errorf("audit tail --kind ban: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestAuditTailFilterReadsPastOneBatch: a filter finds the newest matches
// however many events came after them.
func TestAuditTailFilterReadsPastOneBatch(t *testing.T) {
	dir := t.TempDir()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir)
	log := audit.New(st, keys, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	write := func(kind audit.Kind, user string) {
		if _, err := log.Write(ctx, audit.Event{Kind: kind, UserName: user}); err != nil {
			t.Fatal(err)
		}
	}
	write(audit.SignInFailure, "mallory")
	for range followBatch + 10 {
		write(audit.SignInSuccess, "alice")
	}
	write(audit.SignInFailure, "mallory")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := kindsOf(tailEvents(t, dir, "--user", "mallory")); !slices.Equal(got, []string{"signin.failure:mallory", "signin.failure:mallory"}) {
		t.Errorf("audit tail --user mallory: %v", got)
	}
	if got := tailEvents(t, dir, "--kind", "signin.success", "-n", "3"); len(got) != 3 || got[2].Seq != int64(followBatch+11) {
		t.Errorf("audit tail --kind signin.success -n 3: %+v", got)
	}
}

func TestAuditTailRefusesBadFilters(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "signon"}, `--kind "signon": not an audit event kind; give a kind such as signin.failure or one of the families ban, browser`},
		{[]string{"--kind", "signin.Fail ure"}, `--kind "signin.fail ure": not an audit event kind`},
		{[]string{"--kind", "signin."}, `--kind "signin.": not an audit event kind`},
		{[]string{"--since", "yesterday"}, `--since "yesterday": give a duration back from now (90m, 24h, 7d) or a time`},
		{[]string{"--since", "24"}, `--since "24": give a duration back from now`},
		{[]string{"--since", "-2h"}, `--since "-2h": a duration back from now must be positive`},
		{[]string{"--since", "2026-13-01"}, `--since "2026-13-01": give a duration back from now`},
		{[]string{"--user", "  "}, `--user: give a user name or id`},
	} {
		r := runCLI(t, append([]string{"--data", dir, "audit", "tail"}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("audit tail %v: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                       now.Add(-90 * time.Minute),
		"24h":                       now.Add(-24 * time.Hour),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"1.5d":                      now.Add(-36 * time.Hour),
		"2026-11-20T10:00:00Z":      time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		"2026-11-20T10:00:00+01:00": time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		"2026-11-20":                time.Date(2026, 11, 20, 0, 0, 0, 0, time.Local),
		"2026-11-20 10:30":          time.Date(2026, 11, 20, 10, 30, 0, 0, time.Local),
		"2026-11-20T10:30":          time.Date(2026, 11, 20, 10, 30, 0, 0, time.Local),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestAuditFamiliesAreTheKinds keeps --kind's families equal to the first
// words of the event kinds package audit defines.
func TestAuditFamiliesAreTheKinds(t *testing.T) {
	path := filepath.Join("..", "audit", "event.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]bool{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					continue
				}
				kind, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				family, _, _ := strings.Cut(kind, ".")
				families[family] = true
			}
		}
	}
	var want []string
	for f := range families {
		want = append(want, f)
	}
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(auditFamilies, want) {
		t.Errorf("auditFamilies = %v; the kinds in %s have the families %v: update auditFamilies in audit.go", auditFamilies, path, want)
	}
}
