package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const banColumns = `prefix, reason, source, by_whom, level, created_at, expires_at, lifted_at`

// Replacing a ban replaces every field, lifted_at included: a prefix banned
// again after a lift is banned.
const putBanSQL = `INSERT INTO bans (` + banColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (prefix) DO UPDATE SET
		reason = excluded.reason, source = excluded.source, by_whom = excluded.by_whom,
		level = excluded.level, created_at = excluded.created_at,
		expires_at = excluded.expires_at, lifted_at = excluded.lifted_at`

// PutBan inserts or replaces the ban of b.Prefix and appends a
// store.ChangeBanAdded change in the same transaction, so no process can
// see the ban without the change that announces it. A zero CreatedAt is
// now; the change is dated CreatedAt.
func (s *Store) PutBan(ctx context.Context, b store.Ban) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	return s.write(ctx, "storing ban", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putBanSQL, b.Prefix, b.Reason, b.Source, b.By, b.Level,
			b.CreatedAt.UnixNano(), nullNanos(b.ExpiresAt), nullNanos(b.LiftedAt))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insertChangeSQL, store.ChangeBanAdded, b.Prefix, b.CreatedAt.UnixNano())
		return err
	})
}

const selectBanSQL = `SELECT ` + banColumns + ` FROM bans WHERE prefix = $1`

// Ban returns the stored ban of prefix, active or not, or store.ErrNotFound.
func (s *Store) Ban(ctx context.Context, prefix string) (store.Ban, error) {
	b, err := scanBan(s.db.QueryRowContext(ctx, selectBanSQL, prefix))
	if err != nil {
		return store.Ban{}, fmt.Errorf("looking up ban: %w", notFound(err))
	}
	return b, nil
}

// activeBanSQL is the condition of store.Ban.Active with now as $1.
const activeBanSQL = `lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`

const (
	selectAllBansSQL    = `SELECT ` + banColumns + ` FROM bans ORDER BY created_at DESC, prefix`
	selectActiveBansSQL = `SELECT ` + banColumns + ` FROM bans WHERE ` + activeBanSQL + `
	ORDER BY created_at DESC, prefix`
)

// Bans lists stored bans, newest first: those active at now (time.Now() if
// zero), or every one, expired and lifted included, when all is set.
func (s *Store) Bans(ctx context.Context, now time.Time, all bool) ([]store.Ban, error) {
	if all {
		return queryAll(ctx, s.db, "listing bans", scanBan, selectAllBansSQL)
	}
	if now.IsZero() {
		now = time.Now()
	}
	return queryAll(ctx, s.db, "listing bans", scanBan, selectActiveBansSQL, now.UnixNano())
}

// The ban must be active at the lift time ($2).
const liftBanSQL = `UPDATE bans SET lifted_at = $2 WHERE prefix = $1 AND lifted_at IS NULL
	AND (expires_at IS NULL OR expires_at > $2)`

// LiftBan marks the ban of prefix lifted at `at` (now if zero) and appends a
// store.ChangeBanLifted change in the same transaction. store.ErrNotFound
// when there is no ban of prefix active at `at`: none, expired or lifted
// already. Of several processes lifting one ban at once, one succeeds and
// one change is appended.
func (s *Store) LiftBan(ctx context.Context, prefix string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	return s.write(ctx, "lifting ban", func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, liftBanSQL, prefix, at.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertChangeSQL, store.ChangeBanLifted, prefix, at.UnixNano())
		return err
	})
}

// scanBan reads one row selected with banColumns.
func scanBan(r scanner) (store.Ban, error) {
	var b store.Ban
	var created, expires, lifted sql.NullInt64
	err := r.Scan(&b.Prefix, &b.Reason, &b.Source, &b.By, &b.Level, &created, &expires, &lifted)
	if err != nil {
		return store.Ban{}, err
	}
	b.CreatedAt, b.ExpiresAt, b.LiftedAt = fromNanos(created), fromNanos(expires), fromNanos(lifted)
	return b, nil
}

const (
	putUserNetworksSQL = `INSERT INTO user_networks (user_id, user_name, entries, updated_at)
	VALUES ($1, $2, $3, $4)
	ON CONFLICT (user_id) DO UPDATE SET
		user_name = excluded.user_name, entries = excluded.entries, updated_at = excluded.updated_at`
	deleteUserNetworksSQL = `DELETE FROM user_networks WHERE user_id = $1`
)

// PutUserNetworks replaces the networks userID may sign in from with
// entries, kept in order, and appends a store.ChangeUserNetworks change in
// the same transaction. No entries removes the restriction (and the row);
// the change is appended either way.
func (s *Store) PutUserNetworks(ctx context.Context, userID, userName string, entries []string) error {
	var encoded []byte
	if len(entries) > 0 {
		var err error
		if encoded, err = json.Marshal(entries); err != nil {
			return fmt.Errorf("storing user networks: %w", err)
		}
	}
	now := time.Now().UnixNano()
	return s.write(ctx, "storing user networks", func(tx *sql.Tx) error {
		var err error
		if encoded == nil {
			_, err = tx.ExecContext(ctx, deleteUserNetworksSQL, userID)
		} else {
			_, err = tx.ExecContext(ctx, putUserNetworksSQL, userID, userName, string(encoded), now)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insertChangeSQL, store.ChangeUserNetworks, userID, now)
		return err
	})
}

const selectUserNetworksSQL = `SELECT user_id, entries FROM user_networks`

// userNetworks is one row of selectUserNetworksSQL.
type userNetworks struct {
	userID  string
	entries []string
}

// UserNetworks returns every restricted user's networks by user id; users
// without a restriction are absent. The map is empty, not nil, when there
// are none.
func (s *Store) UserNetworks(ctx context.Context) (map[string][]string, error) {
	rows, err := queryAll(ctx, s.db, "listing user networks", scanUserNetworks, selectUserNetworksSQL)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(rows))
	for _, r := range rows {
		out[r.userID] = r.entries
	}
	return out, nil
}

// scanUserNetworks reads one row of selectUserNetworksSQL.
func scanUserNetworks(r scanner) (userNetworks, error) {
	var u userNetworks
	var encoded string
	if err := r.Scan(&u.userID, &encoded); err != nil {
		return userNetworks{}, err
	}
	if err := json.Unmarshal([]byte(encoded), &u.entries); err != nil {
		return userNetworks{}, fmt.Errorf("networks of user %s: %w", u.userID, err)
	}
	return u, nil
}
