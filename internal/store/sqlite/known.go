package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// The newest sign-in time wins: a success reported late (or by a slower
// replica) does not make the address look older than it is.
const rememberAddressSQL = `INSERT INTO known_addresses (user_folded, addr_key, last_at) VALUES ($1, $2, $3)
	ON CONFLICT (user_folded, addr_key) DO UPDATE SET last_at = excluded.last_at
	WHERE excluded.last_at > known_addresses.last_at`

// RememberAddress records a successful sign-in of userFolded from addrKey
// at `at` (now if zero), keeping the newest time.
func (s *Store) RememberAddress(ctx context.Context, userFolded, addrKey string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	return s.write(ctx, "remembering address", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, rememberAddressSQL, userFolded, addrKey, at.UnixNano())
		return err
	})
}

const (
	addressKnownSQL    = `SELECT EXISTS (SELECT 1 FROM known_addresses WHERE addr_key = $1 AND last_at > $2)`
	addressKnownForSQL = `SELECT EXISTS (SELECT 1 FROM known_addresses
	WHERE user_folded = $1 AND addr_key = $2 AND last_at > $3)`
)

// AddressKnown reports whether any user signed in from addrKey strictly
// after since.
func (s *Store) AddressKnown(ctx context.Context, addrKey string, since time.Time) (bool, error) {
	var known bool
	if err := s.db.QueryRowContext(ctx, addressKnownSQL, addrKey, nanos(since)).Scan(&known); err != nil {
		return false, fmt.Errorf("looking up known address: %w", err)
	}
	return known, nil
}

// AddressKnownFor reports whether userFolded signed in from addrKey
// strictly after since.
func (s *Store) AddressKnownFor(ctx context.Context, userFolded, addrKey string, since time.Time) (bool, error) {
	var known bool
	if err := s.db.QueryRowContext(ctx, addressKnownForSQL, userFolded, addrKey, nanos(since)).Scan(&known); err != nil {
		return false, fmt.Errorf("looking up known address of user: %w", err)
	}
	return known, nil
}

const selectKnownAddressesSQL = `SELECT user_folded, addr_key, last_at FROM known_addresses
	WHERE last_at > $1 ORDER BY user_folded, addr_key`

// KnownAddresses lists the addresses with a sign-in strictly after since,
// by user then address.
func (s *Store) KnownAddresses(ctx context.Context, since time.Time) ([]store.KnownAddress, error) {
	return queryAll(ctx, s.db, "listing known addresses", scanKnownAddress, selectKnownAddressesSQL, nanos(since))
}

const forgetAddressesSQL = `DELETE FROM known_addresses WHERE last_at <= $1`

// ForgetAddresses deletes the addresses last used at or before `before`
// and returns how many it deleted; a zero before deletes none.
func (s *Store) ForgetAddresses(ctx context.Context, before time.Time) (int, error) {
	return s.deleteCount(ctx, "forgetting addresses", forgetAddressesSQL, nanos(before))
}

// scanKnownAddress reads one row of selectKnownAddressesSQL.
func scanKnownAddress(r scanner) (store.KnownAddress, error) {
	var k store.KnownAddress
	var last sql.NullInt64
	if err := r.Scan(&k.UserFolded, &k.AddrKey, &last); err != nil {
		return store.KnownAddress{}, err
	}
	k.LastAt = fromNanos(last)
	return k, nil
}
