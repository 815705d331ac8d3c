package signin

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// audited is a sign-in service with an audit log over a real SQLite file,
// and the file itself for injecting failures.
type audited struct {
	*Service
	st  *sqlite.Store
	log *audit.Log
	clk *testkit.Clock
}

func newAudited(t *testing.T) *audited {
	t.Helper()
	dir := t.TempDir()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "jellyguard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	log := audit.New(st, keys, nil)
	s := New(Options{Config: &cfg, Store: st, Keys: keys, Audit: log, Now: clk.Now})
	return &audited{Service: s, st: st, log: log, clk: clk}
}

// failing makes every insert into table fail, as a full disk or a kill
// would stop the transaction there, until the test ends or the returned
// function is called.
func (a *audited) failing(t *testing.T, table string) func() {
	t.Helper()
	name := "fail_" + table
	if _, err := a.st.DB().Exec(`CREATE TRIGGER ` + name + ` BEFORE INSERT ON ` + table +
		` BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	done := false
	heal := func() {
		if !done {
			done = true
			if _, err := a.st.DB().Exec(`DROP TRIGGER ` + name); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(heal)
	return heal
}

// factorRecord is everything a factor change touches for one user.
type factorRecord struct {
	TOTP    store.TOTP
	Codes   []store.RecoveryCode
	Pending []byte
	Events  int
}

func (a *audited) record(t *testing.T, userID string) factorRecord {
	t.Helper()
	ctx := context.Background()
	var r factorRecord
	var err error
	if r.TOTP, err = a.st.TOTP(ctx, userID); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if r.Codes, err = a.st.RecoveryCodes(ctx, userID); err != nil {
		t.Fatal(err)
	}
	if p, err := a.st.PendingEnrollment(ctx, userID, a.clk.Now()); err == nil {
		r.Pending = p.Sealed
	}
	n, err := a.log.Verify(ctx)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	r.Events = n
	return r
}

func (a *audited) unchanged(t *testing.T, what string, before factorRecord) {
	t.Helper()
	if after := a.record(t, aliceID); !reflect.DeepEqual(after, before) {
		t.Fatalf("%s changed the stored factor:\n%+v\nwas\n%+v", what, after, before)
	}
}

// code is a TOTP code of secret at the next time step, so every code a
// test types is one the gateway has not accepted yet.
func (a *audited) code(t *testing.T, secret string) string {
	t.Helper()
	a.clk.Advance(30 * time.Second)
	c, err := totp.Code(secret, a.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (a *audited) events(t *testing.T, kind audit.Kind) int {
	t.Helper()
	evs, err := a.log.Since(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// TestAFactorChangeCommitsWholeOrNotAtAll stops every factor change
// midway — at the recovery codes, after the new secret and its used step
// are written, and at the audit event, after everything else is — and
// checks that the old factor, the old codes and the pending enrollment are
// left exactly as they were, with no event; once writes work again the
// same change goes through with its one event.
func TestAFactorChangeCommitsWholeOrNotAtAll(t *testing.T) {
	ctx := context.Background()
	a := newAudited(t)
	c := freshSession(t, a.Service, "0123456789abcdef0123456789abcdef", a.clk.Now(), DoorLogin)

	// The first enrollment, through the Setup page.
	e, err := a.BeginTOTP(ctx, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var code string
	for _, table := range []string{"recovery_codes", "audit"} {
		heal := a.failing(t, table)
		before := a.record(t, aliceID)
		code = a.code(t, e.Secret)
		if _, err := a.ConfirmTOTP(ctx, c, code); err == nil {
			t.Fatalf("confirming with %s failing succeeded", table)
		}
		a.unchanged(t, "a first enrollment failing at "+table, before)
		if a.isEnrolled(ctx, aliceID) {
			t.Fatal("enrolled by a failed confirmation")
		}
		heal()
	}
	// The code of the failed attempt was not spent: nothing of it stayed.
	old := e.Secret
	if _, err := a.ConfirmTOTP(ctx, c, code); err != nil {
		t.Fatalf("confirming once writes work: %v", err)
	}
	if _, err := a.st.PendingEnrollment(ctx, aliceID, a.clk.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the confirmed enrollment is still pending: %v", err)
	}
	if n := a.events(t, audit.FactorEnrolled); n != 1 {
		t.Fatalf("%d factor.enrolled events, want 1", n)
	}

	// Re-enrolling through the page: the old authenticator keeps working
	// when the change fails.
	e2, err := a.BeginTOTP(ctx, c, a.code(t, old), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"recovery_codes", "audit"} {
		heal := a.failing(t, table)
		before := a.record(t, aliceID)
		if _, err := a.ConfirmTOTP(ctx, c, a.code(t, e2.Secret)); err == nil {
			t.Fatalf("re-enrolling with %s failing succeeded", table)
		}
		a.unchanged(t, "a re-enrollment failing at "+table, before)
		heal()
	}
	if _, ok, err := a.checkCode(ctx, aliceID, a.code(t, old), kindOf("123456")); err != nil || !ok {
		t.Fatalf("the old authenticator after failed re-enrollments: %v, %v", ok, err)
	}
	cur := a.record(t, aliceID)
	if opened, err := a.opt.Keys.Open(cur.TOTP.Sealed, totpAAD(aliceID)); err != nil || string(opened) != old {
		t.Fatalf("the stored secret is not the old one after failed re-enrollments (%v)", err)
	}

	// From the command line, regenerating codes, disabling, resetting.
	changes := []struct {
		name string
		do   func() error
	}{
		{"user totp", func() error {
			_, err := a.EnrollFromCLI(ctx, store.Account{UserID: aliceID, UserName: "alice"})
			return err
		}},
		{"new recovery codes", func() error { _, err := a.RegenerateRecovery(ctx, c, a.code(t, old)); return err }},
		{"disable", func() error { return a.DisableTOTP(ctx, c, a.code(t, old)) }},
		{"reset", func() error { return a.Reset(ctx, store.Account{UserID: aliceID, UserName: "alice"}, "test") }},
	}
	for _, ch := range changes {
		tables := []string{"audit"}
		if ch.name == "user totp" || ch.name == "new recovery codes" {
			tables = append(tables, "recovery_codes")
		}
		for _, table := range tables {
			heal := a.failing(t, table)
			before := a.record(t, aliceID)
			if err := ch.do(); err == nil {
				t.Fatalf("%s with %s failing succeeded", ch.name, table)
			}
			after := a.record(t, aliceID)
			if !bytes.Equal(after.TOTP.Sealed, before.TOTP.Sealed) || !reflect.DeepEqual(after.Codes, before.Codes) ||
				after.Events != before.Events {
				t.Fatalf("%s failing at %s changed the stored factor:\n%+v\nwas\n%+v", ch.name, table, after, before)
			}
			heal()
		}
	}
	if n := a.events(t, audit.FactorEnrolled); n != 1 {
		t.Fatalf("%d factor.enrolled events after failed changes, want 1", n)
	}
	for _, k := range []audit.Kind{audit.RecoveryRenewed, audit.FactorDisabled, audit.UserReset} {
		if n := a.events(t, k); n != 0 {
			t.Fatalf("%d %s events after failed changes, want 0", n, k)
		}
	}

	// Each change goes through, with one event, once writes work.
	if _, err := a.RegenerateRecovery(ctx, c, a.code(t, old)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.EnrollFromCLI(ctx, store.Account{UserID: aliceID, UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Reset(ctx, store.Account{UserID: aliceID, UserName: "alice"}, "test"); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[audit.Kind]int{audit.FactorEnrolled: 2, audit.RecoveryRenewed: 1, audit.UserReset: 1} {
		if n := a.events(t, k); n != want {
			t.Fatalf("%d %s events, want %d", n, k, want)
		}
	}
	if a.isEnrolled(ctx, aliceID) {
		t.Fatal("enrolled after a reset")
	}
	if _, err := a.log.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
