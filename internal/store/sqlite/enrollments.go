package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const (
	putPendingEnrollmentSQL = `INSERT INTO pending_enrollments (user_id, sealed, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`
	selectPendingEnrollmentSQL = `SELECT user_id, sealed, expires_at FROM pending_enrollments
	WHERE user_id = $1 AND expires_at > $2`
	deletePendingEnrollmentSQL = `DELETE FROM pending_enrollments WHERE user_id = $1`
)

// PutPendingEnrollment inserts or replaces the user's pending enrollment.
// A zero ExpiresAt is stored as 0, so such an enrollment is expired from
// the start.
func (s *Store) PutPendingEnrollment(ctx context.Context, p store.PendingEnrollment) error {
	if p.Sealed == nil {
		p.Sealed = []byte{} // the column is NOT NULL: a sealed secret is never absent
	}
	return s.write(ctx, "storing pending enrollment", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putPendingEnrollmentSQL, p.UserID, p.Sealed, nanos(p.ExpiresAt))
		return err
	})
}

// PendingEnrollment returns the user's pending enrollment, or
// store.ErrNotFound when there is none or it expired at or before now
// (time.Now() if zero).
func (s *Store) PendingEnrollment(ctx context.Context, userID string, now time.Time) (store.PendingEnrollment, error) {
	if now.IsZero() {
		now = time.Now()
	}
	var p store.PendingEnrollment
	var expires sql.NullInt64
	err := s.db.QueryRowContext(ctx, selectPendingEnrollmentSQL, userID, now.UnixNano()).Scan(&p.UserID, &p.Sealed, &expires)
	if err != nil {
		return store.PendingEnrollment{}, fmt.Errorf("looking up pending enrollment: %w", notFound(err))
	}
	p.ExpiresAt = fromNanos(expires)
	return p, nil
}

// DeletePendingEnrollment removes the user's pending enrollment; an absent
// one is not an error.
func (s *Store) DeletePendingEnrollment(ctx context.Context, userID string) error {
	return s.write(ctx, "deleting pending enrollment", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, deletePendingEnrollmentSQL, userID)
		return err
	})
}
