package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const quickConnectColumns = `secret_hash, code, created_at, expires_at, authorized_at,
	by_user_id, by_user_name, by_is_admin, by_assurance, by_ip`

const (
	putQuickConnectSQL = `INSERT INTO quickconnect_requests (` + quickConnectColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
	ON CONFLICT (secret_hash) DO UPDATE SET
		code = excluded.code, created_at = excluded.created_at, expires_at = excluded.expires_at,
		authorized_at = excluded.authorized_at, by_user_id = excluded.by_user_id,
		by_user_name = excluded.by_user_name, by_is_admin = excluded.by_is_admin,
		by_assurance = excluded.by_assurance, by_ip = excluded.by_ip`
	deleteExpiredQuickConnectSQL = `DELETE FROM quickconnect_requests WHERE expires_at <= $1`
	// A bare COUNT(*) is answered from the table's pages without visiting
	// each row, which keeps a full table cheap to count; the request being
	// replaced, if stored, is subtracted separately.
	countQuickConnectSQL  = `SELECT COUNT(*) FROM quickconnect_requests`
	quickConnectExistsSQL = `SELECT COUNT(*) FROM quickconnect_requests WHERE secret_hash = $1`
	// Requests not yet authorised go first: only a signed-in user can
	// authorise one, so a flood of anonymous requests evicts its own kind.
	evictQuickConnectSQL = `DELETE FROM quickconnect_requests WHERE secret_hash IN (
		SELECT secret_hash FROM quickconnect_requests WHERE secret_hash <> $1
		ORDER BY authorized_at IS NOT NULL, created_at, secret_hash LIMIT $2)`
)

// PutQuickConnect inserts or replaces the request with r.SecretHash, every
// field included. In the same transaction it drops the requests expired at
// r.CreatedAt (now if zero) and, when store.MaxQuickConnectRequests would
// be exceeded, evicts the oldest ones, those not yet authorised first.
func (s *Store) PutQuickConnect(ctx context.Context, r store.QuickConnectRequest) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	a := r.Approval
	return s.write(ctx, "storing Quick Connect request", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteExpiredQuickConnectSQL, r.CreatedAt.UnixNano()); err != nil {
			return err
		}
		var stored, replaced int
		if err := tx.QueryRowContext(ctx, countQuickConnectSQL).Scan(&stored); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, quickConnectExistsSQL, r.SecretHash[:]).Scan(&replaced); err != nil {
			return err
		}
		if excess := stored - replaced - (store.MaxQuickConnectRequests - 1); excess > 0 {
			if _, err := tx.ExecContext(ctx, evictQuickConnectSQL, r.SecretHash[:], excess); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, putQuickConnectSQL, r.SecretHash[:], r.Code, r.CreatedAt.UnixNano(),
			nanos(r.ExpiresAt), nullNanos(a.At), a.UserID, a.UserName, a.IsAdmin, string(a.Assurance), a.IP)
		return err
	})
}

// The newest unexpired request with the code ($1) that is not authorised
// yet; the outer condition repeats the last part so a row authorised in
// between is not authorised again.
const authorizeQuickConnectSQL = `UPDATE quickconnect_requests SET authorized_at = $3,
		by_user_id = $4, by_user_name = $5, by_is_admin = $6, by_assurance = $7, by_ip = $8
	WHERE authorized_at IS NULL AND secret_hash = (
		SELECT secret_hash FROM quickconnect_requests
		WHERE code = $1 AND expires_at > $2 AND authorized_at IS NULL
		ORDER BY created_at DESC, secret_hash DESC LIMIT 1)`

// AuthorizeQuickConnect records by as the approval of the newest request
// with code that is unexpired at now (time.Now() if zero) and not yet
// authorised, dated by.At (now if zero). It reports false when there is no
// such request. The choice and the update are one statement in one
// immediate transaction, so of several calls at once one wins.
func (s *Store) AuthorizeQuickConnect(ctx context.Context, code string, by store.QuickConnectApproval, now time.Time) (bool, error) {
	if now.IsZero() {
		now = time.Now()
	}
	if by.At.IsZero() {
		by.At = now
	}
	args := []any{code, now.UnixNano(), by.At.UnixNano(), by.UserID, by.UserName, by.IsAdmin, string(by.Assurance), by.IP}
	return s.updateIf(ctx, "authorising Quick Connect request", authorizeQuickConnectSQL, args, "", nil)
}

const selectQuickConnectSQL = `SELECT ` + quickConnectColumns + ` FROM quickconnect_requests
	WHERE secret_hash = $1 AND expires_at > $2`

// QuickConnect returns the request whose secret hashes to secretHash, or
// store.ErrNotFound when there is none or it expired at or before now
// (time.Now() if zero).
func (s *Store) QuickConnect(ctx context.Context, secretHash [32]byte, now time.Time) (store.QuickConnectRequest, error) {
	if now.IsZero() {
		now = time.Now()
	}
	r, err := scanQuickConnect(s.db.QueryRowContext(ctx, selectQuickConnectSQL, secretHash[:], now.UnixNano()))
	if err != nil {
		return store.QuickConnectRequest{}, fmt.Errorf("looking up Quick Connect request: %w", notFound(err))
	}
	return r, nil
}

// DeleteExpiredQuickConnect deletes the requests expired at now (time.Now()
// if zero) and returns how many it deleted.
func (s *Store) DeleteExpiredQuickConnect(ctx context.Context, now time.Time) (int, error) {
	if now.IsZero() {
		now = time.Now()
	}
	return s.deleteCount(ctx, "deleting expired Quick Connect requests", deleteExpiredQuickConnectSQL, now.UnixNano())
}

// scanQuickConnect reads one row selected with quickConnectColumns.
func scanQuickConnect(r scanner) (store.QuickConnectRequest, error) {
	var (
		q                         store.QuickConnectRequest
		a                         = &q.Approval
		hash                      []byte
		assurance                 string
		created, expires, authzAt sql.NullInt64
	)
	err := r.Scan(&hash, &q.Code, &created, &expires, &authzAt, &a.UserID, &a.UserName, &a.IsAdmin,
		&assurance, &a.IP)
	if err != nil {
		return store.QuickConnectRequest{}, err
	}
	if len(hash) != len(q.SecretHash) {
		return store.QuickConnectRequest{}, fmt.Errorf("stored Quick Connect request has a %d-byte hash", len(hash))
	}
	copy(q.SecretHash[:], hash)
	a.Assurance = store.Assurance(assurance)
	q.CreatedAt, q.ExpiresAt, a.At = fromNanos(created), fromNanos(expires), fromNanos(authzAt)
	return q, nil
}

// deleteCount runs a DELETE in one immediate transaction and returns how
// many rows it deleted.
func (s *Store) deleteCount(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
