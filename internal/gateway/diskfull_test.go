package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// The gateway's answers to a sign-in the store cannot record.
func refusedForStorage(status int) bool { return status == http.StatusServiceUnavailable }

// fillDatabase makes the database file full the way a full disk does: no
// page may be added to it, and the audit log's last page has no room left
// (filled with events until the next one fails). The connection pool is
// cut to one connection, because the page limit is a connection's setting.
// The returned function frees the space again.
func fillDatabase(t *testing.T, e *testutil.Env) (free func()) {
	t.Helper()
	ctx := context.Background()
	db := e.Store.DB()
	db.SetMaxOpenConns(1)
	if !testkit.Eventually(5*time.Second, func() bool { return db.Stats().OpenConnections <= 1 }) {
		t.Fatal("the store kept more than one connection")
	}
	var pages int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("filler ", 40)
	full := false
	for range 100000 {
		if _, err := e.Audit.Write(ctx, audit.Event{Kind: audit.ConfigChanged, Note: note}); err != nil {
			full = true
			break
		}
	}
	if !full {
		t.Fatal("the database never filled up")
	}
	return func() {
		if _, err := db.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(0)
	}
}

// signInsWhileFull signs in n times while nothing can be written and
// checks each is refused as a storage failure: no token reaches the
// client, and the one Jellyfin issued is logged out there and refused
// through the gateway.
func signInsWhileFull(t *testing.T, e *testutil.Env, issued *testutil.Issued, n int) {
	t.Helper()
	for i := range n {
		dev := fmt.Sprintf("full-%d", i)
		status, token, resp := e.Login("/Users/AuthenticateByName", "alice", e.Passwords["alice"], dev)
		_ = resp.Body.Close()
		if !refusedForStorage(status) || token != "" {
			t.Fatalf("sign-in %d on a full disk: status %d, token %q; want %d and none", i, status, token,
				http.StatusServiceUnavailable)
		}
		withheld := issued.Last(t, dev)
		mustBeLoggedOut(t, e, withheld, dev, 10*time.Second)
		mustFail(t, e, withheld)
	}
}

// auditMatchesReleases checks that the audit log is intact and has one
// signin.success for every session the gateway released, and no more.
func auditMatchesReleases(t *testing.T, e *testutil.Env, released int) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Audit.Verify(ctx); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	evs, err := e.Audit.Since(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	successes := 0
	for _, ev := range evs {
		if ev.Kind == audit.SignInSuccess {
			successes++
		}
	}
	toks, err := e.Store.Tokens(ctx, store.TokenFilter{IncludeRevoked: true})
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, tok := range toks {
		if tok.Source != "resolved" {
			stored++
		}
	}
	if successes != released || stored != released {
		t.Fatalf("%d signin.success events and %d released tokens stored, want %d of each", successes, stored, released)
	}
}

// TestDiskFullRefusesSignIns fills the database the way a full disk would
// and checks that no sign-in is released unaudited: each is refused as a
// storage failure, its token logged out in Jellyfin, and the audit log
// stays intact with one event per released session. Once space is freed,
// sign-ins work again.
func TestDiskFullRefusesSignIns(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	mustWork(t, e, e.MustLogin("alice", "before"))

	free := fillDatabase(t, e)
	signInsWhileFull(t, e, issued, 5)
	auditMatchesReleases(t, e, 1)

	free()
	tok := e.MustLogin("alice", "after")
	mustWork(t, e, tok)
	auditMatchesReleases(t, e, 2)
}

// TestDiskFullOnTmpfs runs the gateway's data directory on a small tmpfs
// and fills it with a file, as a disk runs full. It needs root (mount);
// TestDiskFullRefusesSignIns is the portable variant.
func TestDiskFullOnTmpfs(t *testing.T) {
	dir := testkit.TinyDisk(t, "16m")
	e, issued := testutil.StartRecording(t, testutil.Options{Configure: func(c *config.Config) { c.Data = dir }})
	mustWork(t, e, e.MustLogin("alice", "before"))

	// An empty write-ahead log: the next write has to grow it.
	if _, err := e.Store.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	signInsWhileFull(t, e, issued, 3)
	auditMatchesReleases(t, e, 1)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	tok := e.MustLogin("alice", "after")
	mustWork(t, e, tok)
	auditMatchesReleases(t, e, 2)
}

