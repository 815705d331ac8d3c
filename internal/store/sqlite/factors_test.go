package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func sampleAccount(id, name string, at time.Time) store.Account {
	return store.Account{
		UserID: id, UserName: name, NameFolded: strings.ToLower(name), IsAdmin: true,
		Requirement: store.RequireAlways, FirstSeenAt: at, UpdatedAt: at.Add(time.Second),
	}
}

func sampleChallenge(id, userID string, created time.Time) store.Challenge {
	return store.Challenge{
		ID: id, UserID: userID, UserName: "Alice", IsAdmin: true, DeviceID: "dev-" + id,
		Client: "Jellyfin Web", DeviceName: "Firefox", Version: "10.11.0", IP: "192.0.2.7",
		ServerID: "srv", Web: true, Source: "login", Sealed: []byte("sealed " + id), Attempts: 2,
		CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
}

func sampleBrowser(id, userID string, created time.Time) store.TrustedBrowser {
	return store.TrustedBrowser{
		ID: id, UserID: userID, DeviceID: "web-" + id, Nonce: []byte("nonce " + id), IP: "192.0.2.8",
		UserAgent: "Mozilla/5.0", CreatedAt: created, LastUsedAt: created.Add(time.Minute),
		ExpiresAt: created.Add(30 * 24 * time.Hour),
	}
}

func sampleDevice(id, userID string, created time.Time) store.Device {
	return store.Device{
		ID: id, UserID: userID, UserName: "Alice", DeviceID: "tv-" + id, Client: "Jellyfin Android TV",
		DeviceName: "Living room", IP: "192.0.2.9", State: store.DeviceApproved, CreatedAt: created,
		ApprovedAt: created.Add(time.Minute), ExpiresAt: created.Add(time.Hour), TokenHash: hashOf(id),
	}
}

// mustEqual compares whole records: every field must come back as stored.
func mustEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s =\n%+v\nwant\n%+v", what, got, want)
	}
}

