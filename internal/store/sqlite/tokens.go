package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const tokenColumns = `hash, kind, user_id, user_name, is_admin, device_id, client, device_name,
	ip, source, factor, sealed, created_at, last_seen_at, revoked_at, logged_out_at, assurance`

// Replacing a token keeps an earlier revocation or logout: once dead in the
// gateway or in Jellyfin, a token never comes back to life by being stored
// again. A resolved record never replaces a released one, so a process that
// adopts a token another one released keeps the sign-in it records; the
// check sits in the statement, so it holds however two processes interleave.
const putTokenSQL = `INSERT INTO tokens (` + tokenColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (hash) DO UPDATE SET
		kind = excluded.kind, user_id = excluded.user_id, user_name = excluded.user_name,
		is_admin = excluded.is_admin, device_id = excluded.device_id, client = excluded.client,
		device_name = excluded.device_name, ip = excluded.ip, source = excluded.source,
		factor = excluded.factor, assurance = excluded.assurance, sealed = excluded.sealed, created_at = excluded.created_at,
		last_seen_at = excluded.last_seen_at,
		revoked_at = COALESCE(tokens.revoked_at, excluded.revoked_at),
		logged_out_at = COALESCE(tokens.logged_out_at, excluded.logged_out_at)
	WHERE tokens.source = 'resolved' OR excluded.source <> 'resolved'`

// PutToken inserts or replaces the token with t.Hash. A stored revocation or
// logout time is kept, and a released record is not replaced by a resolved
// one.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	return s.write(ctx, "storing token", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putTokenSQL, t.Hash[:], string(t.Kind), t.UserID, t.UserName,
			t.IsAdmin, t.DeviceID, t.Client, t.DeviceName, t.IP, t.Source, t.Factor, t.Sealed,
			nanos(t.CreatedAt), nullNanos(t.LastSeenAt), nullNanos(t.RevokedAt), nullNanos(t.LoggedOutAt), string(t.Assurance))
		return err
	})
}

const selectTokenSQL = `SELECT ` + tokenColumns + ` FROM tokens WHERE hash = $1`

// Token returns the token with the given hash, or store.ErrNotFound.
func (s *Store) Token(ctx context.Context, hash [32]byte) (store.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, selectTokenSQL, hash[:]))
	if err != nil {
		return store.Token{}, fmt.Errorf("looking up token: %w", notFound(err))
	}
	return t, nil
}

const selectTokensSQL = `SELECT ` + tokenColumns + ` FROM tokens`

// Tokens lists tokens, newest first.
func (s *Store) Tokens(ctx context.Context, f store.TokenFilter) ([]store.Token, error) {
	query, args := tokensQuery(f)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return out, nil
}

// tokensQuery builds the listing query for f from fixed fragments.
func tokensQuery(f store.TokenFilter) (string, []any) {
	var where []string
	var args []any
	if f.UserID != "" {
		args = append(args, f.UserID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if !f.IncludeRevoked {
		where = append(where, "revoked_at IS NULL")
	}
	query := selectTokensSQL
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, noLimit(f.Limit))
	query += fmt.Sprintf(" ORDER BY created_at DESC, hash LIMIT $%d", len(args))
	return query, args
}

const (
	revokeTokenSQL  = `UPDATE tokens SET revoked_at = $2 WHERE hash = $1`
	insertChangeSQL = `INSERT INTO changes (kind, key, at) VALUES ($1, $2, $3)`
)

// RevokeToken marks the token revoked at `at` (now if zero) and appends a
// store.ChangeTokenRevoked change in the same transaction, so no process can
// see the revocation without the change that announces it.
func (s *Store) RevokeToken(ctx context.Context, hash [32]byte, at time.Time) (store.Token, error) {
	if at.IsZero() {
		at = time.Now()
	}
	var t store.Token
	err := s.write(ctx, "revoking token", func(tx *sql.Tx) error {
		var err error
		if t, err = scanToken(tx.QueryRowContext(ctx, selectTokenSQL, hash[:])); err != nil {
			return notFound(err)
		}
		if t.Revoked() {
			return nil // already revoked and announced
		}
		if _, err := tx.ExecContext(ctx, revokeTokenSQL, hash[:], at.UnixNano()); err != nil {
			return err
		}
		t.RevokedAt = time.Unix(0, at.UnixNano()).UTC()
		_, err = tx.ExecContext(ctx, insertChangeSQL, store.ChangeTokenRevoked, hex.EncodeToString(hash[:]), at.UnixNano())
		return err
	})
	if err != nil {
		return store.Token{}, err
	}
	return t, nil
}

const markLoggedOutSQL = `UPDATE tokens SET logged_out_at = COALESCE(logged_out_at, $2) WHERE hash = $1`

// MarkLoggedOut records that the token was logged out in Jellyfin at `at`
// (now if zero); the first time recorded is kept. store.ErrNotFound if absent.
func (s *Store) MarkLoggedOut(ctx context.Context, hash [32]byte, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	return s.updateToken(ctx, "recording token logout", markLoggedOutSQL, hash, at)
}

// The partial index tokens_pending_logout (migration 7) holds exactly the
// revoked rows not yet logged out, so this stays cheap however many tokens
// the gateway has ever seen.
const pendingLogoutsSQL = `SELECT ` + tokenColumns + ` FROM tokens
	WHERE revoked_at IS NOT NULL AND logged_out_at IS NULL AND kind = $1
	ORDER BY revoked_at, hash`

// PendingLogouts returns the revoked session tokens not yet logged out in
// Jellyfin, oldest revocation first.
func (s *Store) PendingLogouts(ctx context.Context) ([]store.Token, error) {
	rows, err := s.db.QueryContext(ctx, pendingLogoutsSQL, string(store.KindSession))
	if err != nil {
		return nil, fmt.Errorf("listing tokens awaiting logout: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tokens awaiting logout: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tokens awaiting logout: %w", err)
	}
	return out, nil
}

const touchTokenSQL = `UPDATE tokens SET last_seen_at = CASE
	WHEN last_seen_at IS NULL OR last_seen_at < $2 THEN $2 ELSE last_seen_at END
	WHERE hash = $1`

// TouchToken moves LastSeenAt forward to `at`; an older time (a late batch)
// is ignored. store.ErrNotFound if absent.
func (s *Store) TouchToken(ctx context.Context, hash [32]byte, at time.Time) error {
	if at.IsZero() {
		return nil
	}
	return s.updateToken(ctx, "touching token", touchTokenSQL, hash, at)
}

// updateToken runs a one-row UPDATE keyed by hash ($1) with a time ($2).
func (s *Store) updateToken(ctx context.Context, what, query string, hash [32]byte, at time.Time) error {
	return s.write(ctx, what, func(tx *sql.Tx) error {
		return execOne(ctx, tx, query, hash[:], at.UnixNano())
	})
}

// execOne runs a statement that must change a row: store.ErrNotFound when
// it changed none.
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// The newest session token of each user supplies the name and admin flag;
// a token never seen since sign-in counts as seen when it was created.
const usersSQL = `SELECT user_id, user_name, is_admin, active, last_seen FROM (
	SELECT user_id, user_name, is_admin,
		SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) OVER per_user AS active,
		MAX(COALESCE(last_seen_at, created_at)) OVER per_user AS last_seen,
		ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC, hash) AS rn
	FROM tokens
	WHERE kind = $1 AND user_id <> ''
	WINDOW per_user AS (PARTITION BY user_id)
) newest WHERE rn = 1 ORDER BY user_name, user_id`

// Users summarises the users that own known session tokens, by name.
func (s *Store) Users(ctx context.Context) ([]store.UserSummary, error) {
	rows, err := s.db.QueryContext(ctx, usersSQL, string(store.KindSession))
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer rows.Close()
	var out []store.UserSummary
	for rows.Next() {
		var u store.UserSummary
		var seen sql.NullInt64
		if err := rows.Scan(&u.UserID, &u.UserName, &u.IsAdmin, &u.ActiveTokens, &seen); err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
		u.LastSeenAt = fromNanos(seen)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return out, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanToken reads one row selected with tokenColumns.
func scanToken(r scanner) (store.Token, error) {
	var (
		t                           store.Token
		hash                        []byte
		kind, assurance             string
		created, seen, revoked, out sql.NullInt64
	)
	err := r.Scan(&hash, &kind, &t.UserID, &t.UserName, &t.IsAdmin, &t.DeviceID, &t.Client, &t.DeviceName,
		&t.IP, &t.Source, &t.Factor, &t.Sealed, &created, &seen, &revoked, &out, &assurance)
	if err != nil {
		return store.Token{}, err
	}
	if len(hash) != len(t.Hash) {
		return store.Token{}, fmt.Errorf("token row has a %d-byte hash", len(hash))
	}
	copy(t.Hash[:], hash)
	t.Kind, t.Assurance = store.TokenKind(kind), store.Assurance(assurance)
	t.CreatedAt, t.LastSeenAt = fromNanos(created), fromNanos(seen)
	t.RevokedAt, t.LoggedOutAt = fromNanos(revoked), fromNanos(out)
	return t, nil
}
