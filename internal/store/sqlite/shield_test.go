package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func sampleBan(prefix string, created time.Time) store.Ban {
	return store.Ban{
		Prefix: prefix, Reason: "too many failed sign-ins", Source: "auto", By: "", Level: 2,
		CreatedAt: created, ExpiresAt: created.Add(time.Hour),
	}
}

func putBans(t *testing.T, s *Store, bans ...store.Ban) {
	t.Helper()
	for _, b := range bans {
		if err := s.PutBan(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// prefixes lists the bans' prefixes in order.
func prefixes(bans []store.Ban) string {
	out := []string{}
	for _, b := range bans {
		out = append(out, b.Prefix)
	}
	return fmt.Sprint(out)
}

func TestBanRoundTrip(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	full := store.Ban{
		Prefix: "2001:db8:1:2::/64", Reason: "scanning", Source: "manual", By: "admin", Level: 3,
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), LiftedAt: t0.Add(time.Hour),
	}
	bare := store.Ban{Prefix: "203.0.113.7/32", CreatedAt: t0.Add(time.Minute)}
	putBans(t, s, full, bare)
	got, err := s.Ban(ctx, full.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ban", got, full)
	got, err = s.Ban(ctx, bare.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ban with empty fields", got, bare)
	_, err = s.Ban(ctx, "198.51.100.0/24")
	mustNotFound(t, "missing ban", err)

	// Replacing replaces every field: a prefix banned again after a lift
	// is banned, with its new level and times.
	again := full
	again.Reason, again.Source, again.By, again.Level = "again", "auto", "", 4
	again.CreatedAt, again.ExpiresAt, again.LiftedAt = t0.Add(2*time.Hour), time.Time{}, time.Time{}
	putBans(t, s, again)
	got, _ = s.Ban(ctx, full.Prefix)
	mustEqual(t, "replaced ban", got, again)
	if !got.Active(t0.Add(100 * 24 * time.Hour)) {
		t.Fatal("a ban stored again after a lift is not active")
	}

	// A ban without a creation time is created now.
	before := time.Now()
	putBans(t, s, store.Ban{Prefix: "192.0.2.0/24", Source: "manual"})
	got, _ = s.Ban(ctx, "192.0.2.0/24")
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now()) {
		t.Fatalf("ban stored without a time was created at %v", got.CreatedAt)
	}
}

// TestBanActiveAtBoundaries checks store.Ban.Active and the active listing
// agree at the edges: a ban is in force up to, not at, ExpiresAt.
func TestBanActiveAtBoundaries(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	expiring := sampleBan("192.0.2.1/32", t0) // expires at t0+1h
	forever := sampleBan("192.0.2.2/32", t0.Add(-time.Minute))
	forever.ExpiresAt = time.Time{}
	lifted := sampleBan("192.0.2.3/32", t0.Add(-2*time.Minute))
	lifted.ExpiresAt, lifted.LiftedAt = time.Time{}, t0
	putBans(t, s, expiring, forever, lifted)

	tests := []struct {
		now        time.Time
		activeBans string
	}{
		// A lifted ban is out at any time, even one before LiftedAt.
		{t0.Add(-time.Hour), "[192.0.2.1/32 192.0.2.2/32]"},
		{t0.Add(time.Hour - time.Nanosecond), "[192.0.2.1/32 192.0.2.2/32]"},
		{t0.Add(time.Hour), "[192.0.2.2/32]"}, // ExpiresAt == now is expired
		{t0.Add(time.Hour + time.Nanosecond), "[192.0.2.2/32]"},
		{t0.Add(10 * 365 * 24 * time.Hour), "[192.0.2.2/32]"},
	}
	for _, tt := range tests {
		all, err := s.Bans(ctx, tt.now, true)
		if err != nil {
			t.Fatal(err)
		}
		var want []store.Ban
		for _, b := range all {
			if b.Active(tt.now) {
				want = append(want, b)
			}
		}
		if got := prefixes(want); got != tt.activeBans {
			t.Errorf("active by Active(%v) = %s, want %s", tt.now, got, tt.activeBans)
		}
		got, err := s.Bans(ctx, tt.now, false)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, fmt.Sprint("Bans(", tt.now, ", active)"), got, want)
	}
	if lifted.Active(t0.Add(-time.Hour)) {
		t.Error("a lifted ban is active")
	}
}

func TestBansActiveAndAll(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	now := t0.Add(time.Hour)
	oldest := sampleBan("198.51.100.0/24", t0) // expires exactly at now
	expired := sampleBan("192.0.2.9/32", t0.Add(time.Minute))
	expired.ExpiresAt = now.Add(-time.Second)
	manual := sampleBan("2001:db8::/64", t0.Add(2*time.Minute))
	manual.Source, manual.By, manual.ExpiresAt = "manual", "admin", time.Time{}
	lifted := sampleBan("203.0.113.0/24", t0.Add(3*time.Minute))
	lifted.LiftedAt = t0.Add(4 * time.Minute)
	newest := sampleBan("203.0.113.7/32", t0.Add(5*time.Minute))
	putBans(t, s, manual, newest, oldest, lifted, expired)

	active, err := s.Bans(ctx, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := prefixes(active), "[203.0.113.7/32 2001:db8::/64]"; got != want {
		t.Fatalf("active bans = %s, want %s", got, want)
	}
	mustEqual(t, "active manual ban", active[1], manual)

	all, err := s.Bans(ctx, now, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "[203.0.113.7/32 203.0.113.0/24 2001:db8::/64 192.0.2.9/32 198.51.100.0/24]"
	if got := prefixes(all); got != want {
		t.Fatalf("all bans = %s, want newest first %s", got, want)
	}
	mustEqual(t, "listed lifted ban", all[1], lifted)

	empty := openTemp(t)
	if bans, err := empty.Bans(ctx, now, true); err != nil || len(bans) != 0 {
		t.Fatalf("Bans on an empty database = %v, %v", bans, err)
	}
}

func TestLiftBan(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	active := sampleBan("192.0.2.1/32", t0) // expires at t0+1h
	forever := sampleBan("2001:db8::/64", t0)
	forever.ExpiresAt = time.Time{}
	expired := sampleBan("192.0.2.2/32", t0)
	expired.ExpiresAt = t0.Add(time.Minute)
	putBans(t, s, active, forever, expired)
	last, _ := s.LastChange(ctx)

	at := t0.Add(30 * time.Minute)
	if err := s.LiftBan(ctx, active.Prefix, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Ban(ctx, active.Prefix)
	if err != nil {
		t.Fatalf("a lifted ban is no longer stored: %v", err)
	}
	want := active
	want.LiftedAt = at
	mustEqual(t, "lifted ban", got, want)
	if got.Active(at) {
		t.Fatal("lifted ban still active")
	}
	if err := s.LiftBan(ctx, forever.Prefix, t0.Add(100*24*time.Hour)); err != nil {
		t.Fatalf("lifting a ban without expiry: %v", err)
	}

	mustNotFound(t, "lifting twice", s.LiftBan(ctx, active.Prefix, at.Add(time.Minute)))
	mustNotFound(t, "lifting an expired ban", s.LiftBan(ctx, expired.Prefix, at))
	mustNotFound(t, "lifting at the expiry", s.LiftBan(ctx, expired.Prefix, expired.ExpiresAt))
	mustNotFound(t, "lifting an unknown ban", s.LiftBan(ctx, "198.51.100.0/24", at))
	if got, _ := s.Ban(ctx, expired.Prefix); !got.LiftedAt.IsZero() {
		t.Fatalf("an expired ban was marked lifted: %+v", got)
	}
	if got, _ := s.LastChange(ctx); got != last+2 {
		t.Fatalf("%d changes appended, want 2 (one per lift that succeeded)", got-last)
	}

	// Lifting at a zero time lifts now.
	now := sampleBan("192.0.2.3/32", time.Now())
	putBans(t, s, now)
	before := time.Now()
	if err := s.LiftBan(ctx, now.Prefix, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Ban(ctx, now.Prefix); got.LiftedAt.Before(before) || got.LiftedAt.After(time.Now()) {
		t.Fatalf("ban lifted without a time has LiftedAt %v", got.LiftedAt)
	}
}

// TestShieldChangeFeed checks every shield write announces itself with
// exactly one change, in the order the writes happened.
func TestShieldChangeFeed(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	a := sampleBan("192.0.2.1/32", t0)
	b := sampleBan("2001:db8::/64", t0.Add(time.Minute))
	b.Level++
	steps := []func() error{
		func() error { return s.PutBan(ctx, a) },
		func() error { return s.PutBan(ctx, b) },
		func() error { return s.LiftBan(ctx, a.Prefix, t0.Add(2*time.Minute)) },
		func() error { return s.PutUserNetworks(ctx, "ua", "alice", []string{"192.0.2.0/24"}) },
		func() error { return s.PutBan(ctx, a) }, // banned again
		func() error { return s.PutUserNetworks(ctx, "ua", "alice", nil) },
	}
	want := []store.Change{
		{Kind: store.ChangeBanAdded, Key: a.Prefix, At: a.CreatedAt},
		{Kind: store.ChangeBanAdded, Key: b.Prefix, At: b.CreatedAt},
		{Kind: store.ChangeBanLifted, Key: a.Prefix, At: t0.Add(2 * time.Minute)},
		{Kind: store.ChangeUserNetworks, Key: "ua"},
		{Kind: store.ChangeBanAdded, Key: a.Prefix, At: a.CreatedAt},
		{Kind: store.ChangeUserNetworks, Key: "ua"},
	}
	start := time.Now()
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		changes, err := s.Changes(ctx, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 {
			t.Fatalf("step %d appended %d changes, want 1: %+v", i, len(changes), changes)
		}
		c := changes[0]
		w := want[i]
		w.Seq = int64(i + 1)
		if w.Kind == store.ChangeUserNetworks {
			if c.At.Before(start) || c.At.After(time.Now()) {
				t.Errorf("step %d: change dated %v, want the time of the write", i, c.At)
			}
			w.At = c.At
		}
		if c != w {
			t.Errorf("step %d: change = %+v, want %+v", i, c, w)
		}
	}
}

// TestShieldWritesAreAtomic checks that a write whose change cannot be
// appended leaves nothing behind.
func TestShieldWritesAreAtomic(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	kept := sampleBan("192.0.2.1/32", t0)
	putBans(t, s, kept)
	if err := s.PutUserNetworks(ctx, "ua", "alice", []string{"192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`CREATE TRIGGER no_changes BEFORE INSERT ON changes
		BEGIN SELECT RAISE(ABORT, 'changes refused'); END`); err != nil {
		t.Fatal(err)
	}

	if err := s.PutBan(ctx, sampleBan("192.0.2.2/32", t0)); err == nil {
		t.Error("PutBan succeeded although the change could not be written")
	}
	_, err := s.Ban(ctx, "192.0.2.2/32")
	mustNotFound(t, "ban stored without its change", err)
	replaced := kept
	replaced.Level = 9
	if err := s.PutBan(ctx, replaced); err == nil {
		t.Error("replacing a ban succeeded although the change could not be written")
	}
	if err := s.LiftBan(ctx, kept.Prefix, t0.Add(time.Minute)); err == nil {
		t.Error("LiftBan succeeded although the change could not be written")
	}
	got, _ := s.Ban(ctx, kept.Prefix)
	mustEqual(t, "ban after failed writes", got, kept)

	if err := s.PutUserNetworks(ctx, "ua", "alice", []string{"198.51.100.0/24"}); err == nil {
		t.Error("PutUserNetworks succeeded although the change could not be written")
	}
	if err := s.PutUserNetworks(ctx, "ua", "alice", nil); err == nil {
		t.Error("clearing user networks succeeded although the change could not be written")
	}
	nets, err := s.UserNetworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "user networks after failed writes", nets, map[string][]string{"ua": {"192.0.2.0/24"}})
}

func TestUserNetworks(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	got, err := s.UserNetworks(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("UserNetworks on an empty database = %#v, %v; want an empty map", got, err)
	}

	alice := []string{"192.0.2.0/24", "2001:db8::1", "home.example.net", "10.0.0.0/8"}
	bob := []string{"198.51.100.7"}
	if err := s.PutUserNetworks(ctx, "ua", "alice", alice); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserNetworks(ctx, "ub", "bob", bob); err != nil {
		t.Fatal(err)
	}
	got, err = s.UserNetworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "user networks", got, map[string][]string{"ua": alice, "ub": bob})

	var name string
	if err := s.DB().QueryRow(`SELECT user_name FROM user_networks WHERE user_id = 'ua'`).Scan(&name); err != nil || name != "alice" {
		t.Fatalf("stored user name = %q, %v", name, err)
	}

	// Replacing replaces the whole list and the name.
	if err := s.PutUserNetworks(ctx, "ua", "alicia", []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UserNetworks(ctx)
	mustEqual(t, "replaced user networks", got, map[string][]string{"ua": {"203.0.113.0/24"}, "ub": bob})
	if err := s.DB().QueryRow(`SELECT user_name FROM user_networks WHERE user_id = 'ua'`).Scan(&name); err != nil || name != "alicia" {
		t.Fatalf("user name after replacing = %q, %v", name, err)
	}

	// No entries, nil or empty, lifts the restriction and removes the row.
	for _, none := range [][]string{{}, nil} {
		if err := s.PutUserNetworks(ctx, "ua", "alicia", none); err != nil {
			t.Fatal(err)
		}
		got, _ = s.UserNetworks(ctx)
		mustEqual(t, fmt.Sprintf("user networks after storing %#v", none), got, map[string][]string{"ub": bob})
	}
	var rows int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM user_networks`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("user_networks has %d rows, %v; want 1", rows, err)
	}
	if err := s.PutUserNetworks(ctx, "nobody", "", nil); err != nil {
		t.Fatalf("clearing a user without networks: %v", err)
	}
}

// TestBanSurvivesReopen: a ban set before a restart is still in force
// after it.
func TestBanSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ban := sampleBan("203.0.113.7/32", t0)
	ban.ExpiresAt = time.Time{}
	putBans(t, s, ban)
	if err := s.PutUserNetworks(ctx, "ua", "alice", []string{"192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	got, err := s.Ban(ctx, ban.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ban after reopen", got, ban)
	active, err := s.Bans(ctx, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 1 || active[0].Prefix != ban.Prefix {
		t.Fatalf("active bans after reopen = %+v", active)
	}
	nets, _ := s.UserNetworks(ctx)
	mustEqual(t, "user networks after reopen", nets, map[string][]string{"ua": {"192.0.2.0/24"}})
	if last, _ := s.LastChange(ctx); last != 2 {
		t.Errorf("LastChange after reopen = %d, want 2", last)
	}
}

func TestLiftBanRace(t *testing.T) {
	stores := twoStores(t)
	ban := sampleBan("192.0.2.1/32", t0)
	ban.ExpiresAt = time.Time{}
	putBans(t, stores[0], ban)
	wins := race(t, stores, 20, func(ctx context.Context, s *Store) (bool, error) {
		err := s.LiftBan(ctx, ban.Prefix, t0.Add(time.Hour))
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Fatalf("the ban was lifted %d times, want once", wins)
	}
	changes, err := stores[1].Changes(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[1].Kind != store.ChangeBanLifted {
		t.Fatalf("changes = %+v, want the ban and one lift", changes)
	}
}

// TestMigrateToShieldSchema builds a file with migrations 1 to 3 only, as
// the release before the shield left it, and checks the upgrade keeps its
// data and adds the shield tables.
func TestMigrateToShieldSchema(t *testing.T) {
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
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.GetDBVersion(ctx); v != 3 {
		t.Fatalf("version = %d, want 3", v)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('bans', 'user_networks')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("shield tables before the upgrade: %d, %v", n, err)
	}
	tok := sampleToken("old", t0)
	_, err = db.ExecContext(ctx, `INSERT INTO tokens (hash, kind, user_id, user_name, is_admin, device_id,
		client, device_name, ip, source, factor, sealed, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		tok.Hash[:], string(tok.Kind), tok.UserID, tok.UserName, tok.IsAdmin, tok.DeviceID, tok.Client,
		tok.DeviceName, tok.IP, tok.Source, tok.Factor, tok.Sealed, tok.CreatedAt.UnixNano(), tok.LastSeenAt.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO changes (kind, key, at) VALUES ($1, 'k', $2)`,
		store.ChangeTokenRevoked, t0.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	var buf bytes.Buffer
	s, err := Open(ctx, path, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out := buf.String()
	if want := `msg="applying migration" version=4 name=00004_shield.sql`; !strings.Contains(out, want) {
		t.Errorf("log lacks %q:\n%s", want, out)
	}
	// Every migration after the third was applied, and no other.
	m := regexp.MustCompile(`msg="database schema ready" version=(\d+) applied=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Errorf("log lacks a schema summary:\n%s", out)
	} else if version, _ := strconv.Atoi(m[1]); fmt.Sprint(version-3) != m[2] {
		t.Errorf("upgrade from version 3 to %s applied %s migrations:\n%s", m[1], m[2], out)
	}
	got, err := s.Token(ctx, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	tok.Assurance = store.AssuranceTwoFactor // released with a factor: backfilled
	assertToken(t, got, tok)

	// The feed continues where it was: shield changes follow the old ones.
	ban := sampleBan("192.0.2.1/32", t0)
	putBans(t, s, ban)
	b, err := s.Ban(ctx, ban.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ban after upgrade", b, ban)
	if err := s.PutUserNetworks(ctx, "ua", "alice", []string{"192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	changes, err := s.Changes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 || changes[1].Seq != 2 || changes[1].Kind != store.ChangeBanAdded ||
		changes[2].Kind != store.ChangeUserNetworks {
		t.Fatalf("changes after upgrade = %+v", changes)
	}
}
