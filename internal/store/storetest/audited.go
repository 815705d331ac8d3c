package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// runAudited checks Store.Audited: a state change and the audit events that
// record it commit together or not at all, and the events extend one
// unbroken chain.
func runAudited(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CommitsChangeAndEvents", func(t *testing.T) { testAuditedCommits(t, open(t)) })
	t.Run("FailedChangeStoresNothing", func(t *testing.T) { testAuditedFailedChange(t, open(t)) })
	t.Run("UnappendableEventUndoesChange", func(t *testing.T) { testAuditedUnappendable(t, open(t)) })
	t.Run("EventsNeedAChain", func(t *testing.T) { testAuditedNeedsChain(t, open(t)) })
	t.Run("ChangeWithoutEvents", func(t *testing.T) { testAuditedNoEvents(t, open(t)) })
	t.Run("OneChainUnderConcurrency", func(t *testing.T) { testAuditedConcurrent(t, open(t)) })
}

// chainOf is a keyless stand-in for the audit package's chain function:
// a hash over the previous hash and every field the chain covers.
func chainOf(prev []byte, ev store.AuditEvent) []byte {
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

// noHash is a chain function that fails: an event it is asked to chain
// cannot be appended.
func noHash([]byte, store.AuditEvent) []byte { return nil }

// factorState is a user's factor as stored: what a factor change must
// either replace whole or leave alone.
type factorState struct {
	totp    store.TOTP
	codes   []store.RecoveryCode
	pending bool
}

func readFactor(t *testing.T, s store.Store, userID string) factorState {
	t.Helper()
	ctx := t.Context()
	var f factorState
	var err error
	f.totp, err = s.TOTP(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	f.codes, err = s.RecoveryCodes(ctx, userID)
	must(t, err)
	_, err = s.PendingEnrollment(ctx, userID, t0)
	switch {
	case err == nil:
		f.pending = true
	case !errors.Is(err, store.ErrNotFound):
		t.Fatal(err)
	}
	return f
}

func normFactor(f factorState) factorState {
	f.totp.Sealed = blob(f.totp.Sealed)
	f.totp.CreatedAt, f.totp.ConfirmedAt = utc(f.totp.CreatedAt), utc(f.totp.ConfirmedAt)
	codes := make([]store.RecoveryCode, len(f.codes))
	for i, c := range f.codes {
		c.UsedAt = utc(c.UsedAt)
		codes[i] = c
	}
	f.codes = codes
	return f
}

func codesOf(prefix string, n int) []store.RecoveryCode {
	out := make([]store.RecoveryCode, n)
	for i := range out {
		out[i] = store.RecoveryCode{Hint: fmt.Sprintf("%s%d", prefix, i), Hash: fmt.Sprintf("$argon2id$%s-%d", prefix, i)}
	}
	return out
}

// enrolled stores an old factor for userID: a TOTP secret, recovery codes
// (one used) and a pending re-enrollment.
func enrolled(t *testing.T, s store.Store, userID string) factorState {
	t.Helper()
	ctx := t.Context()
	must(t, s.PutTOTP(ctx, store.TOTP{UserID: userID, UserName: "old", Sealed: []byte("old secret"), Confirmed: true,
		CreatedAt: t0, ConfirmedAt: t0}))
	must(t, s.ReplaceRecoveryCodes(ctx, userID, codesOf("old", 10)))
	codes, err := s.RecoveryCodes(ctx, userID)
	must(t, err)
	if _, err := s.UseRecoveryCode(ctx, codes[0].ID, t0); err != nil {
		t.Fatal(err)
	}
	putPending(t, s, pending(userID, "new secret", t0.Add(time.Hour)))
	return readFactor(t, s, userID)
}

// reenroll is the change of a confirmed re-enrollment: new secret, used
// step, new codes, the pending enrollment gone.
func reenroll(ctx context.Context, w store.Writer, userID string) error {
	if err := w.PutTOTP(ctx, store.TOTP{UserID: userID, UserName: "new", Sealed: []byte("new secret"), Confirmed: true,
		CreatedAt: t0.Add(time.Minute), ConfirmedAt: t0.Add(time.Minute)}); err != nil {
		return err
	}
	if _, err := w.UseTOTPStep(ctx, userID, 1000); err != nil {
		return err
	}
	if err := w.ReplaceRecoveryCodes(ctx, userID, codesOf("new", 10)); err != nil {
		return err
	}
	return w.DeletePendingEnrollment(ctx, userID)
}

// auditLog returns every stored event and fails unless they form one
// chain from seq 1.
func auditLog(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	evs, err := s.Audit(t.Context(), store.AuditQuery{})
	must(t, err)
	var prev []byte
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i+1, ev.Seq)
		}
		if !bytes.Equal(ev.PrevHash, prev) {
			t.Fatalf("event %d does not link to the one before it", ev.Seq)
		}
		if !bytes.Equal(ev.Hash, chainOf(prev, ev)) {
			t.Fatalf("event %d: hash does not match its contents", ev.Seq)
		}
		prev = ev.Hash
	}
	return evs
}

func testAuditedCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	first, err := s.AppendAudit(ctx, store.AuditEvent{Time: t0, Kind: "config.changed"}, chainOf)
	must(t, err)
	old := enrolled(t, s, "ua")
	tok := store.Token{Hash: hashOf("released"), Kind: store.KindSession, UserID: "ua", UserName: "alice",
		Source: "login", Sealed: []byte("sealed"), CreatedAt: t0, LastSeenAt: t0}
	ban := store.Ban{Prefix: "203.0.113.7/32", Reason: "r", Source: "manual", Level: 1, CreatedAt: t0}
	lastChange, err := s.LastChange(ctx)
	must(t, err)
	events := []store.AuditEvent{
		{Time: t0.Add(time.Second), Kind: "signin.success", UserID: "ua", UserName: "alice", IP: "192.0.2.1", Detail: "via login"},
		{Kind: "ban.added", IP: "203.0.113.7/32", Detail: "manual ban"},
	}
	stored, err := s.Audited(ctx, events, chainOf, func(w store.Writer) error {
		if err := w.PutToken(ctx, tok); err != nil {
			return err
		}
		if err := w.PutBan(ctx, ban); err != nil {
			return err
		}
		return reenroll(ctx, w, "ua")
	})
	must(t, err)
	if len(stored) != 2 || stored[0].Seq != 2 || stored[1].Seq != 3 {
		t.Fatalf("stored events %+v, want seqs 2 and 3", stored)
	}
	if !bytes.Equal(stored[0].PrevHash, first.Hash) || !bytes.Equal(stored[1].PrevHash, stored[0].Hash) {
		t.Fatal("the committed events do not extend the chain")
	}
	if !stored[0].Time.Equal(t0.Add(time.Second)) || stored[1].Time.IsZero() {
		t.Fatalf("event times %v, %v: want the given time, and now for none", stored[0].Time, stored[1].Time)
	}
	evs := auditLog(t, s)
	if len(evs) != 3 {
		t.Fatalf("%d events stored, want 3", len(evs))
	}
	for i, want := range stored {
		got := evs[i+1]
		if got.Kind != want.Kind || got.UserID != want.UserID || got.IP != want.IP || got.Detail != want.Detail ||
			!got.Time.Equal(want.Time) || !bytes.Equal(got.Hash, want.Hash) {
			t.Fatalf("stored event %d =\n%+v\nreturned as\n%+v", got.Seq, got, want)
		}
	}
	if _, err := s.Token(ctx, tok.Hash); err != nil {
		t.Fatalf("the token of the change: %v", err)
	}
	if b, err := s.Ban(ctx, ban.Prefix); err != nil || !b.Active(t0) {
		t.Fatalf("the ban of the change: %+v, %v", b, err)
	}
	changes, err := s.Changes(ctx, lastChange)
	must(t, err)
	if len(changes) != 1 || changes[0].Kind != store.ChangeBanAdded {
		t.Fatalf("changes %+v, want the ban's", changes)
	}
	now := readFactor(t, s, "ua")
	if string(now.totp.Sealed) != "new secret" || now.pending || len(now.codes) != 10 || now.codes[0].Hint != "new0" ||
		!now.codes[0].UsedAt.IsZero() {
		t.Fatalf("factor after the change: %+v (before: %+v)", now, old)
	}
	if ok, err := s.UseTOTPStep(ctx, "ua", 1000); err != nil || ok {
		t.Fatalf("the step the change used is usable again: %v, %v", ok, err)
	}
}

func testAuditedFailedChange(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.AppendAudit(ctx, store.AuditEvent{Time: t0, Kind: "config.changed"}, chainOf)
	must(t, err)
	old := enrolled(t, s, "ua")
	lastChange, err := s.LastChange(ctx)
	must(t, err)
	interrupted := errors.New("interrupted")
	tok := store.Token{Hash: hashOf("released"), Kind: store.KindSession, UserID: "ua", Sealed: []byte("s"), CreatedAt: t0}
	_, err = s.Audited(ctx, []store.AuditEvent{{Kind: "factor.enrolled", UserID: "ua"}}, chainOf, func(w store.Writer) error {
		if err := reenroll(ctx, w, "ua"); err != nil {
			return err
		}
		if err := w.PutToken(ctx, tok); err != nil {
			return err
		}
		if err := w.PutBan(ctx, store.Ban{Prefix: "203.0.113.7/32", Source: "manual", Level: 1, CreatedAt: t0}); err != nil {
			return err
		}
		return interrupted
	})
	if !errors.Is(err, interrupted) {
		t.Fatalf("Audited = %v, want the change's error", err)
	}
	mustEqual(t, "factor after a failed change", readFactor(t, s, "ua"), old, normFactor)
	if evs := auditLog(t, s); len(evs) != 1 {
		t.Fatalf("%d events after a failed change, want the 1 before it", len(evs))
	}
	_, err = s.Token(ctx, tok.Hash)
	mustNotFound(t, "token of a failed change", err)
	_, err = s.Ban(ctx, "203.0.113.7/32")
	mustNotFound(t, "ban of a failed change", err)
	if last, err := s.LastChange(ctx); err != nil || last != lastChange {
		t.Fatalf("change feed at %d after a failed change, want %d (%v)", last, lastChange, err)
	}
	// The store is usable at once: the same change commits now.
	_, err = s.Audited(ctx, []store.AuditEvent{{Kind: "factor.enrolled", UserID: "ua"}}, chainOf,
		func(w store.Writer) error { return reenroll(ctx, w, "ua") })
	must(t, err)
	if evs := auditLog(t, s); len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
}

