package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

const auditColumns = `seq, time, kind, user_id, user_name, ip, detail, prev_hash, hash`

const (
	selectLastAuditSQL = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`
	insertAuditSQL     = `INSERT INTO audit (` + auditColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	selectAuditSQL     = `SELECT ` + auditColumns + ` FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`
	selectNewestSQL    = `SELECT ` + auditColumns + ` FROM audit WHERE seq > $1 ORDER BY seq DESC LIMIT $2`
)

// AppendAudit appends ev as the event after the current last one. Reading
// the last hash and inserting happen in one immediate transaction, so
// processes appending at once still form one unbroken chain. The time is
// ev.Time (now if zero) truncated to microseconds in UTC, which every
// backend stores exactly.
func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent, chain store.ChainFunc) (store.AuditEvent, error) {
	if chain == nil {
		return store.AuditEvent{}, errors.New("appending audit event: no chain function")
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, "appending audit event", func(tx *sql.Tx) error {
		var last int64
		var prev []byte
		err := tx.QueryRowContext(ctx, selectLastAuditSQL).Scan(&last, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading the last event: %w", err)
		}
		ev.Seq, ev.PrevHash = last+1, prev
		ev.Hash = chain(prev, ev)
		_, err = tx.ExecContext(ctx, insertAuditSQL, ev.Seq, ev.Time.UnixNano(), ev.Kind, ev.UserID,
			ev.UserName, ev.IP, ev.Detail, ev.PrevHash, ev.Hash)
		return err
	})
	if err != nil {
		return store.AuditEvent{}, err
	}
	return ev, nil
}

// Audit returns events, oldest first.
func (s *Store) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	query := selectAuditSQL
	if q.Newest {
		query = selectNewestSQL
	}
	rows, err := s.db.QueryContext(ctx, query, q.AfterSeq, noLimit(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		ev, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("reading audit log: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	if q.Newest {
		slices.Reverse(out)
	}
	return out, nil
}

// scanAudit reads one row selected with auditColumns.
func scanAudit(r scanner) (store.AuditEvent, error) {
	var ev store.AuditEvent
	var at sql.NullInt64
	err := r.Scan(&ev.Seq, &at, &ev.Kind, &ev.UserID, &ev.UserName, &ev.IP, &ev.Detail, &ev.PrevHash, &ev.Hash)
	ev.Time = fromNanos(at)
	return ev, err
}
