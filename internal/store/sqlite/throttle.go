package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

const (
	// Adding an event first forgets the key's events whose keep has ended,
	// so a key nobody sweeps still holds no more than one window of them.
	pruneEventsSQL = `DELETE FROM throttle_events WHERE key = $1 AND keep_until <= $2`
	insertEventSQL = `INSERT INTO throttle_events (key, at, keep_until) VALUES ($1, $2, $3)`
	countEventsSQL = `SELECT COUNT(*) FROM throttle_events WHERE key = $1 AND at > $2`
	resetEventsSQL = `DELETE FROM throttle_events WHERE key = $1`
	sweepEventsSQL = `DELETE FROM throttle_events WHERE keep_until <= $1`
)

// lastNanos is the latest time a time column can hold.
var lastNanos = time.Unix(0, math.MaxInt64)

// AddEvent records one event of key at `at` (now if zero), kept for keep,
// and forgets the key's events whose keep ended by `at`, in one
// transaction. A keep reaching past what the column holds keeps the event
// until it is reset.
func (s *Store) AddEvent(ctx context.Context, key string, at time.Time, keep time.Duration) error {
	if keep <= 0 {
		return fmt.Errorf("recording throttle event: keep %s is not positive", keep)
	}
	if at.IsZero() {
		at = time.Now()
	}
	until := int64(math.MaxInt64)
	if end := at.Add(keep); end.Before(lastNanos) {
		until = end.UnixNano()
	}
	return s.write(ctx, "recording throttle event", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, pruneEventsSQL, key, at.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertEventSQL, key, at.UnixNano(), until)
		return err
	})
}

// CountEvents counts the stored events of key strictly after since (all of
// them if since is zero).
func (s *Store) CountEvents(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, countEventsSQL, key, nanos(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting throttle events: %w", err)
	}
	return n, nil
}

// ResetEvents forgets every event of key.
func (s *Store) ResetEvents(ctx context.Context, key string) error {
	return s.write(ctx, "resetting throttle events", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, resetEventsSQL, key)
		return err
	})
}

// SweepEvents deletes the events whose keep ended at or before `before`
// and returns how many it deleted; a zero before deletes none.
func (s *Store) SweepEvents(ctx context.Context, before time.Time) (int, error) {
	return s.deleteCount(ctx, "sweeping throttle events", sweepEventsSQL, nanos(before))
}