func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func TestAccounts(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	alice := sampleAccount("ua", "Alice", t0)
	if err := s.PutAccount(ctx, alice); err != nil {
		t.Fatal(err)
	}
	got, err := s.Account(ctx, "ua")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "account", got, alice)

	// An update changes everything but FirstSeenAt.
	upd := alice
	upd.UserName, upd.NameFolded, upd.IsAdmin = "Alicia", "alicia", false
	upd.Requirement, upd.FirstSeenAt, upd.UpdatedAt = store.RequireNever, t0.Add(time.Hour), t0.Add(2*time.Hour)
	if err := s.PutAccount(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Account(ctx, "ua")
	want := upd
	want.FirstSeenAt = alice.FirstSeenAt
	mustEqual(t, "updated account", got, want)

	_, err = s.Account(ctx, "nobody")
	mustNotFound(t, "missing account", err)
	_, err = s.AccountByName(ctx, "alice")
	mustNotFound(t, "old name", err)
	if got, err := s.AccountByName(ctx, "alicia"); err != nil || got.UserID != "ua" {
		t.Fatalf("AccountByName(alicia) = %+v, %v", got, err)
	}

	// Bob took the name "alicia" before Alice's rename reached the gateway:
	// the account updated last wins.
	bob := sampleAccount("ub", "alicia", t0)
	bob.UpdatedAt = t0.Add(3 * time.Hour)
	if err := s.PutAccount(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccountByName(ctx, "alicia"); got.UserID != "ub" {
		t.Fatalf("AccountByName picked %s, want the newest", got.UserID)
	}

	// Zero times default to now.
	before := time.Now()
	if err := s.PutAccount(ctx, store.Account{UserID: "uc", UserName: "Carol", NameFolded: "carol"}); err != nil {
		t.Fatal(err)
	}
	carol, _ := s.Account(ctx, "uc")
	if carol.FirstSeenAt.Before(before) || carol.UpdatedAt.Before(before) || carol.Requirement != store.RequireDefault {
		t.Fatalf("account stored without times = %+v", carol)
	}

	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range all {
		ids = append(ids, a.UserID)
	}
	if fmt.Sprint(ids) != "[ua ub uc]" { // alicia (ua), alicia (ub), carol
		t.Fatalf("Accounts = %v, want by name", ids)
	}
}

func TestTOTP(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	_, err := s.TOTP(ctx, "ua")
	mustNotFound(t, "missing enrollment", err)
	if err := s.DeleteTOTP(ctx, "ua"); err != nil {
		t.Fatalf("deleting a missing enrollment: %v", err)
	}

	begun := store.TOTP{UserID: "ua", UserName: "Alice", Sealed: []byte("secret"), CreatedAt: t0}
	if err := s.PutTOTP(ctx, begun); err != nil {
		t.Fatal(err)
	}
	got, err := s.TOTP(ctx, "ua")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "enrollment", got, begun)

	if ok, err := s.UseTOTPStep(ctx, "ua", 100); err != nil || !ok {
		t.Fatalf("first use of step 100 = %v, %v", ok, err)
	}
	confirmed := begun
	confirmed.Confirmed, confirmed.ConfirmedAt = true, t0.Add(time.Minute)
	if err := s.PutTOTP(ctx, confirmed); err != nil {
		t.Fatal(err)
	}
	got, _ = s.TOTP(ctx, "ua")
	mustEqual(t, "confirmed enrollment", got, confirmed)
	// Storing the confirmed enrollment did not reopen the step that
	// confirmed it.
	if ok, err := s.UseTOTPStep(ctx, "ua", 100); err != nil || ok {
		t.Fatalf("step 100 after replacing the enrollment = %v, %v", ok, err)
	}

	if err := s.DeleteTOTP(ctx, "ua"); err != nil {
		t.Fatal(err)
	}
	_, err = s.TOTP(ctx, "ua")
	mustNotFound(t, "deleted enrollment", err)
}