// fillDisk writes path until the file system has no space left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, size := range []int{1 << 20, 4096, 1} {
		chunk := make([]byte, size)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
}

// TestBanAndItsEventCommitTogether stops a ban at its audit event and
// checks that no ban is left behind, in the store or in force; once the
// event can be written, the ban and its ban.added event are stored
// together.
func TestBanAndItsEventCommitTogether(t *testing.T) {
	ctx := context.Background()
	e := testutil.Start(t, testutil.Options{})
	db := e.Store.DB()
	if _, err := db.Exec(`CREATE TRIGGER fail_audit BEFORE INSERT ON audit
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix("203.0.113.7/32")
	if _, err := e.App.Shield.Ban(ctx, p, "test", "test", 0); err == nil {
		t.Fatal("a ban whose audit event cannot be written was set")
	}
	if _, err := e.App.Shield.AutoBan(ctx, p, "too many failures"); err == nil {
		t.Fatal("an automatic ban whose audit event cannot be written was set")
	}
	if _, err := e.Store.Ban(ctx, p.String()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ban stored without its event: %v", err)
	}
	if _, banned := e.App.Shield.Banned(p.Addr()); banned {
		t.Fatal("a ban without its event is in force")
	}
	if _, err := db.Exec(`DROP TRIGGER fail_audit`); err != nil {
		t.Fatal(err)
	}

	if _, err := e.App.Shield.Ban(ctx, p, "test", "test", 0); err != nil {
		t.Fatal(err)
	}
	if _, banned := e.App.Shield.Banned(p.Addr()); !banned {
		t.Fatal("the ban is not in force")
	}
	evs, err := e.Audit.Since(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var added []store.AuditEvent
	for _, ev := range evs {
		if ev.Kind == audit.BanAdded {
			added = append(added, ev)
		}
	}
	if len(added) != 1 || added[0].IP != p.String() || !strings.Contains(added[0].Detail, "by test") {
		t.Fatalf("ban.added events %+v, want one for %s", added, p)
	}
	if _, err := e.Audit.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestChallengeAnswerThatCannotBeAuditedLogsItsTokenOut answers a web
// challenge with the right code while the audit log cannot be written:
// the withheld session is not handed out, and since its challenge is used
// up it is logged out in Jellyfin rather than left valid there.
func TestChallengeAnswerThatCannotBeAuditedLogsItsTokenOut(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	_, auth, _ := enrollAlice(t, e)
	br := e.NewBrowser("firefox-full")
	login := br.Login("alice", e.Passwords["alice"])
	_ = login.Body.Close()
	if login.StatusCode != http.StatusUnauthorized || login.Header.Get("X-Jellyguard-Challenge") != challengePage {
		t.Fatalf("web login: %d, challenge header %q", login.StatusCode, login.Header.Get("X-Jellyguard-Challenge"))
	}
	withheld := issued.Last(t, br.DeviceID)

	db := e.Store.DB()
	if _, err := db.Exec(`CREATE TRIGGER fail_audit BEFORE INSERT ON audit
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	answer := br.PostForm(challengePage, url.Values{"code": {auth.Code(t)}})
	body := readBody(t, answer)
	if answer.StatusCode == http.StatusOK || strings.Contains(body, withheld) {
		t.Fatalf("the challenge answer released a session it could not audit: %d %s", answer.StatusCode, body)
	}
	mustBeLoggedOut(t, e, withheld, br.DeviceID, 10*time.Second)
	mustFail(t, e, withheld)
	if _, err := db.Exec(`DROP TRIGGER fail_audit`); err != nil {
		t.Fatal(err)
	}
	tok, _ := passWeb(t, br, "alice", e.Passwords["alice"], auth.Code(t), false)
	mustWork(t, e, tok)
}
