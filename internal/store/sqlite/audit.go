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

// AppendAudit appends ev as the event after the current last one; see
// Audited.
func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent, chain store.ChainFunc) (store.AuditEvent, error) {
	out, err := s.audited(ctx, "appending audit event", []store.AuditEvent{ev}, chain, nil)
	if err != nil {
		return store.AuditEvent{}, err
	}
	return out[0], nil
}

// Audited runs change and appends events after it in one immediate
// transaction: the change is never stored without its events, nor the
// events without the change. Reading the last hash and inserting happen in
// that transaction too, so processes appending at once still form one
// unbroken chain. Each event's time is its Time (now if zero) truncated to
// microseconds in UTC, which every backend stores exactly.
func (s *Store) Audited(ctx context.Context, events []store.AuditEvent, chain store.ChainFunc, change func(store.Writer) error) ([]store.AuditEvent, error) {
	return s.audited(ctx, "storing an audited change", events, chain, change)
}

func (s *Store) audited(ctx context.Context, what string, events []store.AuditEvent, chain store.ChainFunc, change func(store.Writer) error) ([]store.AuditEvent, error) {
	if chain == nil && len(events) > 0 {
		return nil, fmt.Errorf("%s: no chain function", what)
	}
	now := time.Now()
	out := make([]store.AuditEvent, len(events))
	for i, ev := range events {
		if ev.Time.IsZero() {
			ev.Time = now
		}
		ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
		out[i] = ev
	}
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		if change != nil {
			if err := change(txWriter{&openTx{s: s, tx: tx}}); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, out, chain)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// appendAudit chains events (filling in Seq, PrevHash and Hash) after the
// last stored event and inserts them in tx.
func appendAudit(ctx context.Context, tx *sql.Tx, events []store.AuditEvent, chain store.ChainFunc) error {
	if len(events) == 0 {
		return nil
	}
	var last int64
	var prev []byte
	err := tx.QueryRowContext(ctx, selectLastAuditSQL).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading the last audit event: %w", err)
	}
	for i := range events {
		ev := &events[i]
		ev.Seq, ev.PrevHash = last+1, prev
		if ev.Hash = chain(prev, *ev); len(ev.Hash) == 0 {
			return fmt.Errorf("audit event %s: the chain function gave no hash", ev.Kind)
		}
		_, err = tx.ExecContext(ctx, insertAuditSQL, ev.Seq, ev.Time.UnixNano(), ev.Kind, ev.UserID,
			ev.UserName, ev.IP, ev.Detail, ev.PrevHash, ev.Hash)
		if err != nil {
			return fmt.Errorf("appending audit event %s: %w", ev.Kind, err)
		}
		last, prev = ev.Seq, ev.Hash
	}
	return nil
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
