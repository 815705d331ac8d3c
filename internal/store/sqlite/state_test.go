package sqlite

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// seededHash is the secret hash of the i-th request seedQuickConnect
// stores.
func seededHash(i int) [32]byte { return [32]byte([]byte(fmt.Sprintf("%032d", i))) }

// seedQuickConnect stores n open requests in one statement, the i-th
// created i microseconds after t0, so the bound can be reached quickly.
func seedQuickConnect(t *testing.T, s *Store, n int) {
	t.Helper()
	_, err := s.DB().ExecContext(t.Context(), `WITH RECURSIVE seq(i) AS (
			SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < $1)
		INSERT INTO quickconnect_requests (secret_hash, code, created_at, expires_at)
		SELECT CAST(printf('%032d', i) AS BLOB), printf('%06d', i), $2 + i * 1000, $3 FROM seq`,
		n, t0.UnixNano(), t0.Add(time.Hour).UnixNano())
	if err != nil {
		t.Fatal(err)
	}
}

func countQuickConnect(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM quickconnect_requests`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQuickConnectEviction fills the store to the bound by SQL (the
// conformance suite's version of this check is too slow under the race
// detector) and checks which requests make room.
func TestQuickConnectEviction(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	// The oldest request is authorised: the flood evicts around it.
	kept := store.QuickConnectRequest{SecretHash: hashOf("kept"), Code: "999999",
		CreatedAt: t0.Add(-time.Minute), ExpiresAt: t0.Add(time.Hour)}
	if err := s.PutQuickConnect(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AuthorizeQuickConnect(ctx, kept.Code, store.QuickConnectApproval{UserID: "ua"}, t0); err != nil || !ok {
		t.Fatalf("AuthorizeQuickConnect = %v, %v", ok, err)
	}
	seedQuickConnect(t, s, store.MaxQuickConnectRequests-1)
	if n := countQuickConnect(t, s); n != store.MaxQuickConnectRequests {
		t.Fatalf("seeded %d requests", n)
	}
	// Replacing a stored request at the bound evicts nothing.
	again, err := s.QuickConnect(ctx, seededHash(5), t0)
	if err != nil {
		t.Fatal(err)
	}
	again.Code = "123123"
	if err := s.PutQuickConnect(ctx, again); err != nil {
		t.Fatal(err)
	}
	if _, err := s.QuickConnect(ctx, seededHash(0), t0); err != nil {
		t.Fatalf("a replacement evicted the oldest request: %v", err)
	}
	for i := range 3 {
		r := store.QuickConnectRequest{SecretHash: hashOf(fmt.Sprint("new ", i)), Code: "000000",
			CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
		if err := s.PutQuickConnect(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := countQuickConnect(t, s); n != store.MaxQuickConnectRequests {
		t.Fatalf("%d requests stored, want the bound %d", n, store.MaxQuickConnectRequests)
	}
	for i, want := range map[int]bool{0: false, 1: false, 2: false, 3: true, 5: true, store.MaxQuickConnectRequests - 2: true} {
		_, err := s.QuickConnect(ctx, seededHash(i), t0)
		if found := err == nil; found != want {
			t.Errorf("seeded request %d: found %v, want %v (%v)", i, found, want, err)
		}
	}
	if got, err := s.QuickConnect(ctx, kept.SecretHash, t0); err != nil || !got.Authorized() {
		t.Fatalf("authorised request after the flood = %+v, %v", got, err)
	}
}

// TestMigrateToStateSchema upgrades a file at version 4 with data in it to
// the state tables, and rolls the upgrade back.
func TestMigrateToStateSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	if err := createPrivate(path, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	stateTables := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN
		('quickconnect_requests', 'pending_enrollments', 'throttle_events', 'known_addresses')`
	var n int
	if err := db.QueryRowContext(ctx, stateTables).Scan(&n); err != nil || n != 0 {
		t.Fatalf("state tables before the upgrade: %d, %v", n, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO challenges (id, user_id, created_at, expires_at) VALUES ('c1', 'ua', $1, $2)`,
		t0.UnixNano(), t0.Add(time.Minute).UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	var buf bytes.Buffer
	s, err := Open(ctx, path, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if want := `msg="applying migration" version=5 name=00005_state.sql`; !strings.Contains(buf.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, buf.String())
	}
	if c, err := s.Challenge(ctx, "c1"); err != nil || c.UserID != "ua" {
		t.Fatalf("challenge after the upgrade = %+v, %v", c, err)
	}
	if err := s.PutPendingEnrollment(ctx, store.PendingEnrollment{UserID: "ua", Sealed: []byte("s"), ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, "user:ua", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.RememberAddress(ctx, "alice", "192.0.2.0/24", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutQuickConnect(ctx, store.QuickConnectRequest{SecretHash: hashOf("s"), Code: "1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRowContext(ctx, stateTables).Scan(&n); err != nil || n != 4 {
		t.Fatalf("state tables after the upgrade: %d, %v", n, err)
	}

	// The down migration removes what the up migration made, data and all.
	p, err = newMigrator(s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRowContext(ctx, stateTables).Scan(&n); err != nil || n != 0 {
		t.Fatalf("state tables after rolling back: %d, %v", n, err)
	}
	var indexes int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'
		AND (name LIKE 'quickconnect%' OR name LIKE 'throttle%' OR name LIKE 'known%')`).Scan(&indexes); err != nil || indexes != 0 {
		t.Fatalf("state indexes after rolling back: %d, %v", indexes, err)
	}
	s.Close()
}