func testAuditedUnappendable(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := enrolled(t, s, "ua")
	// A reset and a re-enrollment, each with an event that cannot be
	// appended: neither change may stay.
	for name, change := range map[string]func(store.Writer) error{
		"reset":     func(w store.Writer) error { return w.ResetUser(ctx, "ua") },
		"re-enroll": func(w store.Writer) error { return reenroll(ctx, w, "ua") },
		"disable": func(w store.Writer) error {
			return errors.Join(w.DeleteTOTP(ctx, "ua"), w.ReplaceRecoveryCodes(ctx, "ua", nil))
		},
		"ban": func(w store.Writer) error {
			return w.PutBan(ctx, store.Ban{Prefix: "198.51.100.0/24", Level: 1, CreatedAt: t0})
		},
		"new session": func(w store.Writer) error {
			return w.PutToken(ctx, store.Token{Hash: hashOf("t"), Kind: store.KindSession, Sealed: []byte("s")})
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Audited(ctx, []store.AuditEvent{{Kind: "x"}}, noHash, change)
			if err == nil {
				t.Fatal("Audited succeeded with an event that cannot be chained")
			}
			mustEqual(t, "factor", readFactor(t, s, "ua"), old, normFactor)
			if evs := auditLog(t, s); len(evs) != 0 {
				t.Fatalf("%d events stored", len(evs))
			}
			_, err = s.Ban(ctx, "198.51.100.0/24")
			mustNotFound(t, "ban", err)
			_, err = s.Token(ctx, hashOf("t"))
			mustNotFound(t, "token", err)
		})
	}
}

func testAuditedNeedsChain(t *testing.T, s store.Store) {
	ctx := t.Context()
	ran := false
	_, err := s.Audited(ctx, []store.AuditEvent{{Kind: "ban.added"}}, nil, func(w store.Writer) error {
		ran = true
		return w.PutBan(ctx, store.Ban{Prefix: "203.0.113.7/32", Level: 1, CreatedAt: t0})
	})
	if err == nil {
		t.Fatal("Audited succeeded without a chain function")
	}
	_, berr := s.Ban(ctx, "203.0.113.7/32")
	if !errors.Is(berr, store.ErrNotFound) {
		t.Fatalf("ban stored (change ran: %v): %v", ran, berr)
	}
	if evs := auditLog(t, s); len(evs) != 0 {
		t.Fatalf("%d events stored", len(evs))
	}
}

func testAuditedNoEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := enrolled(t, s, "ua")
	stored, err := s.Audited(ctx, nil, nil, func(w store.Writer) error { return w.ResetUser(ctx, "ua") })
	must(t, err)
	if len(stored) != 0 {
		t.Fatalf("stored events %+v, want none", stored)
	}
	if now := readFactor(t, s, "ua"); now.totp.UserID != "" || len(now.codes) != 0 || now.pending {
		t.Fatalf("factor after a reset: %+v (before: %+v)", now, old)
	}
	// Events alone (no change) are appended like AppendAudit's.
	stored, err = s.Audited(ctx, []store.AuditEvent{{Kind: "a"}, {Kind: "b"}}, chainOf, nil)
	must(t, err)
	if len(stored) != 2 || stored[1].Seq != 2 {
		t.Fatalf("stored events %+v", stored)
	}
	auditLog(t, s)
}

func testAuditedConcurrent(t *testing.T, s store.Store) {
	const n = 16
	race(t, n, func(ctx context.Context, i int) (bool, error) {
		prefix := fmt.Sprintf("192.0.2.%d/32", i)
		evs := []store.AuditEvent{{Kind: "ban.added", IP: prefix}, {Kind: "signin.success", UserID: fmt.Sprint(i)}}
		_, err := s.Audited(ctx, evs, chainOf, func(w store.Writer) error {
			return w.PutBan(ctx, store.Ban{Prefix: prefix, Level: 1, CreatedAt: t0})
		})
		return err == nil, err
	})
	evs := auditLog(t, s)
	if len(evs) != 2*n {
		t.Fatalf("%d events, want %d", len(evs), 2*n)
	}
	// Each commit's events stay together, in the order given.
	for i := 0; i < len(evs); i += 2 {
		if evs[i].Kind != "ban.added" || evs[i+1].Kind != "signin.success" {
			t.Fatalf("events %d and %d are %s and %s: one commit's events were split", evs[i].Seq, evs[i+1].Seq,
				evs[i].Kind, evs[i+1].Kind)
		}
	}
	bans, err := s.Bans(t.Context(), t0, false)
	must(t, err)
	if len(bans) != n {
		t.Fatalf("%d bans, want %d", len(bans), n)
	}
}
