package storetest

import (
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func runEnrollment(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testPendingEnrollmentRoundTrip(t, open(t)) })
	t.Run("Replace", func(t *testing.T) { testPendingEnrollmentReplace(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testPendingEnrollmentDelete(t, open(t)) })
	t.Run("ResetUser", func(t *testing.T) { testPendingEnrollmentResetUser(t, open(t)) })
}

func pending(userID, sealed string, expires time.Time) store.PendingEnrollment {
	return store.PendingEnrollment{UserID: userID, Sealed: []byte(sealed), ExpiresAt: expires}
}

func normPending(p store.PendingEnrollment) store.PendingEnrollment {
	p.Sealed, p.ExpiresAt = blob(p.Sealed), utc(p.ExpiresAt)
	return p
}

func putPending(t *testing.T, s store.Store, ps ...store.PendingEnrollment) {
	t.Helper()
	for _, p := range ps {
		must(t, s.PutPendingEnrollment(t.Context(), p))
	}
}

func testPendingEnrollmentRoundTrip(t *testing.T, s store.Store) {
	a := pending("ua", "sealed secret of ua", t0.Add(15*time.Minute))
	b := pending("ub", "sealed secret of ub", t0.Add(5*time.Minute))
	putPending(t, s, a, b)
	tests := []struct {
		name   string
		userID string
		now    time.Time
		want   *store.PendingEnrollment // nil: not found
	}{
		{"open", "ua", t0, &a},
		{"another user", "ub", t0, &b},
		{"just before expiry", "ua", a.ExpiresAt.Add(-us), &a},
		{"at expiry", "ua", a.ExpiresAt, nil},
		{"after expiry", "ub", b.ExpiresAt.Add(time.Minute), nil},
		{"expired for one user only", "ua", b.ExpiresAt, &a},
		{"unknown user", "uc", t0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.PendingEnrollment(t.Context(), tt.userID, tt.now)
			if tt.want == nil {
				mustNotFound(t, "pending enrollment", err)
				return
			}
			must(t, err)
			mustEqual(t, "pending enrollment", got, *tt.want, normPending)
		})
	}
}

func testPendingEnrollmentReplace(t *testing.T, s store.Store) {
	putPending(t, s, pending("ua", "first", t0.Add(time.Minute)))
	// Beginning again replaces the secret and the expiry, even a later
	// expiry with an earlier one.
	for _, p := range []store.PendingEnrollment{
		pending("ua", "second", t0.Add(time.Hour)),
		pending("ua", "third", t0.Add(2*time.Minute)),
	} {
		putPending(t, s, p)
		got, err := s.PendingEnrollment(t.Context(), "ua", t0)
		must(t, err)
		mustEqual(t, "replaced pending enrollment", got, p, normPending)
	}
	_, err := s.PendingEnrollment(t.Context(), "ua", t0.Add(30*time.Minute))
	mustNotFound(t, "replaced with an earlier expiry", err)
}

func testPendingEnrollmentDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := pending("ub", "kept", t0.Add(time.Hour))
	putPending(t, s, pending("ua", "gone", t0.Add(time.Hour)), b)
	must(t, s.DeletePendingEnrollment(ctx, "ua"))
	_, err := s.PendingEnrollment(ctx, "ua", t0)
	mustNotFound(t, "deleted pending enrollment", err)
	got, err := s.PendingEnrollment(ctx, "ub", t0)
	must(t, err)
	mustEqual(t, "another user's pending enrollment", got, b, normPending)
	must(t, s.DeletePendingEnrollment(ctx, "ua"))
	must(t, s.DeletePendingEnrollment(ctx, "nobody"))
}

// testPendingEnrollmentResetUser: breaking glass for a user also discards
// the secret they (or whoever held their session) were enrolling.
func testPendingEnrollmentResetUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := pending("ub", "kept", t0.Add(time.Hour))
	putPending(t, s, pending("ua", "gone", t0.Add(time.Hour)), b)
	must(t, s.ResetUser(ctx, "ua"))
	_, err := s.PendingEnrollment(ctx, "ua", t0)
	mustNotFound(t, "pending enrollment after ResetUser", err)
	got, err := s.PendingEnrollment(ctx, "ub", t0)
	must(t, err)
	mustEqual(t, "another user's pending enrollment after ResetUser", got, b, normPending)
}
