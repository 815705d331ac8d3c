package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// limitPages makes the database full at its current size for the rest of
// the test (or until the returned function lifts the limit): a write that
// needs a new page fails as on a full disk. The pool is cut to one
// connection, because the limit is a connection's setting.
func limitPages(t *testing.T, s *Store) (lift func()) {
	t.Helper()
	ctx := t.Context()
	s.db.SetMaxOpenConns(1)
	var pages int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := s.db.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
			t.Fatal(err)
		}
		s.db.SetMaxOpenConns(0)
	}
}

// enrollment is a user's stored factor.
type enrollment struct {
	totp  store.TOTP
	codes []store.RecoveryCode
}

func enrollmentOf(t *testing.T, s *Store, userID string) enrollment {
	t.Helper()
	tp, err := s.TOTP(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.RecoveryCodes(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return enrollment{tp, codes}
}

func factorCodes(prefix string) []store.RecoveryCode {
	codes := make([]store.RecoveryCode, 10)
	for i := range codes {
		codes[i] = store.RecoveryCode{Hint: fmt.Sprintf("%s%d", prefix, i),
			Hash: "$argon2id$v=19$m=65536,t=3,p=2$" + strings.Repeat(prefix, 40)}
	}
	return codes
}

// TestFactorChangeOnAFullDatabase re-enrolls a user while the database is
// full: the audit log's last page is filled first, so the new secret and
// codes fit and only the event does not. Nothing of the change may
// stay; once there is room, the same change commits with its event.
func TestFactorChangeOnAFullDatabase(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	if err := s.PutTOTP(ctx, store.TOTP{UserID: "u", UserName: "alice", Sealed: []byte("old secret"), Confirmed: true,
		CreatedAt: t0, ConfirmedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "u", factorCodes("o")); err != nil {
		t.Fatal(err)
	}
	old := enrollmentOf(t, s, "u")

	lift := limitPages(t, s)
	filler := strings.Repeat("x", 300)
	var events int
	for {
		if _, err := s.AppendAudit(ctx, store.AuditEvent{Kind: "filler", Detail: filler}, testChain); err != nil {
			break
		}
		if events++; events > 10000 {
			t.Fatal("the database never filled up")
		}
	}
	change := func(w store.Writer) error {
		err := w.PutTOTP(ctx, store.TOTP{UserID: "u", UserName: "alice", Sealed: []byte("new secret"), Confirmed: true,
			CreatedAt: t0.Add(time.Hour), ConfirmedAt: t0.Add(time.Hour)})
		if err != nil {
			return err
		}
		if _, err := w.UseTOTPStep(ctx, "u", 99); err != nil {
			return err
		}
		return w.ReplaceRecoveryCodes(ctx, "u", factorCodes("n"))
	}
	// The event needs more pages than replacing the codes frees.
	ev := []store.AuditEvent{{Kind: "factor.enrolled", UserID: "u", UserName: "alice", Detail: strings.Repeat("d", 64<<10)}}
	if _, err := s.Audited(ctx, ev, testChain, change); err == nil {
		t.Fatal("a change committed although its audit event did not fit")
	}
	if got := enrollmentOf(t, s, "u"); !reflect.DeepEqual(got, old) {
		t.Fatalf("after the failed change:\n%+v\nwant the old enrollment\n%+v", got, old)
	}
	if n, err := s.Audit(ctx, store.AuditQuery{}); err != nil || len(n) != events {
		t.Fatalf("%d events after the failed change, want %d (%v)", len(n), events, err)
	}

	lift()
	stored, err := s.Audited(ctx, ev, testChain, change)
	if err != nil {
		t.Fatalf("once there is room: %v", err)
	}
	if stored[0].Seq != int64(events+1) {
		t.Fatalf("the event has seq %d, want %d", stored[0].Seq, events+1)
	}
	if got := enrollmentOf(t, s, "u"); string(got.totp.Sealed) != "new secret" || got.codes[0].Hint != "n0" {
		t.Fatalf("after the change: %+v", got)
	}
}

// TestAuditedJoinsOneTransaction checks the Writer's calls run in the
// audited transaction: a second writer of the same store waits for the
// whole change, and a Writer kept past the change writes nothing.
func TestAuditedJoinsOneTransaction(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	var kept store.Writer
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.Audited(ctx, []store.AuditEvent{{Kind: "ban.added"}}, testChain, func(w store.Writer) error {
			kept = w
			if err := w.PutBan(ctx, store.Ban{Prefix: "203.0.113.7/32", Level: 1, CreatedAt: t0}); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
		done <- err
	}()
	<-inside
	// Another writer of this store waits for the audited transaction.
	waiting, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := s.PutSetting(waiting, "k", "v")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write during the audited change: %v, want it to wait", err)
	}
	// Nothing of the change is visible before it commits.
	if _, err := s.Ban(ctx, "203.0.113.7/32"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the ban is visible before its event is written: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ban(ctx, "203.0.113.7/32"); err != nil {
		t.Fatal(err)
	}
	if err := kept.PutBan(ctx, store.Ban{Prefix: "198.51.100.1/32", Level: 1, CreatedAt: t0}); err == nil {
		t.Fatal("a Writer kept past its change still writes")
	}
	if _, err := s.Ban(ctx, "198.51.100.1/32"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a write through a kept Writer was stored: %v", err)
	}
}
