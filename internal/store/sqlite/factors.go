package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const accountColumns = `user_id, user_name, name_folded, is_admin, requirement, first_seen_at, updated_at`

// Updating an account keeps first_seen_at: the enrollment grace period runs
// from the first sign-in the gateway saw.
const putAccountSQL = `INSERT INTO accounts (` + accountColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (user_id) DO UPDATE SET
		user_name = excluded.user_name, name_folded = excluded.name_folded,
		is_admin = excluded.is_admin, requirement = excluded.requirement,
		updated_at = excluded.updated_at`

// PutAccount inserts or updates an account. A stored FirstSeenAt is kept;
// a new account without FirstSeenAt is first seen now, and a zero UpdatedAt
// is now.
func (s *Store) PutAccount(ctx context.Context, a store.Account) error {
	now := time.Now()
	if a.FirstSeenAt.IsZero() {
		a.FirstSeenAt = now
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = now
	}
	return s.write(ctx, "storing account", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putAccountSQL, a.UserID, a.UserName, a.NameFolded, a.IsAdmin,
			string(a.Requirement), a.FirstSeenAt.UnixNano(), a.UpdatedAt.UnixNano())
		return err
	})
}

const (
	selectAccountSQL = `SELECT ` + accountColumns + ` FROM accounts WHERE user_id = $1`
	// Jellyfin keeps names unique, but a rename can reach the gateway after
	// another user took the old name: the account updated last wins.
	selectAccountByNameSQL = `SELECT ` + accountColumns + ` FROM accounts WHERE name_folded = $1
	ORDER BY updated_at DESC, user_id LIMIT 1`
	selectAccountsSQL = `SELECT ` + accountColumns + ` FROM accounts ORDER BY name_folded, user_id`
)

// Account returns the account of userID, or store.ErrNotFound.
func (s *Store) Account(ctx context.Context, userID string) (store.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, selectAccountSQL, userID))
	if err != nil {
		return store.Account{}, fmt.Errorf("looking up account: %w", notFound(err))
	}
	return a, nil
}

// AccountByName returns the account whose lower-cased name is folded (the
// most recently updated one if two share it), or store.ErrNotFound.
func (s *Store) AccountByName(ctx context.Context, folded string) (store.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, selectAccountByNameSQL, folded))
	if err != nil {
		return store.Account{}, fmt.Errorf("looking up account by name: %w", notFound(err))
	}
	return a, nil
}

// Accounts lists all accounts by lower-cased name.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	return queryAll(ctx, s.db, "listing accounts", scanAccount, selectAccountsSQL)
}

// scanAccount reads one row selected with accountColumns.
func scanAccount(r scanner) (store.Account, error) {
	var a store.Account
	var req string
	var first, updated sql.NullInt64
	if err := r.Scan(&a.UserID, &a.UserName, &a.NameFolded, &a.IsAdmin, &req, &first, &updated); err != nil {
		return store.Account{}, err
	}
	a.Requirement = store.Requirement(req)
	a.FirstSeenAt, a.UpdatedAt = fromNanos(first), fromNanos(updated)
	return a, nil
}

const totpColumns = `user_id, user_name, sealed, confirmed, created_at, confirmed_at`

// Replacing an enrollment keeps last_step: time steps only move forward, and
// storing the confirmed enrollment must not make the code that confirmed it
// usable again.
const putTOTPSQL = `INSERT INTO totp (` + totpColumns + `) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (user_id) DO UPDATE SET
		user_name = excluded.user_name, sealed = excluded.sealed, confirmed = excluded.confirmed,
		created_at = excluded.created_at, confirmed_at = excluded.confirmed_at`

// PutTOTP inserts or replaces a user's TOTP enrollment. The last time step
// used survives a replacement.
func (s *Store) PutTOTP(ctx context.Context, t store.TOTP) error {
	return s.write(ctx, "storing TOTP enrollment", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putTOTPSQL, t.UserID, t.UserName, t.Sealed, t.Confirmed,
			nanos(t.CreatedAt), nullNanos(t.ConfirmedAt))
		return err
	})
}

const selectTOTPSQL = `SELECT ` + totpColumns + ` FROM totp WHERE user_id = $1`

// TOTP returns a user's enrollment, or store.ErrNotFound.
func (s *Store) TOTP(ctx context.Context, userID string) (store.TOTP, error) {
	var t store.TOTP
	var created, confirmed sql.NullInt64
	err := s.db.QueryRowContext(ctx, selectTOTPSQL, userID).Scan(&t.UserID, &t.UserName, &t.Sealed,
		&t.Confirmed, &created, &confirmed)
	if err != nil {
		return store.TOTP{}, fmt.Errorf("looking up TOTP enrollment: %w", notFound(err))
	}
	t.CreatedAt, t.ConfirmedAt = fromNanos(created), fromNanos(confirmed)
	return t, nil
}

const deleteTOTPSQL = `DELETE FROM totp WHERE user_id = $1`

// DeleteTOTP removes a user's enrollment; an absent one is not an error.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.write(ctx, "deleting TOTP enrollment", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, deleteTOTPSQL, userID)
		return err
	})
}

const (
	useTOTPStepSQL = `UPDATE totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2`
	totpExistsSQL  = `SELECT 1 FROM totp WHERE user_id = $1`
)

// UseTOTPStep records that userID used the TOTP time step. It reports false
// when that step or a later one was used already, so no code is accepted
// twice even by two processes at once; store.ErrNotFound when the user has
// no enrollment.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return s.updateIf(ctx, "using TOTP step", useTOTPStepSQL, []any{userID, step}, totpExistsSQL, userID)
}

const (
	deleteRecoveryCodesSQL = `DELETE FROM recovery_codes WHERE user_id = $1`
	insertRecoveryCodeSQL  = `INSERT INTO recovery_codes (user_id, hint, hash, used_at) VALUES ($1, $2, $3, $4)`
)

// ReplaceRecoveryCodes deletes userID's codes and stores codes in their
// place, in one transaction. The codes get new IDs; their ID and UserID
// fields are ignored.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []store.RecoveryCode) error {
	return s.write(ctx, "replacing recovery codes", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteRecoveryCodesSQL, userID); err != nil {
			return err
		}
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, insertRecoveryCodeSQL, userID, c.Hint, c.Hash, nullNanos(c.UsedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

const selectRecoveryCodesSQL = `SELECT id, user_id, hint, hash, used_at FROM recovery_codes
	WHERE user_id = $1 ORDER BY id`

// RecoveryCodes lists userID's codes, used ones included, in the order they
// were stored.
func (s *Store) RecoveryCodes(ctx context.Context, userID string) ([]store.RecoveryCode, error) {
	return queryAll(ctx, s.db, "listing recovery codes", scanRecoveryCode, selectRecoveryCodesSQL, userID)
}

// scanRecoveryCode reads one row of selectRecoveryCodesSQL.
func scanRecoveryCode(r scanner) (store.RecoveryCode, error) {
	var c store.RecoveryCode
	var used sql.NullInt64
	if err := r.Scan(&c.ID, &c.UserID, &c.Hint, &c.Hash, &used); err != nil {
		return store.RecoveryCode{}, err
	}
	c.UsedAt = fromNanos(used)
	return c, nil
}

const useRecoveryCodeSQL = `UPDATE recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL`

// UseRecoveryCode marks the code used at `at` (now if zero). It reports
// false when the code was used already, so a code works once even for two
// requests at once, and also when there is no such code any more (the codes
// were replaced meanwhile): either way the code does not count.
func (s *Store) UseRecoveryCode(ctx context.Context, id int64, at time.Time) (bool, error) {
	if at.IsZero() {
		at = time.Now()
	}
	return s.updateIf(ctx, "using recovery code", useRecoveryCodeSQL, []any{id, at.UnixNano()}, "", nil)
}

// The tables ResetUser empties for one user ($1); the account itself stays,
// with the administrator's requirement.
var resetUserSQL = []string{
	`DELETE FROM totp WHERE user_id = $1`,
	`DELETE FROM pending_enrollments WHERE user_id = $1`,
	`DELETE FROM recovery_codes WHERE user_id = $1`,
	`DELETE FROM challenges WHERE user_id = $1`,
	`DELETE FROM trusted_browsers WHERE user_id = $1`,
	`DELETE FROM devices WHERE user_id = $1`,
}

// ResetUser deletes everything second-factor of userID in one transaction:
// TOTP enrollment, a pending enrollment, recovery codes, challenges, trusted
// browsers and devices. The account and its requirement stay.
func (s *Store) ResetUser(ctx context.Context, userID string) error {
	return s.write(ctx, "resetting second factor", func(tx *sql.Tx) error {
		for _, q := range resetUserSQL {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
}

// updateIf runs a conditional one-row UPDATE and reports whether it changed
// the row. When it did not, exists (selecting the row by key) tells a
// condition that no longer holds (false) from a missing row
// (store.ErrNotFound); with no exists query a missing row is false too. Both
// run in one immediate transaction, so another writer cannot slip in
// between.
func (s *Store) updateIf(ctx context.Context, what, update string, args []any, exists string, key any) (bool, error) {
	var changed bool
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, update, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 || exists == "" {
			changed = n > 0
			return nil
		}
		var one int
		return notFound(tx.QueryRowContext(ctx, exists, key).Scan(&one))
	})
	if err != nil {
		return false, err
	}
	return changed, nil
}

// queryAll runs a listing query and reads every row with scan; what
// describes the listing for error messages.
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
