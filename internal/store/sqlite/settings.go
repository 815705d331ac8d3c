package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const (
	selectSettingSQL = `SELECT value FROM settings WHERE key = $1`
	putSettingSQL    = `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
)

// Setting returns the stored value of key, or store.ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, selectSettingSQL, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("reading setting %q: %w", key, err)
	}
	return v, nil
}

// PutSetting stores value under key.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	return s.write(ctx, fmt.Sprintf("storing setting %q", key), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putSettingSQL, key, value, time.Now().UnixNano())
		return err
	})
}