func TestUseTOTPStep(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	_, err := s.UseTOTPStep(ctx, "ua", 1)
	mustNotFound(t, "step without enrollment", err)
	if err := s.PutTOTP(ctx, store.TOTP{UserID: "ua", Sealed: []byte("k"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTOTP(ctx, store.TOTP{UserID: "ub", Sealed: []byte("k"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		user string
		step int64
		want bool
	}{
		{"ua", 0, true}, // a fresh enrollment accepts any step
		{"ua", 100, true},
		{"ua", 100, false}, // replayed
		{"ua", 99, false},  // older
		{"ub", 100, true},  // another user's steps are their own
		{"ua", 101, true},
		{"ua", 100, false},
	}
	for _, st := range steps {
		ok, err := s.UseTOTPStep(ctx, st.user, st.step)
		if err != nil || ok != st.want {
			t.Fatalf("UseTOTPStep(%s, %d) = %v, %v; want %v", st.user, st.step, ok, err, st.want)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	codes := []store.RecoveryCode{
		{Hint: "ab", Hash: "$argon2id$1"}, {Hint: "cd", Hash: "$argon2id$2"}, {Hint: "ef", Hash: "$argon2id$3"},
	}
	if err := s.ReplaceRecoveryCodes(ctx, "ua", codes); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "ub", codes[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecoveryCodes(ctx, "ua")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d codes, want 3", len(got))
	}
	for i, c := range got {
		want := codes[i]
		want.ID, want.UserID = c.ID, "ua"
		mustEqual(t, fmt.Sprint("code ", i), c, want)
		if c.ID == 0 || i > 0 && c.ID <= got[i-1].ID {
			t.Fatalf("code IDs not assigned in order: %+v", got)
		}
	}

	at := t0.Add(time.Hour)
	if ok, err := s.UseRecoveryCode(ctx, got[1].ID, at); err != nil || !ok {
		t.Fatalf("first use = %v, %v", ok, err)
	}
	if ok, err := s.UseRecoveryCode(ctx, got[1].ID, at.Add(time.Hour)); err != nil || ok {
		t.Fatalf("second use = %v, %v", ok, err)
	}
	after, _ := s.RecoveryCodes(ctx, "ua")
	if !after[1].UsedAt.Equal(at) || !after[0].UsedAt.IsZero() || !after[2].UsedAt.IsZero() {
		t.Fatalf("codes after one use: %+v", after)
	}

	// Replacing drops the old codes, used or not, and leaves other users'.
	if err := s.ReplaceRecoveryCodes(ctx, "ua", codes[2:]); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.RecoveryCodes(ctx, "ua"); len(after) != 1 || after[0].Hint != "ef" || !after[0].UsedAt.IsZero() {
		t.Fatalf("codes after replacing: %+v", after)
	}
	if ok, err := s.UseRecoveryCode(ctx, got[0].ID, at); err != nil || ok {
		t.Fatalf("using a replaced code = %v, %v", ok, err)
	}
	if other, _ := s.RecoveryCodes(ctx, "ub"); len(other) != 1 {
		t.Fatalf("another user's codes: %+v", other)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "ub", nil); err != nil {
		t.Fatal(err)
	}
	if other, err := s.RecoveryCodes(ctx, "ub"); err != nil || len(other) != 0 {
		t.Fatalf("codes after replacing with none: %+v, %v", other, err)
	}
}

func TestChallenges(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	c1 := sampleChallenge("c1", "ua", t0.Add(time.Minute))
	c2 := sampleChallenge("c2", "ua", t0)
	other := sampleChallenge("c3", "ub", t0)
	other.IsAdmin, other.Web, other.Sealed, other.Attempts = false, false, nil, 0
	for _, c := range []store.Challenge{c1, c2, other} {
		if err := s.PutChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Challenge(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "challenge", got, c1)
	got, _ = s.Challenge(ctx, "c3")
	mustEqual(t, "challenge with empty fields", got, other)
	_, err = s.Challenge(ctx, "nope")
	mustNotFound(t, "missing challenge", err)

	list, err := s.UserChallenges(ctx, "ua")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "c2" || list[1].ID != "c1" {
		t.Fatalf("UserChallenges = %+v, want oldest first", list)
	}
	mustEqual(t, "listed challenge", list[1], c1)

	for want := c1.Attempts + 1; want <= c1.Attempts+2; want++ {
		if n, err := s.AddChallengeAttempt(ctx, "c1"); err != nil || n != want {
			t.Fatalf("AddChallengeAttempt = %d, %v; want %d", n, err, want)
		}
	}
	_, err = s.AddChallengeAttempt(ctx, "nope")
	mustNotFound(t, "attempt on a missing challenge", err)

	// Replacing resets every field, the count included.
	c1b := c1
	c1b.IP, c1b.Attempts = "198.51.100.1", 0
	if err := s.PutChallenge(ctx, c1b); err != nil {
		t.Fatal(err)
	}
	taken, err := s.TakeChallenge(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "taken challenge", taken, c1b)
	_, err = s.TakeChallenge(ctx, "c1")
	mustNotFound(t, "taking twice", err)
	_, err = s.Challenge(ctx, "c1")
	mustNotFound(t, "taken challenge", err)
}

func TestExpiredChallenges(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	for i := range 3 {
		c := sampleChallenge(fmt.Sprint("c", i), "ua", t0)
		c.ExpiresAt = t0.Add(time.Duration(3-i) * time.Minute) // c2 expires first
		if err := s.PutChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		now  time.Time
		want string
	}{
		{t0, "[]"},
		{t0.Add(time.Minute - 1), "[]"},
		{t0.Add(time.Minute), "[c2]"}, // ExpiresAt == now is expired
		{t0.Add(150 * time.Second), "[c2 c1]"},
		{t0.Add(time.Hour), "[c2 c1 c0]"},
	}
	for _, tt := range tests {
		got, err := s.ExpiredChallenges(ctx, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if fmt.Sprint(ids) != tt.want {
			t.Errorf("ExpiredChallenges(%v) = %v, want %s", tt.now, ids, tt.want)
		}
	}
	got, _ := s.ExpiredChallenges(ctx, t0.Add(time.Minute))
	want := sampleChallenge("c2", "ua", t0)
	want.ExpiresAt = t0.Add(time.Minute)
	mustEqual(t, "expired challenge", got[0], want)
}

func TestTrustedBrowsers(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	old := sampleBrowser("b1", "ua", t0)
	cur := sampleBrowser("b2", "ua", t0.Add(time.Hour))
	cur.LastUsedAt = time.Time{}
	other := sampleBrowser("b3", "ub", t0)
	for _, b := range []store.TrustedBrowser{old, cur, other} {
		if err := s.PutTrustedBrowser(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TrustedBrowser(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "browser", got, old)
	_, err = s.TrustedBrowser(ctx, "nope")
	mustNotFound(t, "missing browser", err)

	list, err := s.TrustedBrowsers(ctx, "ua")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("got %d browsers, want 2", len(list))
	}
	mustEqual(t, "newest browser", list[0], cur)
	mustEqual(t, "oldest browser", list[1], old)

	// Rotation is a compare-and-swap on the nonce.
	at := t0.Add(2 * time.Hour)
	if ok, err := s.RotateTrustedBrowser(ctx, "b2", cur.Nonce, []byte("n2"), at); err != nil || !ok {
		t.Fatalf("rotating = %v, %v", ok, err)
	}
	if ok, err := s.RotateTrustedBrowser(ctx, "b2", cur.Nonce, []byte("n3"), at.Add(time.Hour)); err != nil || ok {
		t.Fatalf("rotating with a stale nonce = %v, %v", ok, err)
	}
	if ok, err := s.RotateTrustedBrowser(ctx, "b2", nil, []byte("n3"), at.Add(time.Hour)); err != nil || ok {
		t.Fatalf("rotating with no nonce = %v, %v", ok, err)
	}
	got, _ = s.TrustedBrowser(ctx, "b2")
	want := cur
	want.Nonce, want.LastUsedAt = []byte("n2"), at
	mustEqual(t, "rotated browser", got, want)
	_, err = s.RotateTrustedBrowser(ctx, "nope", cur.Nonce, []byte("x"), at)
	mustNotFound(t, "rotating a missing browser", err)

	// Revocation keeps its first time and survives storing the browser again.
	for _, when := range []time.Time{at, at.Add(time.Hour)} {
		if err := s.RevokeTrustedBrowser(ctx, "b2", when); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutTrustedBrowser(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, _ = s.TrustedBrowser(ctx, "b2")
	want.RevokedAt = at
	mustEqual(t, "revoked browser", got, want)
	mustNotFound(t, "revoking a missing browser", s.RevokeTrustedBrowser(ctx, "nope", at))
	if got, _ := s.TrustedBrowser(ctx, "b1"); !got.RevokedAt.IsZero() {
		t.Fatal("revoking one browser revoked another")
	}
}

func TestDevices(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	approved := sampleDevice("d1", "ua", t0)
	pending := store.Device{ID: "d2", UserID: "ua", DeviceID: "tv", State: store.DevicePending,
		CreatedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
	other := sampleDevice("d3", "ub", t0)
	for _, d := range []store.Device{approved, pending, other} {
		if err := s.PutDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Device(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "device", got, approved)
	got, _ = s.Device(ctx, "d2")
	mustEqual(t, "pending device", got, pending)
	_, err = s.Device(ctx, "nope")
	mustNotFound(t, "missing device", err)

	list, err := s.Devices(ctx, "ua")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "d2" || list[1].ID != "d1" {
		t.Fatalf("Devices = %+v, want newest first", list)
	}

	active := approved
	active.State, active.ExpiresAt = store.DeviceActive, time.Time{}
	if err := s.PutDevice(ctx, active); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Device(ctx, "d1")
	mustEqual(t, "replaced device", got, active)
}

func TestResetUser(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	for _, u := range []string{"ua", "ub"} {
		steps := []func() error{
			func() error { return s.PutAccount(ctx, sampleAccount(u, u, t0)) },
			func() error { return s.PutTOTP(ctx, store.TOTP{UserID: u, Sealed: []byte("k"), CreatedAt: t0}) },
			func() error {
				return s.ReplaceRecoveryCodes(ctx, u, []store.RecoveryCode{{Hint: "ab", Hash: "h"}})
			},
			func() error { return s.PutChallenge(ctx, sampleChallenge("c-"+u, u, t0)) },
			func() error { return s.PutTrustedBrowser(ctx, sampleBrowser("b-"+u, u, t0)) },
			func() error { return s.PutDevice(ctx, sampleDevice("d-"+u, u, t0)) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.ResetUser(ctx, "ua"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetUser(ctx, "nobody"); err != nil {
		t.Fatalf("resetting a user with nothing: %v", err)
	}

	counts := func(u string) string {
		t.Helper()
		_, totpErr := s.TOTP(ctx, u)
		codes, err1 := s.RecoveryCodes(ctx, u)
		challenges, err2 := s.UserChallenges(ctx, u)
		browsers, err3 := s.TrustedBrowsers(ctx, u)
		devices, err4 := s.Devices(ctx, u)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("totp=%v codes=%d challenges=%d browsers=%d devices=%d",
			totpErr == nil, len(codes), len(challenges), len(browsers), len(devices))
	}
	if got, want := counts("ua"), "totp=false codes=0 challenges=0 browsers=0 devices=0"; got != want {
		t.Errorf("after reset: %s, want %s", got, want)
	}
	if got, want := counts("ub"), "totp=true codes=1 challenges=1 browsers=1 devices=1"; got != want {
		t.Errorf("another user after reset: %s, want %s", got, want)
	}
	a, err := s.Account(ctx, "ua")
	if err != nil || a.Requirement != store.RequireAlways {
		t.Fatalf("account after reset = %+v, %v; want it kept with its requirement", a, err)
	}
}

// twoStores opens one database file twice, as two processes would.
func twoStores(t *testing.T) [2]*Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	return [2]*Store{openAt(t, path), openAt(t, path)}
}

// race runs fn from n goroutines spread over both stores, started together,
// and returns how many reported a win. Any error fails the test.
func race(t *testing.T, stores [2]*Store, n int, fn func(ctx context.Context, s *Store) (bool, error)) int {
	t.Helper()
	var (
		wins  atomic.Int32
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			won, err := fn(t.Context(), stores[i%2])
			if err != nil {
				errs <- err
			}
			if won {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(wins.Load())
}

func TestTakeChallengeRace(t *testing.T) {
	stores := twoStores(t)
	c := sampleChallenge("c1", "ua", t0)
	if err := stores[0].PutChallenge(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	wins := race(t, stores, 20, func(ctx context.Context, s *Store) (bool, error) {
		got, err := s.TakeChallenge(ctx, "c1")
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err == nil && !bytes.Equal(got.Sealed, c.Sealed) {
			return true, fmt.Errorf("taken challenge = %+v", got)
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Fatalf("%d requests took the challenge, want 1", wins)
	}
}

func TestUseRecoveryCodeRace(t *testing.T) {
	stores := twoStores(t)
	ctx := t.Context()
	if err := stores[0].ReplaceRecoveryCodes(ctx, "ua", []store.RecoveryCode{{Hint: "ab", Hash: "h"}}); err != nil {
		t.Fatal(err)
	}
	codes, err := stores[1].RecoveryCodes(ctx, "ua")
	if err != nil || len(codes) != 1 {
		t.Fatalf("codes = %+v, %v", codes, err)
	}
	wins := race(t, stores, 20, func(ctx context.Context, s *Store) (bool, error) {
		return s.UseRecoveryCode(ctx, codes[0].ID, t0)
	})
	if wins != 1 {
		t.Fatalf("the code was used %d times, want once", wins)
	}
}

func TestUseTOTPStepRace(t *testing.T) {
	stores := twoStores(t)
	if err := stores[0].PutTOTP(t.Context(), store.TOTP{UserID: "ua", Sealed: []byte("k"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	wins := race(t, stores, 20, func(ctx context.Context, s *Store) (bool, error) {
		return s.UseTOTPStep(ctx, "ua", 58_000_000)
	})
	if wins != 1 {
		t.Fatalf("the step was accepted %d times, want once", wins)
	}
}

func TestRotateTrustedBrowserRace(t *testing.T) {
	stores := twoStores(t)
	b := sampleBrowser("b1", "ua", t0)
	if err := stores[0].PutTrustedBrowser(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	wins := race(t, stores, 20, func(ctx context.Context, s *Store) (bool, error) {
		next := fmt.Appendf(nil, "next %d", n.Add(1))
		return s.RotateTrustedBrowser(ctx, "b1", b.Nonce, next, t0)
	})
	if wins != 1 {
		t.Fatalf("the cookie was accepted %d times, want once", wins)
	}
}

func TestAddChallengeAttemptCountsEveryAttempt(t *testing.T) {
	stores := twoStores(t)
	c := sampleChallenge("c1", "ua", t0)
	c.Attempts = 0
	if err := stores[0].PutChallenge(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	var seen sync.Map
	race(t, stores, 20, func(ctx context.Context, s *Store) (bool, error) {
		n, err := s.AddChallengeAttempt(ctx, "c1")
		if _, dup := seen.LoadOrStore(n, true); dup {
			return false, fmt.Errorf("two attempts got count %d", n)
		}
		return false, err
	})
	if got, _ := stores[1].Challenge(t.Context(), "c1"); got.Attempts != 20 {
		t.Fatalf("attempts = %d, want 20", got.Attempts)
	}
}

// TestMigrateFromPreviousSchema opens a database created by the migrations
// before the second factor, with a token in it, and checks the upgrade.
func TestMigrateFromPreviousSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Roll back to version 2 (exercising the down migration), store a token
	// the way that schema stores it, and close.
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.GetDBVersion(ctx); v != 2 {
		t.Fatalf("version after rolling back = %d, want 2", v)
	}
	tok := sampleToken("old", t0)
	tok.Factor = ""
	_, err = db.ExecContext(ctx, `INSERT INTO tokens (hash, kind, user_id, user_name, is_admin, device_id,
		client, device_name, ip, source, sealed, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		tok.Hash[:], string(tok.Kind), tok.UserID, tok.UserName, tok.IsAdmin, tok.DeviceID, tok.Client,
		tok.DeviceName, tok.IP, tok.Source, tok.Sealed, tok.CreatedAt.UnixNano(), tok.LastSeenAt.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	var buf bytes.Buffer
	s, err = Open(ctx, path, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if want := `msg="applying migration" version=3 name=00003_second_factor.sql`; !strings.Contains(buf.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, buf.String())
	}
	if strings.Contains(buf.String(), "version=1 ") {
		t.Errorf("upgrade re-applied the first migration:\n%s", buf.String())
	}
	got, err := s.Token(ctx, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	tok.Assurance = store.AssurancePassword // released without a factor: backfilled
	assertToken(t, got, tok)
	tok.Factor = "lan"
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Token(ctx, tok.Hash); got.Factor != "lan" {
		t.Fatalf("Factor after upgrade = %q", got.Factor)
	}
	if err := s.PutAccount(ctx, sampleAccount("ua", "Alice", t0)); err != nil {
		t.Fatal(err)
	}
}
