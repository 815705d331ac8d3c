package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jellyguard/jellyguard/internal/store"
)

const (
	selectChangesSQL    = `SELECT seq, kind, key, at FROM changes WHERE seq > $1 ORDER BY seq`
	selectLastChangeSQL = `SELECT COALESCE(MAX(seq), 0) FROM changes`
)

// Changes returns changes with Seq > after, oldest first.
func (s *Store) Changes(ctx context.Context, after int64) ([]store.Change, error) {
	rows, err := s.db.QueryContext(ctx, selectChangesSQL, after)
	if err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		var at sql.NullInt64
		if err := rows.Scan(&c.Seq, &c.Kind, &c.Key, &at); err != nil {
			return nil, fmt.Errorf("reading changes: %w", err)
		}
		c.At = fromNanos(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	return out, nil
}

// LastChange returns the highest change Seq (0 if none), where a process
// starts following the feed after loading its caches.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, selectLastChangeSQL).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading last change: %w", err)
	}
	return seq, nil
}
