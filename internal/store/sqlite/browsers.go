package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const browserColumns = `id, user_id, device_id, nonce, ip, user_agent, created_at, last_used_at,
	expires_at, revoked_at`

// Replacing a trusted browser keeps an earlier revocation: like a token, a
// revoked browser never comes back to life by being stored again.
const putBrowserSQL = `INSERT INTO trusted_browsers (` + browserColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
	ON CONFLICT (id) DO UPDATE SET
		user_id = excluded.user_id, device_id = excluded.device_id, nonce = excluded.nonce,
		ip = excluded.ip, user_agent = excluded.user_agent, created_at = excluded.created_at,
		last_used_at = excluded.last_used_at, expires_at = excluded.expires_at,
		revoked_at = COALESCE(trusted_browsers.revoked_at, excluded.revoked_at)`

// PutTrustedBrowser inserts or replaces a trusted browser. A stored
// revocation time is kept.
func (s *Store) PutTrustedBrowser(ctx context.Context, b store.TrustedBrowser) error {
	return s.write(ctx, "storing trusted browser", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putBrowserSQL, b.ID, b.UserID, b.DeviceID, b.Nonce, b.IP, b.UserAgent,
			nanos(b.CreatedAt), nullNanos(b.LastUsedAt), nanos(b.ExpiresAt), nullNanos(b.RevokedAt))
		return err
	})
}

const selectBrowserSQL = `SELECT ` + browserColumns + ` FROM trusted_browsers WHERE id = $1`

// TrustedBrowser returns the trusted browser with id, or store.ErrNotFound.
func (s *Store) TrustedBrowser(ctx context.Context, id string) (store.TrustedBrowser, error) {
	b, err := scanBrowser(s.db.QueryRowContext(ctx, selectBrowserSQL, id))
	if err != nil {
		return store.TrustedBrowser{}, fmt.Errorf("looking up trusted browser: %w", notFound(err))
	}
	return b, nil
}

const selectUserBrowsersSQL = `SELECT ` + browserColumns + ` FROM trusted_browsers
	WHERE user_id = $1 ORDER BY created_at DESC, id`

// TrustedBrowsers lists userID's trusted browsers, revoked and expired ones
// included, newest first.
func (s *Store) TrustedBrowsers(ctx context.Context, userID string) ([]store.TrustedBrowser, error) {
	return queryAll(ctx, s.db, "listing trusted browsers", scanBrowser, selectUserBrowsersSQL, userID)
}

const (
	rotateBrowserSQL = `UPDATE trusted_browsers SET nonce = $3, last_used_at = $4
	WHERE id = $1 AND nonce = $2`
	browserExistsSQL = `SELECT 1 FROM trusted_browsers WHERE id = $1`
)

// RotateTrustedBrowser replaces the browser's nonce with next and sets
// LastUsedAt to `at` (now if zero), if the nonce still equals old. It
// reports false when another request rotated it first (a replayed cookie),
// and store.ErrNotFound when there is no such browser. Revocation and
// expiry are the caller's to check.
func (s *Store) RotateTrustedBrowser(ctx context.Context, id string, old, next []byte, at time.Time) (bool, error) {
	if at.IsZero() {
		at = time.Now()
	}
	return s.updateIf(ctx, "rotating trusted browser", rotateBrowserSQL, []any{id, old, next, at.UnixNano()},
		browserExistsSQL, id)
}

const revokeBrowserSQL = `UPDATE trusted_browsers SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`

// RevokeTrustedBrowser marks the browser revoked at `at` (now if zero); the
// first revocation time is kept. store.ErrNotFound if absent.
func (s *Store) RevokeTrustedBrowser(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	return s.write(ctx, "revoking trusted browser", func(tx *sql.Tx) error {
		return execOne(ctx, tx, revokeBrowserSQL, id, at.UnixNano())
	})
}

// scanBrowser reads one row selected with browserColumns.
func scanBrowser(r scanner) (store.TrustedBrowser, error) {
	var b store.TrustedBrowser
	var created, used, expires, revoked sql.NullInt64
	err := r.Scan(&b.ID, &b.UserID, &b.DeviceID, &b.Nonce, &b.IP, &b.UserAgent, &created, &used,
		&expires, &revoked)
	if err != nil {
		return store.TrustedBrowser{}, err
	}
	b.CreatedAt, b.LastUsedAt = fromNanos(created), fromNanos(used)
	b.ExpiresAt, b.RevokedAt = fromNanos(expires), fromNanos(revoked)
	return b, nil
}
