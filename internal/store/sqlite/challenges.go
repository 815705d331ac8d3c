package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const challengeColumns = `id, user_id, user_name, is_admin, device_id, client, device_name, version,
	ip, server_id, web, source, sealed, attempts, created_at, expires_at`

const putChallengeSQL = `INSERT INTO challenges (` + challengeColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
	ON CONFLICT (id) DO UPDATE SET
		user_id = excluded.user_id, user_name = excluded.user_name, is_admin = excluded.is_admin,
		device_id = excluded.device_id, client = excluded.client, device_name = excluded.device_name,
		version = excluded.version, ip = excluded.ip, server_id = excluded.server_id,
		web = excluded.web, source = excluded.source, sealed = excluded.sealed,
		attempts = excluded.attempts, created_at = excluded.created_at,
		expires_at = excluded.expires_at`

// PutChallenge inserts or replaces a challenge. A zero ExpiresAt is stored
// as 0, so such a challenge is expired from the start.
func (s *Store) PutChallenge(ctx context.Context, c store.Challenge) error {
	return s.write(ctx, "storing challenge", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putChallengeSQL, c.ID, c.UserID, c.UserName, c.IsAdmin, c.DeviceID,
			c.Client, c.DeviceName, c.Version, c.IP, c.ServerID, c.Web, c.Source, c.Sealed, c.Attempts,
			nanos(c.CreatedAt), nanos(c.ExpiresAt))
		return err
	})
}

const selectChallengeSQL = `SELECT ` + challengeColumns + ` FROM challenges WHERE id = $1`

// Challenge returns the challenge with id, or store.ErrNotFound.
func (s *Store) Challenge(ctx context.Context, id string) (store.Challenge, error) {
	c, err := scanChallenge(s.db.QueryRowContext(ctx, selectChallengeSQL, id))
	if err != nil {
		return store.Challenge{}, fmt.Errorf("looking up challenge: %w", notFound(err))
	}
	return c, nil
}

const addChallengeAttemptSQL = `UPDATE challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`

// AddChallengeAttempt counts a failed attempt and returns the new count, in
// one statement so concurrent attempts are all counted; store.ErrNotFound
// when the challenge is gone.
func (s *Store) AddChallengeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.write(ctx, "counting challenge attempt", func(tx *sql.Tx) error {
		return notFound(tx.QueryRowContext(ctx, addChallengeAttemptSQL, id).Scan(&n))
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

const takeChallengeSQL = `DELETE FROM challenges WHERE id = $1 RETURNING ` + challengeColumns

// TakeChallenge deletes and returns the challenge with id in one statement,
// or returns store.ErrNotFound when it is gone: of several requests taking
// one challenge at once, exactly one gets it, so a withheld token is
// released once. Expiry is the caller's to check.
func (s *Store) TakeChallenge(ctx context.Context, id string) (store.Challenge, error) {
	var c store.Challenge
	err := s.write(ctx, "taking challenge", func(tx *sql.Tx) error {
		var err error
		c, err = scanChallenge(tx.QueryRowContext(ctx, takeChallengeSQL, id))
		return notFound(err)
	})
	if err != nil {
		return store.Challenge{}, err
	}
	return c, nil
}

const selectUserChallengesSQL = `SELECT ` + challengeColumns + ` FROM challenges
	WHERE user_id = $1 ORDER BY created_at, id`

// UserChallenges lists userID's stored challenges, oldest first. Expired
// ones are included until they are deleted: compare ExpiresAt to decide.
func (s *Store) UserChallenges(ctx context.Context, userID string) ([]store.Challenge, error) {
	return queryAll(ctx, s.db, "listing challenges", scanChallenge, selectUserChallengesSQL, userID)
}

const selectExpiredChallengesSQL = `SELECT ` + challengeColumns + ` FROM challenges
	WHERE expires_at <= $1 ORDER BY expires_at, id`

// ExpiredChallenges lists the challenges with ExpiresAt <= now, in the
// order they expired.
func (s *Store) ExpiredChallenges(ctx context.Context, now time.Time) ([]store.Challenge, error) {
	return queryAll(ctx, s.db, "listing expired challenges", scanChallenge, selectExpiredChallengesSQL, nanos(now))
}

// scanChallenge reads one row selected with challengeColumns.
func scanChallenge(r scanner) (store.Challenge, error) {
	var c store.Challenge
	var created, expires sql.NullInt64
	err := r.Scan(&c.ID, &c.UserID, &c.UserName, &c.IsAdmin, &c.DeviceID, &c.Client, &c.DeviceName,
		&c.Version, &c.IP, &c.ServerID, &c.Web, &c.Source, &c.Sealed, &c.Attempts, &created, &expires)
	if err != nil {
		return store.Challenge{}, err
	}
	c.CreatedAt, c.ExpiresAt = fromNanos(created), fromNanos(expires)
	return c, nil
}
