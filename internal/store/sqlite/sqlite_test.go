package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "jellyguard.db"))
}

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func sampleToken(name string, created time.Time) store.Token {
	return store.Token{
		Hash: hashOf(name), Kind: store.KindSession, UserID: "u-" + name, UserName: name,
		IsAdmin: true, DeviceID: "dev", Client: "Jellyfin Web", DeviceName: "Firefox",
		IP: "192.0.2.7", Source: "login", Factor: "totp", Sealed: []byte{1, 2, 3}, CreatedAt: created,
		LastSeenAt: created.Add(time.Minute),
	}
}

func TestOpenSetsPragmas(t *testing.T) {
	s := openTemp(t)
	want := map[string]string{
		"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1", "synchronous": "1",
	}
	for pragma, v := range want {
		var got string
		if err := s.DB().QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, v) {
			t.Errorf("%s = %s, want %s", pragma, got, v)
		}
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "jellyguard.db")
	s := openAt(t, path)
	if err := s.PutToken(t.Context(), sampleToken("a", t0)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(p), perm)
		}
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b#c%d?e", "x.db")
	s := openAt(t, path)
	if err := s.PutToken(t.Context(), sampleToken("a", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

func TestOpenLogsMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := Open(t.Context(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := buf.String()
	if want := `msg="applying migration" version=1 name=00001_initial.sql`; !strings.Contains(out, want) {
		t.Errorf("log lacks %q:\n%s", want, out)
	}
	// A fresh database gets every migration: the version reached equals
	// the number applied.
	if m := regexp.MustCompile(`msg="database schema ready" version=(\d+) applied=(\d+)`).FindStringSubmatch(out); m == nil || m[1] != m[2] {
		t.Errorf("log lacks a complete schema summary:\n%s", out)
	}

	buf.Reset()
	s, err = Open(t.Context(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	out = buf.String()
	if strings.Contains(out, "applying migration") || !strings.Contains(out, "applied=0") {
		t.Errorf("second open re-applied migrations:\n%s", out)
	}
	var n int
	if err := s.DB().QueryRow("SELECT 1").Scan(&n); err == nil {
		t.Error("DB still usable after Close")
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := sampleToken("a", t0)
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, tok.Hash, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEvent{Kind: "x"}, testChain); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openAt(t, path)
	got, err := s.Token(ctx, tok.Hash)
	if err != nil || !got.Revoked() {
		t.Fatalf("token after reopen: %+v, %v", got, err)
	}
	if last, _ := s.LastChange(ctx); last != 1 {
		t.Errorf("LastChange after reopen = %d, want 1", last)
	}
	if evs, _ := s.Audit(ctx, store.AuditQuery{}); len(evs) != 1 {
		t.Errorf("audit after reopen has %d events, want 1", len(evs))
	}
}

func TestOpenFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(t.Context(), dir, nil); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("opening a directory: err = %v, want one naming the path", err)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	want := sampleToken("alice", t0)
	want.LoggedOutAt = t0.Add(2 * time.Hour)
	if err := s.PutToken(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, want.Hash)
	if err != nil {
		t.Fatal(err)
	}
	assertToken(t, got, want)

	apiKey := store.Token{Hash: hashOf("key"), Kind: store.KindAPIKey, Source: "resolved", CreatedAt: t0}
	if err := s.PutToken(ctx, apiKey); err != nil {
		t.Fatal(err)
	}
	got, err = s.Token(ctx, apiKey.Hash)
	if err != nil {
		t.Fatal(err)
	}
	assertToken(t, got, apiKey)
	if !got.LastSeenAt.IsZero() || got.Sealed != nil {
		t.Errorf("empty fields came back non-empty: %+v", got)
	}

	if _, err := s.Token(ctx, hashOf("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing token: err = %v, want ErrNotFound", err)
	}
}

func assertToken(t *testing.T, got, want store.Token) {
	t.Helper()
	times := [][2]time.Time{{got.CreatedAt, want.CreatedAt}, {got.LastSeenAt, want.LastSeenAt},
		{got.RevokedAt, want.RevokedAt}, {got.LoggedOutAt, want.LoggedOutAt}}
	for i, p := range times {
		if !p[0].Equal(p[1]) {
			t.Errorf("time %d = %v, want %v", i, p[0], p[1])
		}
	}
	got.CreatedAt, got.LastSeenAt, got.RevokedAt, got.LoggedOutAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.CreatedAt, want.LastSeenAt, want.RevokedAt, want.LoggedOutAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("token =\n%+v\nwant\n%+v", got, want)
	}
}

func TestPutTokenReplacesButKeepsRevocation(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	tok := sampleToken("a", t0)
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	tok.UserName, tok.IsAdmin, tok.IP, tok.Factor = "renamed", false, "198.51.100.1", "recovery"
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Token(ctx, tok.Hash)
	assertToken(t, got, tok)

	if _, err := s.RevokeToken(ctx, tok.Hash, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkLoggedOut(ctx, tok.Hash, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, tok); err != nil { // RevokedAt and LoggedOutAt zero
		t.Fatal(err)
	}
	got, _ = s.Token(ctx, tok.Hash)
	if !got.RevokedAt.Equal(t0.Add(time.Hour)) || !got.LoggedOutAt.Equal(t0.Add(2*time.Hour)) || got.Factor != "recovery" {
		t.Fatalf("storing again lost the revocation or logout: %+v", got)
	}
}

func TestTokensFilter(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	a1, a2, b := sampleToken("a1", t0), sampleToken("a2", t0.Add(time.Minute)), sampleToken("b", t0.Add(2*time.Minute))
	a1.UserID, a2.UserID = "ua", "ua"
	for _, tok := range []store.Token{a1, a2, b} {
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RevokeToken(ctx, a2.Hash, t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		f    store.TokenFilter
		want []string
	}{
		{store.TokenFilter{}, []string{"b", "a1"}},
		{store.TokenFilter{IncludeRevoked: true}, []string{"b", "a2", "a1"}},
		{store.TokenFilter{IncludeRevoked: true, Limit: 2}, []string{"b", "a2"}},
		{store.TokenFilter{UserID: "ua"}, []string{"a1"}},
		{store.TokenFilter{UserID: "ua", IncludeRevoked: true}, []string{"a2", "a1"}},
		{store.TokenFilter{UserID: "nobody", IncludeRevoked: true}, nil},
	}
	for _, tt := range tests {
		got, err := s.Tokens(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tok := range got {
			names = append(names, tok.UserName)
		}
		if fmt.Sprint(names) != fmt.Sprint(tt.want) {
			t.Errorf("Tokens(%+v) = %v, want %v", tt.f, names, tt.want)
		}
	}
}

func TestRevokeTokenAppendsChange(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	tok := sampleToken("a", t0)
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	got, err := s.RevokeToken(ctx, tok.Hash, at)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(at) || got.UserName != "a" {
		t.Fatalf("RevokeToken returned %+v", got)
	}
	changes, err := s.Changes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Change{Seq: 1, Kind: store.ChangeTokenRevoked, Key: hex.EncodeToString(tok.Hash[:]), At: at}
	if len(changes) != 1 || changes[0] != want {
		t.Fatalf("changes = %+v, want [%+v]", changes, want)
	}

	again, err := s.RevokeToken(ctx, tok.Hash, at.Add(time.Hour))
	if err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	if !again.RevokedAt.Equal(at) {
		t.Errorf("revoking again moved RevokedAt to %v", again.RevokedAt)
	}
	if last, _ := s.LastChange(ctx); last != 1 {
		t.Errorf("revoking again appended a change (last = %d)", last)
	}
	if _, err := s.RevokeToken(ctx, hashOf("nope"), at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking a missing token: err = %v, want ErrNotFound", err)
	}
}

func TestRevokeTokenIsAtomic(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	tok := sampleToken("a", t0)
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Make the change insert fail: the revocation must roll back with it.
	if _, err := s.DB().Exec(`CREATE TRIGGER no_changes BEFORE INSERT ON changes
		BEGIN SELECT RAISE(ABORT, 'changes refused'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, tok.Hash, t0); err == nil {
		t.Fatal("RevokeToken succeeded although the change could not be written")
	}
	got, _ := s.Token(ctx, tok.Hash)
	if got.Revoked() {
		t.Fatal("token revoked without its change")
	}
}

func TestChangesAndLastChange(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	if last, err := s.LastChange(ctx); err != nil || last != 0 {
		t.Fatalf("LastChange on empty = %d, %v", last, err)
	}
	if c, err := s.Changes(ctx, 0); err != nil || len(c) != 0 {
		t.Fatalf("Changes on empty = %v, %v", c, err)
	}
	for i := range 3 {
		tok := sampleToken(fmt.Sprint(i), t0)
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeToken(ctx, tok.Hash, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if last, _ := s.LastChange(ctx); last != 3 {
		t.Fatalf("LastChange = %d, want 3", last)
	}
	c, err := s.Changes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	h2 := hashOf("2")
	if len(c) != 2 || c[0].Seq != 2 || c[1].Seq != 3 || c[1].Key != hex.EncodeToString(h2[:]) {
		t.Fatalf("Changes(1) = %+v", c)
	}
	if c, _ := s.Changes(ctx, 3); len(c) != 0 {
		t.Fatalf("Changes(3) = %+v, want none", c)
	}
}

func TestMarkLoggedOutAndTouch(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	tok := sampleToken("a", t0)
	tok.LastSeenAt = time.Time{}
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(2 * time.Hour), t0.Add(time.Hour)} {
		if err := s.TouchToken(ctx, tok.Hash, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkLoggedOut(ctx, tok.Hash, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkLoggedOut(ctx, tok.Hash, t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Token(ctx, tok.Hash)
	if !got.LastSeenAt.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("LastSeenAt = %v, want the later touch", got.LastSeenAt)
	}
	if !got.LoggedOutAt.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("LoggedOutAt = %v, want the first logout", got.LoggedOutAt)
	}
	if got.Revoked() {
		t.Error("logging out revoked the token")
	}
	missing := hashOf("nope")
	if err := s.TouchToken(ctx, missing, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("touching a missing token: err = %v", err)
	}
	if err := s.MarkLoggedOut(ctx, missing, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("logging out a missing token: err = %v", err)
	}
}

func TestUsers(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	put := func(tok store.Token) {
		t.Helper()
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	old := sampleToken("old", t0)
	old.UserID, old.UserName, old.IsAdmin = "ua", "alice-old", false
	old.LastSeenAt = t0.Add(5 * time.Hour)
	cur := sampleToken("cur", t0.Add(time.Hour))
	cur.UserID, cur.UserName, cur.IsAdmin = "ua", "alice", true
	cur.LastSeenAt = time.Time{}
	bob := sampleToken("bob", t0)
	bob.UserID, bob.UserName, bob.IsAdmin = "ub", "bob", false
	key := store.Token{Hash: hashOf("key"), Kind: store.KindAPIKey, UserID: "uk", UserName: "key", CreatedAt: t0}
	for _, tok := range []store.Token{old, cur, bob, key} {
		put(tok)
	}
	if _, err := s.RevokeToken(ctx, bob.Hash, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UserSummary{
		{UserID: "ua", UserName: "alice", IsAdmin: true, ActiveTokens: 2, LastSeenAt: t0.Add(5 * time.Hour)},
		{UserID: "ub", UserName: "bob", IsAdmin: false, ActiveTokens: 0, LastSeenAt: bob.LastSeenAt},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Users =\n%+v\nwant\n%+v", got, want)
	}
}

// testChain is a keyless stand-in for the audit package's chain function.
func testChain(prev []byte, ev store.AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	_ = binary.Write(h, binary.BigEndian, ev.Seq)
	_ = binary.Write(h, binary.BigEndian, ev.Time.UnixNano())
	for _, s := range []string{string(ev.Kind), ev.UserID, ev.UserName, ev.IP, ev.Detail} {
		_ = binary.Write(h, binary.BigEndian, int64(len(s)))
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

func TestAppendAuditAndQuery(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	first, err := s.AppendAudit(ctx, store.AuditEvent{Time: t0, Kind: "signin.success", UserID: "u",
		UserName: "alice", IP: "192.0.2.1", Detail: `{"client":"web"}`}, testChain)
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || len(first.PrevHash) != 0 || !first.Time.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("first event = %+v", first)
	}
	before := time.Now().Add(-time.Second)
	for i := 2; i <= 10; i++ {
		if _, err := s.AppendAudit(ctx, store.AuditEvent{Kind: store.AuditKind(fmt.Sprint("k", i))}, testChain); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Audit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 {
		t.Fatalf("got %d events, want 10", len(all))
	}
	if fmt.Sprintf("%+v", all[0]) != fmt.Sprintf("%+v", first) {
		t.Fatalf("stored first event =\n%+v\nreturned\n%+v", all[0], first)
	}
	checkChain(t, all, 1)
	if e := all[9]; e.Time.Before(before) || e.Time.Location() != time.UTC || e.Time.Nanosecond()%1000 != 0 {
		t.Errorf("defaulted time = %v", e.Time)
	}

	queries := []struct {
		q        store.AuditQuery
		wantSeqs string
	}{
		{store.AuditQuery{Limit: 3}, "[1 2 3]"},
		{store.AuditQuery{AfterSeq: 8}, "[9 10]"},
		{store.AuditQuery{AfterSeq: 2, Limit: 2}, "[3 4]"},
		{store.AuditQuery{Limit: 3, Newest: true}, "[8 9 10]"},
		{store.AuditQuery{AfterSeq: 9, Limit: 3, Newest: true}, "[10]"},
		{store.AuditQuery{AfterSeq: 10}, "[]"},
	}
	for _, tt := range queries {
		evs, err := s.Audit(ctx, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		seqs := []int64{}
		for _, e := range evs {
			seqs = append(seqs, e.Seq)
		}
		if fmt.Sprint(seqs) != tt.wantSeqs {
			t.Errorf("Audit(%+v) = %v, want %s", tt.q, seqs, tt.wantSeqs)
		}
	}
}

// checkChain asserts evs are contiguous from firstSeq and each links to the
// one before.
func checkChain(t *testing.T, evs []store.AuditEvent, firstSeq int64) {
	t.Helper()
	var prev []byte
	for i, e := range evs {
		if e.Seq != firstSeq+int64(i) {
			t.Fatalf("event %d has seq %d, want %d", i, e.Seq, firstSeq+int64(i))
		}
		if !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("seq %d: PrevHash does not match the previous Hash", e.Seq)
		}
		if !bytes.Equal(e.Hash, testChain(prev, e)) {
			t.Fatalf("seq %d: Hash does not match its contents", e.Seq)
		}
		prev = e.Hash
	}
}

func TestConcurrentAppendFromTwoStores(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	var stores [2]*Store
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range stores { // two "processes" starting and migrating at once
		wg.Go(func() {
			s, err := Open(ctx, path, nil)
			if err != nil {
				errs <- err
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s == nil {
			t.Fatal(<-errs)
		}
		t.Cleanup(func() { s.Close() })
	}

	const goroutines, each = 4, 200
	for si, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				for n := range each {
					ev := store.AuditEvent{Kind: "test", Detail: fmt.Sprintf("store %d goroutine %d event %d", si, g, n)}
					if _, err := s.AppendAudit(ctx, ev, testChain); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := stores[0].Audit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(stores) * goroutines * each; len(all) != want {
		t.Fatalf("got %d events, want %d", len(all), want)
	}
	checkChain(t, all, 1)
}

func TestWriteHonoursCancelledContext(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutToken(ctx, sampleToken("a", t0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
